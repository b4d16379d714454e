"""Record streams for the chat importers: a JSON array, a single JSON object, or JSON Lines, in UTF-8
with or without BOM, split into raw records that are decoded one at a time.

A JSON array is split into :class:`msgspec.Raw` items (one fast pass, no Python objects built); JSON
Lines are split on newlines, blank lines skipped.  A JSONL line that is not valid JSON is a finding
naming the line, not the end of the run; a file that is neither is an :class:`InputError` with the line
and column of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from mmconvert.errors import InputError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import DECODE_FAILURES, decode_problem, read_json_bytes

_BYTE_POS = re.compile(r"\(byte (\d+)\)")


@dataclass(frozen=True)
class RawRecord:
    """One record: its index in the file, JSON path (``$[3]``), JSONL line number, and raw JSON."""

    index: int
    path: str
    line: int | None
    raw: bytes | msgspec.Raw


@dataclass(frozen=True)
class RecordFile:
    """A file split into records; ``layout`` is ``json-array``, ``json-object`` or ``jsonl``."""

    path: str
    layout: str
    records: list[RawRecord]
    data: bytes = b""


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _where(data: bytes, exc: msgspec.DecodeError, offset: int = 0) -> str:
    text = str(exc)
    if text.startswith("Input data was truncated"):
        return "the JSON ends early (truncated file?)"
    match = _BYTE_POS.search(text)
    if match:
        line, col = _line_col(data, offset + int(match.group(1)))
        text = _BYTE_POS.sub(f"(line {line}, column {col})", text)
    return text


def split_records(path: str, findings: Findings | None = None) -> RecordFile:
    """Read ``path`` and split it into raw records (see module docstring)."""
    data = read_json_bytes(path)
    stripped = data.lstrip()
    if not stripped:
        raise InputError(f"{path}: the file is empty; expected a JSON array or JSON Lines of records")
    first = stripped[:1]
    if first == b"[":
        try:
            items = msgspec.json.decode(data, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            raise InputError(f"{path}: not valid JSON: {_where(data, exc)}") from exc
        except RecursionError as exc:
            raise InputError(f"{path}: {decode_problem(exc)}") from exc
        records = [RawRecord(i, f"$[{i}]", None, raw) for i, raw in enumerate(items)]
        return RecordFile(path, "json-array", records, data)
    if first != b"{":
        raise InputError(
            f"{path}: expected a JSON array of records or JSON Lines (one object per line), "
            f"but the file starts with {first.decode('utf-8', 'replace')!r}"
        )
    if not path.endswith(".jsonl"):
        try:
            raw = msgspec.json.decode(data, type=msgspec.Raw)
            return RecordFile(path, "json-object", [RawRecord(0, "$", None, raw)], data)
        except msgspec.DecodeError as exc:
            if "trailing characters" not in str(exc):
                raise InputError(f"{path}: not valid JSON: {_where(data, exc)}") from exc
        except RecursionError as exc:
            raise InputError(f"{path}: {decode_problem(exc)}") from exc
    return _split_lines(path, data, findings)


def _split_lines(path: str, data: bytes, findings: Findings | None) -> RecordFile:
    records: list[RawRecord] = []
    offset = 0
    index = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        try:
            msgspec.json.decode(line, type=msgspec.Raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            why = _where(data, exc, start) if isinstance(exc, msgspec.DecodeError) else decode_problem(exc)
            message = f"line {number} is not valid JSON: {why}"
            if findings is None or (not records and index == 0 and number == 1):
                raise InputError(f"{path}: {message}") from exc
            findings.skip(
                Finding(
                    code="json-invalid-line",
                    severity=Severity.ERROR,
                    message=message,
                    file=path,
                    index=index,
                    path=f"$[{index}]",
                    ids={"line": number},
                    hint="fix or remove this line; the other lines are read",
                )
            )
            index += 1
            continue
        records.append(RawRecord(index, f"$[{index}]", number, line))
        index += 1
    return RecordFile(path, "jsonl", records, data)


def iter_objects(records: list[RawRecord], limit: int) -> Iterator[tuple[RawRecord, object]]:
    """Decode the first ``limit`` records as plain Python values (for format detection)."""
    for record in records[:limit]:
        try:
            yield record, msgspec.json.decode(record.raw)
        except DECODE_FAILURES:
            continue
