"""Record streams for the chat importers: a JSON array, a single JSON object, or JSON Lines, in UTF-8
with or without BOM, split into raw records that are decoded one at a time.

A JSON array is split into :class:`msgspec.Raw` items (one fast pass, no Python objects built); JSON
Lines are streamed: the file is read line by line each time its records are iterated (blank lines
skipped), so a JSONL file of any size is never held in memory whole.  A JSONL line that is not valid
JSON is a finding naming the line, not the end of the run; a file that is neither is an
:class:`InputError` with the line and column of the problem.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from mmconvert.errors import InputError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import DECODE_FAILURES, UTF8_BOM, decode_problem, read_json_bytes, strip_bom

_BYTE_POS = re.compile(r"\(byte (\d+)\)")


@dataclass(frozen=True)
class RawRecord:
    """One record: its index in the file, JSON path (``$[3]``), JSONL line number, and raw JSON."""

    index: int
    path: str
    line: int | None
    raw: bytes | msgspec.Raw


_HEAD = 1 << 20  # bytes of a JSONL file kept for format sniffing


class JsonLines:
    """The records of a JSON Lines file, read lazily line by line on each iteration.

    Iterating yields every valid line and reports each invalid one as a ``json-invalid-line`` finding
    (when a collector is given); slicing (``records[:n]``, for format detection) reads only the first
    lines and reports nothing.
    """

    def __init__(self, path: str, findings: Findings | None) -> None:
        self.path = path
        self._findings = findings

    def __iter__(self) -> Iterator[RawRecord]:
        return self._iterate(self._findings)

    def __getitem__(self, item: slice) -> list[RawRecord]:
        if not isinstance(item, slice) or item.start or item.step or item.stop is None:
            raise TypeError("JsonLines supports only [:n] slices")
        return list(itertools.islice(self._iterate(None), item.stop))

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            with open(self.path, "rb") as fh:
                for number, line in enumerate(fh, start=1):
                    if number == 1 and line.startswith(UTF8_BOM):
                        line = line[len(UTF8_BOM) :]
                    yield number, line[:-1] if line.endswith(b"\n") else line
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    def _iterate(self, findings: Findings | None) -> Iterator[RawRecord]:
        index = 0
        for number, line in self._lines():
            if not line.strip():
                continue
            problem = _line_problem(line, number)
            if problem is not None:
                if findings is not None:
                    findings.skip(_invalid_line(self.path, index, number, problem))
                index += 1
                continue
            yield RawRecord(index, f"$[{index}]", number, line)
            index += 1


RecordSeq = list[RawRecord] | JsonLines


@dataclass(frozen=True)
class RecordFile:
    """A file split into records; ``layout`` is ``json-array``, ``json-object`` or ``jsonl``.

    ``data`` is the whole file for JSON, and only its first MiB for JSON Lines (which stream).
    """

    path: str
    layout: str
    records: RecordSeq
    data: bytes = b""


def _line_problem(line: bytes, number: int) -> str | None:
    try:
        msgspec.json.decode(line, type=msgspec.Raw)
    except msgspec.DecodeError as exc:
        text = str(exc)
        if text.startswith("Input data was truncated"):
            return "the JSON ends early (truncated file?)"
        match = _BYTE_POS.search(text)
        if match:
            text = _BYTE_POS.sub(f"(line {number}, column {int(match.group(1)) + 1})", text)
        return text
    except RecursionError as exc:
        return decode_problem(exc)
    return None


def _invalid_line(path: str, index: int, number: int, problem: str) -> Finding:
    return Finding(
        code="json-invalid-line",
        severity=Severity.ERROR,
        message=f"line {number} is not valid JSON: {problem}",
        file=path,
        index=index,
        path=f"$[{index}]",
        ids={"line": number},
        hint="fix or remove this line; the other lines are read",
    )


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
    if path.endswith(".jsonl"):
        return _json_lines(path, findings)
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
    try:
        raw = msgspec.json.decode(data, type=msgspec.Raw)
        return RecordFile(path, "json-object", [RawRecord(0, "$", None, raw)], data)
    except msgspec.DecodeError as exc:
        if "trailing characters" not in str(exc):
            raise InputError(f"{path}: not valid JSON: {_where(data, exc)}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: {decode_problem(exc)}") from exc
    # Several top-level objects: JSON Lines in a .json file.
    del data
    return _json_lines(path, findings)


def _json_lines(path: str, findings: Findings | None) -> RecordFile:
    """A JSONL file as a lazy record stream; the first line must be JSON, else it is not JSONL."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a JSON file")
    try:
        with open(p, "rb") as fh:
            head = strip_bom(fh.read(_HEAD), path)
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    stripped = head.lstrip()
    if not stripped:
        raise InputError(f"{path}: the file is empty; expected a JSON array or JSON Lines of records")
    if stripped[:1] == b"[" and path.endswith(".jsonl"):
        return split_records_array(path, findings)
    if stripped[:1] != b"{":
        raise InputError(
            f"{path}: expected a JSON array of records or JSON Lines (one object per line), "
            f"but the file starts with {stripped[:1].decode('utf-8', 'replace')!r}"
        )
    lines = JsonLines(path, findings)
    for number, line in lines._lines():
        if line.strip():
            problem = _line_problem(line, number)
            if problem is not None and (findings is None or number == 1):
                raise InputError(f"{path}: line {number} is not valid JSON: {problem}")
            break
    return RecordFile(path, "jsonl", lines, head)


def split_records_array(path: str, findings: Findings | None) -> RecordFile:
    """A ``.jsonl`` file that holds one JSON array after all: read it as JSON."""
    data = read_json_bytes(path)
    try:
        items = msgspec.json.decode(data, type=list[msgspec.Raw])
    except msgspec.DecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {_where(data, exc)}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: {decode_problem(exc)}") from exc
    return RecordFile(
        path, "json-array", [RawRecord(i, f"$[{i}]", None, raw) for i, raw in enumerate(items)], data
    )


def iter_objects(records: RecordSeq, limit: int) -> Iterator[tuple[RawRecord, object]]:
    """Decode the first ``limit`` records as plain Python values (for format detection)."""
    for record in records[:limit]:
        try:
            yield record, msgspec.json.decode(record.raw)
        except DECODE_FAILURES:
            continue
