"""Ask the real LLaMA-Factory 0.9.5 whether it accepts every sample written from alpaca-style, preference
and KTO data, in both LF layouts (stage ``sft``, ``rm`` for preference data, ``kto`` for KTO data).

Skipped without the oracle venv (see ../shared/lf-oracle).  Each test is one oracle run (about a minute).
The real demo files that may not be bundled are read from ../shared/data (``shared_data`` tests).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from mmconvert.cli import cli

from .conftest import THIRDPARTY, run_oracle

pytestmark = [pytest.mark.lf_oracle, pytest.mark.slow]
GOLDEN = Path(__file__).parent / "golden" / "alpaca"
LAYOUTS = (("sg", "llamafactory"), ("al", "llamafactory-alpaca"))


def _convert(out: Path, source: Path, name: str, *extra: str) -> int:
    """Convert into ``out`` in both layouts (``NAME_sg``, ``NAME_al``); the number of samples written."""
    written = 0
    for suffix, target in LAYOUTS:
        args = ["convert", str(source), "-o", str(out), "--name", f"{name}_{suffix}", "--to", target, "-q"]
        result = CliRunner().invoke(cli, [*args, *extra])
        assert result.exit_code == 0, result.stderr
        written += int(result.stdout.split()[1])
    return written


def _names(*names: str) -> str:
    return ",".join(f"{n}_{s}" for n in names for s, _ in LAYOUTS)


def _golden(tmp_path: Path, case: str) -> Path:
    target = tmp_path / case
    shutil.copytree(GOLDEN / case / "input", target)
    return target


def _assert_all_accepted(out: Path, names: str, stage: str, written: int) -> None:
    report = run_oracle(out, names, stage=stage)
    assert report["load_errors"] == []
    assert report["rejected"] == []
    assert report["total"] == report["accepted"] == written


@pytest.mark.shared_data
def test_lf_accepts_every_alpaca_sft_sample(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "out"
    lf = THIRDPARTY / "llamafactory" / "data"
    written = _convert(out, lf / "identity.json", "identity", "--from", "alpaca")
    alpaca_en_demo = shared_data / "llamafactory" / "data" / "alpaca_en_demo.json"
    written += _convert(out, alpaca_en_demo, "alpaca_demo", "--from", "alpaca")
    written += _convert(
        out, THIRDPARTY / "ms_swift" / "tests" / "llm" / "data" / "alpaca.jsonl", "swift", "--from", "alpaca"
    )
    written += _convert(out, _golden(tmp_path, "vision") / "vision.json", "vision")
    written += _convert(out, _golden(tmp_path, "broken") / "broken.json", "broken", "--on-error", "skip")
    # LLaVA's GPT-4 QA file (`image` strings, no tag), with small generated stand-ins for its COCO images.
    qa = shared_data / "llava" / "playground" / "data" / "coco2014_val_gpt4_qa_30x3.jsonl"
    images = tmp_path / "coco"
    images.mkdir()
    for line in qa.read_text(encoding="utf-8").splitlines():
        name = json.loads(line)["image"]
        if not (images / name).exists():
            Image.new("RGB", (64, 48), (90, 120, 150)).save(images / name, format="JPEG")
    written += _convert(out, qa, "llava_qa", "--from", "alpaca", "--media-dir", str(images))
    assert written == 2 * (91 + 999 + 3 + 6 + 2 + 90)
    names = _names("identity", "alpaca_demo", "swift", "vision", "broken", "llava_qa")
    _assert_all_accepted(out, names, "sft", written)


@pytest.mark.shared_data
def test_lf_accepts_every_preference_sample(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "out"
    written = _convert(
        out, shared_data / "llamafactory" / "data" / "dpo_en_demo.json", "dpo", "--from", "sharegpt"
    )
    written += _convert(out, _golden(tmp_path, "preference") / "pref.json", "pref", "--from", "alpaca")
    assert written == 2 * (300 + 4)
    _assert_all_accepted(out, _names("dpo", "pref"), "rm", written)


@pytest.mark.shared_data
def test_lf_accepts_every_kto_sample(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "out"
    written = _convert(
        out, shared_data / "llamafactory" / "data" / "kto_en_demo.json", "kto_demo", "--from", "sharegpt"
    )
    written += _convert(out, _golden(tmp_path, "kto") / "kto.jsonl", "kto", "--from", "alpaca")
    written += _convert(
        out,
        _golden(tmp_path, "kto_broken") / "kto.json",
        "kto_broken",
        "--from",
        "alpaca",
        "--on-error",
        "skip",
    )
    assert written == 2 * (300 + 3 + 2)
    _assert_all_accepted(out, _names("kto_demo", "kto", "kto_broken"), "kto", written)


#: Raw alpaca rows (each registered on its own, as LF would read the source file) by stage: mmconvert
#: refuses the first ones with a finding and writes the ``good`` ones.
RAW_ROWS: dict[str, dict[str, dict[str, object]]] = {
    "sft": {
        "history3": {"instruction": "q", "input": "", "output": "a", "history": [["x", "y", "z"]]},
        "history_str": {"instruction": "q", "input": "", "output": "a", "history": "x"},
        "output_float": {"instruction": "q", "input": "", "output": 3.3},
        "output_null": {"instruction": "q", "input": "", "output": None},
        "output_list": {"instruction": "q", "input": "", "output": ["a", "b"]},
        "instruction_int": {"instruction": 42, "input": "", "output": "a"},
        "good": {"instruction": "q", "input": "ctx", "output": "a", "history": [["x", "y"]]},
    },
    "rm": {
        "chosen_obj": {
            "instruction": "q",
            "input": "",
            "chosen": {"from": "gpt", "value": "a"},
            "rejected": {"from": "gpt", "value": "b"},
        },
        "rejected_null": {"instruction": "q", "input": "", "chosen": "a", "rejected": None},
        "good": {"instruction": "q", "input": "", "chosen": "a", "rejected": "b"},
    },
    "kto": {
        "kto_str": {"instruction": "q", "input": "", "output": "a", "kto_tag": "true"},
        "kto_int": {"instruction": "q", "input": "", "output": "a", "kto_tag": 1},
        "kto_null": {"instruction": "q", "input": "", "output": "a", "kto_tag": None},
        "good": {"instruction": "q", "input": "", "output": "a", "kto_tag": True},
    },
}
#: LF accepts this row but trains it without its history: mmconvert's finding is about silent loss.
SILENTLY_WRONG = {"history_str"}


@pytest.mark.parametrize("stage", sorted(RAW_ROWS))
def test_lf_agrees_with_the_alpaca_findings(tmp_path: Path, stage: str) -> None:
    """Every row mmconvert refuses is one LF crashes on or drops (or mangles silently); the rest pass."""
    from mmconvert.converters import alpaca
    from mmconvert.findings import Findings
    from mmconvert.options import ChatOptions

    info: dict[str, object] = {}
    refused: set[str] = set()
    for name, row in RAW_ROWS[stage].items():
        (tmp_path / f"{name}.json").write_text(json.dumps([row]), encoding="utf-8")
        findings = Findings()
        written = list(alpaca.read([str(tmp_path / f"{name}.json")], ChatOptions(), findings, name).samples)
        if not written:
            assert findings.errors == 1, name
            refused.add(name)
        columns = {"prompt": "instruction", "query": "input"}
        columns.update({"response": "output"} if "output" in row else {})
        columns.update({k: k for k in ("history", "chosen", "rejected", "kto_tag") if k in row})
        entry = {"file_name": f"{name}.json", "formatting": "alpaca", "columns": columns}
        info[name] = {**entry, "ranking": True} if stage == "rm" else entry
    (tmp_path / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    assert refused == set(RAW_ROWS[stage]) - {"good"}
    report = run_oracle(tmp_path, ",".join(RAW_ROWS[stage]), stage=stage)
    failed = {e["dataset"] for e in report["load_errors"]} | {r["dataset"] for r in report["rejected"]}
    assert failed == refused - SILENTLY_WRONG
