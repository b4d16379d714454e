"""Hostile dataset folders for ``mmconvert validate``: each case asserts the exit code and one exact
line of the message; validate never writes, so the folder must be unchanged after every run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .harness import image_bytes, run_cli, snapshot

TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
ENTRY = {
    "file_name": "d.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images"},
    "tags": TAGS,
}
ROW = {
    "messages": [{"role": "user", "content": "<image>What is it?"}, {"role": "assistant", "content": "A."}],
    "images": ["a.png"],
}
DEEP = b"[" * 5000 + b"]" * 5000


def _info(**entry: Any) -> bytes:
    return json.dumps({"d": {**ENTRY, **entry}}).encode()


def _rows(*rows: Any) -> bytes:
    return json.dumps(list(rows)).encode()


INFO = _info()
DATA = _rows(ROW)


@dataclass(frozen=True)
class Case:
    id: str
    info: bytes | None  # ds/dataset_info.json
    data: bytes | None  # ds/d.json (or the entry's file_name)
    code: int
    line: str
    data_name: str = "d.json"
    args: tuple[str, ...] = ()


def make_tree(root: Path, case: Case) -> None:
    ds = root / "ds"
    (ds / "sub").mkdir(parents=True)
    (ds / "a.png").write_bytes(image_bytes())
    (root / "outside.png").write_bytes(image_bytes())
    if case.info is not None:
        (ds / "dataset_info.json").write_bytes(case.info)
    if case.data is not None:
        (ds / case.data_name).write_bytes(case.data)


CASES: list[Case] = [
    # --- the folder or its dataset_info.json cannot be used (exit 2, or registry findings: exit 1)
    Case("no-dataset-info", None, DATA, 2, "Error: ds/dataset_info.json: not found"),
    Case("folder-missing", None, None, 2, "Error: nowhere: no such folder", args=("nowhere",)),
    Case(
        "unknown-dataset-name",
        INFO,
        DATA,
        2,
        "Error: Undefined dataset nope in dataset_info.json.",
        args=("--dataset", "nope"),
    ),
    Case(
        "registry-corrupt",
        b'{"d": ',
        DATA,
        1,
        "  ds/dataset_info.json: Cannot open ds/dataset_info.json due to Expecting value: line 1 "
        "column 7 (char 6).",
    ),
    Case(
        "registry-list",
        b"[1]",
        DATA,
        1,
        "  ds/dataset_info.json: the top level of ds/dataset_info.json is a list, LLaMA-Factory "
        "expects an object of entries",
    ),
    Case(
        "registry-null",
        b"null",
        DATA,
        1,
        "  ds/dataset_info.json: the top level of ds/dataset_info.json is a NoneType, "
        "LLaMA-Factory expects an object of entries",
    ),
    Case(
        "registry-invalid-utf8",
        b'{"d\xff": {}}',
        DATA,
        1,
        "  ds/dataset_info.json: Cannot open ds/dataset_info.json due to 'utf-8' codec can't "
        "decode byte 0xff in position 3: invalid start byte.",
    ),
    Case(
        "registry-deep-nesting",
        b'{"d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        DATA,
        1,
        "  ds/dataset_info.json: Cannot open ds/dataset_info.json due to maximum recursion depth "
        "exceeded while decoding a JSON array from a unicode string.",
    ),
    Case(
        "registry-bom",
        b"\xef\xbb\xbf" + INFO,
        DATA,
        1,
        "  ds/dataset_info.json: Cannot open ds/dataset_info.json due to Unexpected UTF-8 BOM "
        "(decode using utf-8-sig): line 1 column 1 (char 0).",
    ),
    Case(
        "entry-not-object",
        b'{"d": 5}',
        DATA,
        1,
        "  ds/dataset_info.json:$.d: the entry 'd' is a int, not an object (LF: TypeError while reading it)",
    ),
    Case(
        "entry-file-name-number",
        _info(file_name=5),
        DATA,
        1,
        "  ds/dataset_info.json: file_name is 5, not a string (LF: TypeError)",
    ),
    Case(
        "entry-file-name-dotdot",
        _info(file_name="../d.json"),
        DATA,
        1,
        "  ds/../d.json: File ds/../d.json not found.",
    ),
    Case(
        "entry-file-name-absolute",
        _info(file_name="/etc/hostname"),
        DATA,
        1,
        "  /etc/hostname: Allowed file types: arrow,csv,json,jsonl,parquet,txt. (got hostname)",
    ),
    Case(
        "entry-columns-list",
        _info(columns=[1]),
        DATA,
        1,
        "  ds/dataset_info.json:$.d.columns: columns of 'd' is [1], not an object (LF: "
        "AttributeError: 'list' object has no attribute 'get')",
    ),
    # --- the data file (exit 1)
    Case("data-missing", INFO, None, 1, "  ds/d.json: File ds/d.json not found."),
    Case(
        "data-not-json",
        INFO,
        b"hello",
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: unexpected 'h': expected a value at line 1, "
        "column 1 (byte offset 0) (datasets: JSON parse error)",
    ),
    Case(
        "data-truncated",
        INFO,
        DATA[:30],
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: the JSON ends early (truncated file?) "
        "at line 1, column 31 (byte offset 30) (datasets: JSON parse error)",
    ),
    Case(
        "data-empty",
        INFO,
        b"",
        1,
        "  ds/d.json: the file is empty (datasets: no examples; LF cannot load it)",
    ),
    Case(
        "data-null",
        INFO,
        b"null",
        1,
        "  ds/d.json: the file holds a JSON NoneType, not an array of objects or JSON Lines",
    ),
    Case(
        "data-invalid-utf8",
        INFO,
        DATA.replace(b"What", b"Wh\xe9t"),
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: not valid UTF-8: byte 0xe9 at line 1, "
        "column 54 (byte offset 53) (datasets: JSON parse error)",
    ),
    Case(
        "data-deep-nesting",
        INFO,
        b"[" * 100_000 + b"]" * 100_000,
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: the JSON is nested too deeply to read "
        "(arrays/objects inside each other hundreds of levels deep) at line 1 (datasets: JSON parse error)",
    ),
    Case(
        "data-deep-record",
        INFO,
        b'[{"messages": ' + DEEP + b"}]",
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: the JSON is nested too deeply to read "
        "(arrays/objects inside each other hundreds of levels deep) at line 1 (datasets: JSON parse error)",
    ),
    Case(
        "data-utf16",
        INFO,
        DATA.decode().encode("utf-16"),
        1,
        "  ds/d.json: ds/d.json: looks like UTF-16, mmconvert reads UTF-8 JSON",
    ),
    Case(
        "data-nan",
        INFO,
        DATA.replace(b'"A."', b"NaN"),
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: `NaN` is not JSON (write null or a string) "
        "at line 1, column 100 (byte offset 99) (datasets: JSON parse error)",
    ),
    Case(
        "data-1e400",
        INFO,
        DATA.replace(b'"A."', b"1e400"),
        1,
        "  ds/d.json:line 1: not valid JSON or JSON Lines: the number `1e400` is out of range "
        "(beyond a 64-bit float) at line 1, column 100 (byte offset 99) (datasets: JSON parse error)",
    ),
    Case(
        "data-jsonl-bad-line",
        _info(file_name="d.jsonl"),
        json.dumps(ROW).encode() + b"\n{oops\n",
        1,
        "  ds/d.jsonl:line 2: not valid JSON or JSON Lines: unexpected 'o': expected a key in double "
        "quotes at line 2, column 2 (byte offset 128) (datasets: JSON parse error)",
        data_name="d.jsonl",
    ),
    Case("data-is-folder", INFO, None, 1, "  ds/d.json: File ds/d.json not found.", data_name="d.json/x"),
    Case(
        "mixed-string-list-media",
        INFO,
        _rows(ROW, {**ROW, "images": "a.png"}),
        1,
        "  ds/d.json:$[1].images: Column(/images) changed from array to string in row 1: "
        "datasets cannot load the file (ArrowInvalid / ArrowTypeError, DatasetGenerationError)",
    ),
    # --- samples (exit 1)
    Case(
        "unknown-role",
        INFO,
        _rows(
            {
                **ROW,
                "messages": [
                    {"role": "wizard", "content": "<image>q"},
                    {"role": "assistant", "content": "a"},
                ],
            }
        ),
        1,
        "  ds/d.json: Cannot find valid samples, check `data/README.md` for the data format. (no "
        "sample of 'd' survives)",
    ),
    Case(
        "tag-count",
        INFO,
        _rows({**ROW, "images": []}),
        1,
        "  ds/d.json: Cannot find valid samples, check `data/README.md` for the data format. (no "
        "sample of 'd' survives)",
    ),
    Case(
        "tag-in-answer",
        INFO,
        _rows({**ROW, "messages": [*ROW["messages"][:1], {"role": "assistant", "content": "<image>"}]}),
        1,
        "  ds/d.json: Cannot find valid samples, check `data/README.md` for the data format. (no "
        "sample of 'd' survives)",
    ),
    Case(
        "images-dotdot-missing",
        INFO,
        _rows({**ROW, "images": ["../gone.png"]}),
        1,
        "  ds/d.json:$[0].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'../gone.png' (LF opens the media while tokenizing: the run aborts)",
    ),
    Case(
        "images-absolute",
        INFO,
        _rows({**ROW, "images": ["/etc/hostname"]}),
        1,
        "  ds/d.json:$[0].images[0]: image file '/etc/hostname' is not an image Pillow can "
        "identify; LLaMA-Factory raises UnidentifiedImageError (LF opens the media while "
        "tokenizing: the run aborts)",
    ),
    Case(
        "images-url",
        INFO,
        _rows({**ROW, "images": ["https://example.com/a.png"]}),
        1,
        "  ds/d.json:$[0].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'https://example.com/a.png' (LF opens the media while tokenizing: the run aborts)",
    ),
    Case(
        "images-nul",
        INFO,
        _rows({**ROW, "images": ["a\x00.png"]}),
        1,
        "  ds/d.json:$[0].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'a\\x00.png' (LF opens the media while tokenizing: the run aborts)",
    ),
    Case(
        "images-folder",
        INFO,
        _rows({**ROW, "images": ["sub"]}),
        1,
        "  ds/d.json:$[0].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'sub' (LF opens the media while tokenizing: the run aborts)",
    ),
    Case(
        "images-missing",
        INFO,
        _rows({**ROW, "images": ["gone.png"]}),
        1,
        "  ds/d.json:$[0].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'gone.png' (LF opens the media while tokenizing: the run aborts)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_validate(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path, case)
    before = snapshot(tmp_path)
    args = list(case.args) if case.args and not case.args[0].startswith("-") else ["ds", *case.args]
    run = run_cli(["validate", *args], tmp_path, monkeypatch)
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err
    assert run.code == case.code, run.err + run.out
    assert case.line in (run.err + run.out).splitlines(), f"{case.line!r} not in:\n{run.err}{run.out}"
    assert snapshot(tmp_path) == before, "validate changed the folder"


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(
            [
                {
                    **ROW,
                    "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
                    * 5000,
                    "images": [],
                }
            ],
            id="10k-turns",
        ),
        pytest.param(
            [{**ROW, "messages": [ROW["messages"][0], {"role": "assistant", "content": "x" * 2_000_000}]}],
            id="2mb-answer",
        ),
    ],
)
def test_hostile_but_valid_folders_pass(
    rows: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, Case("ok", INFO, _rows(*rows), 0, ""))
    before = snapshot(tmp_path)
    run = run_cli(["validate", "ds"], tmp_path, monkeypatch)
    assert run.code == 0, run.err + run.out
    assert snapshot(tmp_path) == before


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
