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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from mmconvert.errors import InputError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import DECODE_FAILURES, UTF8_BOM, item_starts, read_json_bytes, strip_bom
from mmconvert.jsonerrors import TOO_DEEP, has_more_values, in_line, locate


@dataclass(frozen=True)
class RawRecord:
    """One record: its index in the file, JSON path (``$[3]``), JSONL line number, and raw JSON;
    ``offset`` is where a JSON Lines record starts in the file (a JSON array's items are found on demand,
    see :func:`record_problem`)."""

    index: int
    path: str
    line: int | None
    raw: bytes | msgspec.Raw
    offset: int | None = None


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

    def _lines(self) -> Iterator[tuple[int, int, bytes]]:
        """``(line number, byte offset, line without its newline)`` for each line (the offset in the
        text after a BOM)."""
        try:
            with open(self.path, "rb") as fh:
                offset = 0
                for number, line in enumerate(fh, start=1):
                    if number == 1 and line.startswith(UTF8_BOM):
                        line = line[len(UTF8_BOM) :]
                    yield number, offset, line[:-1] if line.endswith(b"\n") else line
                    offset += len(line)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    def _iterate(self, findings: Findings | None) -> Iterator[RawRecord]:
        index = 0
        for number, offset, line in self._lines():
            if not line.strip():
                continue
            problem = _line_problem(line, number, offset)
            if problem is not None:
                if findings is not None:
                    findings.skip(_invalid_line(self.path, index, number, problem))
                index += 1
                continue
            yield RawRecord(index, f"$[{index}]", number, line, offset)
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
    _starts: list[list[int]] = field(default_factory=list, repr=False, compare=False)

    def item_starts(self) -> list[int]:
        """Where each item of a JSON array starts in ``data`` (found on first use: failure paths only)."""
        if not self._starts:
            self._starts.append(item_starts(self.data))
        return self._starts[0]


def _line_problem(line: bytes, number: int, offset: int) -> str | None:
    try:
        msgspec.json.decode(line, type=msgspec.Raw)
    except msgspec.DecodeError:
        problem = locate(line)
        if problem is None:
            return f"the JSON cannot be decoded (line {number})"
        return str(in_line(problem, number, offset))
    except RecursionError:
        return f"{TOO_DEEP} at line {number}"
    return None


def record_problem(records: RecordFile, record: RawRecord, exc: BaseException) -> str:
    """Why ``record`` of ``records`` could not be decoded, placed in the file (line, column, byte offset):
    in its line for JSON Lines, by finding where the item starts for a JSON array."""
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    problem = locate(record.raw)
    if problem is None:
        return "the JSON cannot be decoded"
    if record.line is not None:
        return str(in_line(problem, record.line, record.offset))
    if records.layout == "json-array" and records.data:
        starts = records.item_starts()
        if record.index < len(starts):
            start = starts[record.index]
            placed = locate(records.data, start, start + len(memoryview(record.raw)))
            if placed is not None:
                return str(placed)
    return str(problem)


def _invalid_line(path: str, index: int, number: int, problem: str) -> Finding:
    return Finding(
        code="json-invalid-line",
        severity=Severity.ERROR,
        message=f"not valid JSON: {problem}",
        file=path,
        index=index,
        path=f"$[{index}]",
        ids={"line": number},
        hint="fix or remove this line; the other lines are read",
    )


def _where(data: bytes) -> str:
    problem = locate(data)
    return str(problem) if problem is not None else "the JSON cannot be decoded"


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
            raise InputError(f"{path}: not valid JSON: {_where(data)}") from exc
        except RecursionError as exc:
            raise InputError(f"{path}: {TOO_DEEP}") from exc
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
        if not has_more_values(data):
            raise InputError(f"{path}: not valid JSON: {_where(data)}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: {TOO_DEEP}") from exc
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
    for number, offset, line in lines._lines():
        if line.strip():
            problem = _line_problem(line, number, offset)
            if problem is not None and (findings is None or number == 1):
                raise InputError(f"{path}: not valid JSON: {problem}")
            break
    return RecordFile(path, "jsonl", lines, head)


def split_records_array(path: str, findings: Findings | None) -> RecordFile:
    """A ``.jsonl`` file that holds one JSON array after all: read it as JSON."""
    data = read_json_bytes(path)
    try:
        items = msgspec.json.decode(data, type=list[msgspec.Raw])
    except msgspec.DecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {_where(data)}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: {TOO_DEEP}") from exc
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


def first_undecodable(split: RecordFile, limit: int) -> str | None:
    """Why the first of the first ``limit`` records that cannot be decoded fails (placed in the file)."""
    for record in split.records[:limit]:
        try:
            msgspec.json.decode(record.raw)
        except DECODE_FAILURES as exc:
            return record_problem(split, record, exc)
    return None
