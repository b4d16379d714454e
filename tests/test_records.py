"""Record streams: JSONL files are read lazily, line by line, never whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmconvert.converters.records import JsonLines, split_records
from mmconvert.errors import InputError
from mmconvert.findings import Findings


def _write_jsonl(path: Path, rows: int, pad: int = 2000) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            fh.write(json.dumps({"i": i, "text": "x" * pad}) + "\n")


def test_jsonl_keeps_only_a_head_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    _write_jsonl(path, 2000)  # ~4 MB
    split = split_records(str(path), Findings())
    assert split.layout == "jsonl"
    assert isinstance(split.records, JsonLines)
    assert len(split.data) == 1 << 20 < path.stat().st_size
    assert [r.index for r in split.records[:3]] == [0, 1, 2]
    assert sum(1 for _ in split.records) == 2000  # iterable again, from the file


def test_jsonl_bad_lines_are_findings_once_and_slices_report_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{oops\n{"a": 3}\n')
    findings = Findings()
    split = split_records(str(path), findings)
    assert [r.line for r in split.records[:5]] == [1, 4]
    assert len(findings) == 0
    records = list(split.records)
    assert [(r.index, r.line, bytes(r.raw)) for r in records] == [(0, 1, b'{"a": 1}'), (2, 4, b'{"a": 3}')]
    (finding,) = findings
    assert (finding.code, finding.path, finding.message) == (
        "json-invalid-line",
        "$[1]",
        "not valid JSON: unexpected 'o': expected a key in double quotes "
        "at line 3, column 2 (byte offset 11)",
    )


def test_jsonl_first_line_invalid_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": \n{"a": 1}\n')
    with pytest.raises(
        InputError, match=r"not valid JSON: the JSON ends early \(truncated file\?\) at line 1, column 7"
    ):
        split_records(str(path), Findings())
