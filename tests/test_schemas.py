"""The shipped JSON Schemas accept real files (fixtures/thirdparty) and mmconvert's own output, and
reject broken ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.schemas import load_schema, validator

from .conftest import FIXTURES, THIRDPARTY


def _errors(name: str, instance: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(instance)]


@pytest.mark.parametrize("name", ["coco_captions", "lf_sharegpt", "dataset_info_entry"])
def test_schemas_are_valid_2020_12(name: str) -> None:
    import jsonschema

    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "rel",
    [
        "coco_mini_val2017/annotations/captions_val2017.json",
        "datumaro_coco/coco_dataset/coco_captions/annotations/captions_train.json",
    ],
)
def test_coco_captions_schema_accepts_real_files(rel: str) -> None:
    assert _errors("coco_captions", json.loads((THIRDPARTY / rel).read_text(encoding="utf-8"))) == []


def test_coco_captions_schema_rejects_broken() -> None:
    good = json.loads((FIXTURES / "coco_captions/annotations/captions_val2017.json").read_text("utf-8"))
    assert _errors("coco_captions", good) == []
    no_caption = copy.deepcopy(good)
    del no_caption["annotations"][0]["caption"]
    assert _errors("coco_captions", no_caption) == ["'caption' is a required property"]
    bad_id = copy.deepcopy(good)
    bad_id["images"][0]["id"] = 1.5
    assert _errors("coco_captions", bad_id) == ["1.5 is not of type 'integer', 'string'"]
    (top_level,) = _errors("coco_captions", [good])
    assert top_level.endswith("is not of type 'object'")


def test_lf_sharegpt_schema_accepts_lf_demo_and_our_output(tmp_path: Path) -> None:
    demo = json.loads((THIRDPARTY / "llamafactory/data/mllm_demo.json").read_text(encoding="utf-8"))
    assert _errors("lf_sharegpt", demo) == []
    result = CliRunner().invoke(
        cli,
        ["coco2lf", str(FIXTURES / "coco_captions/annotations/captions_val2017.json"), "-o", str(tmp_path)],
    )
    assert result.exit_code == 0, result.stderr
    assert _errors("lf_sharegpt", json.loads((tmp_path / "coco_captions.json").read_text("utf-8"))) == []
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert _errors("dataset_info_entry", info["coco_captions"]) == []


def test_lf_sharegpt_schema_rejects_broken() -> None:
    row = {"messages": [{"role": "user", "content": "<image>hi"}], "images": ["a.jpg"]}
    assert _errors("lf_sharegpt", [row]) == []
    assert _errors("lf_sharegpt", [{**row, "images": "a.jpg"}]) == ["'a.jpg' is not of type 'array'"]
    null_content = {"messages": [{"role": "user", "content": None}]}
    assert _errors("lf_sharegpt", [null_content]) == ["None is not of type 'string'"]
    assert _errors("lf_sharegpt", [{"messages": [{"role": "human", "content": "x"}]}]) == [
        "'human' is not one of ['user', 'assistant', 'system', 'function_call', 'observation']"
    ]


def test_dataset_info_entry_schema_on_lf_registry() -> None:
    registry = json.loads((THIRDPARTY / "llamafactory/data/dataset_info.json").read_text("utf-8"))
    bad = {name: _errors("dataset_info_entry", entry) for name, entry in registry.items()}
    assert {name: errs for name, errs in bad.items() if errs} == {}
    assert _errors("dataset_info_entry", {"file_name": "a.json", "colums": {}}) == [
        "Additional properties are not allowed ('colums' was unexpected)"
    ]
    assert _errors("dataset_info_entry", {"file_name": "a.json", "ranking": "true"}) == [
        "'true' is not of type 'boolean'"
    ]
    assert _errors("dataset_info_entry", {"formatting": "sharegpt"}) != []


def test_report_is_checked_against_its_schema_before_it_is_written(tmp_path: Path) -> None:
    from mmconvert.findings import Findings
    from mmconvert.report import ReportShapeError, build_report, write_report

    report = build_report("convert", Findings(), ok=True)
    write_report(tmp_path / "r.json", report)
    broken = {**report, "ok": "yes"}
    with pytest.raises(ReportShapeError, match=r"^the report does not match report.schema.json at \$\.ok: "):
        write_report(tmp_path / "bad.json", broken)
    assert not (tmp_path / "bad.json").exists()


def test_registry_lint_comes_from_the_entry_schema() -> None:
    """Unknown attributes, columns and tags, and a non-boolean ranking, are found by jsonschema with the
    shipped schema; adding a name to the schema is enough for the lint to accept it."""
    from mmconvert.dataset_info import ENTRY_COLUMN_KEYS, ENTRY_KEYS, ENTRY_TAG_KEYS, lint_entry

    schema = load_schema("dataset_info_entry")
    assert tuple(schema["properties"]) == ENTRY_KEYS
    assert tuple(schema["properties"]["columns"]["propertyNames"]["enum"]) == ENTRY_COLUMN_KEYS
    assert tuple(schema["properties"]["tags"]["propertyNames"]["enum"]) == ENTRY_TAG_KEYS
    entry = {
        "file_name": "a.json",
        "formatting": "sharegpt",
        "colums": {},
        "ranking": "true",
        "columns": {"messages": "m", "imgs": "i"},
        "tags": {**{k: k for k in ENTRY_TAG_KEYS}, "role_tg": "r"},
    }
    found = [(f.code, f.path, f.message) for f in lint_entry("x", entry, "r.json")]
    assert found == [
        (
            "entry-unknown-key",
            "$.x.colums",
            "unknown attribute 'colums': LF ignores it silently; did you mean 'columns'?",
        ),
        (
            "entry-unknown-column",
            "$.x.columns.imgs",
            "unknown column attribute 'imgs': LF ignores it; did you mean 'images'?",
        ),
        (
            "entry-ranking-type",
            "$.x.ranking",
            'ranking is "true", not a JSON boolean: LF compares it with `is True`/`is False`',
        ),
        (
            "entry-unknown-tag",
            "$.x.tags.role_tg",
            "unknown tag attribute 'role_tg': LF ignores it; did you mean 'role_tag'?",
        ),
    ]
