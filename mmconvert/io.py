"""Reading input bytes and writing output files: BOM handling, atomic replace, streamed JSON arrays.

Knows no dataset format.  JSON arrays are written in chunks that are byte-identical to
``json.dump(records, f, indent=2, ensure_ascii=False)`` of the whole list, without ever holding it.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from mmconvert.errors import InputError
from mmconvert.jsonerrors import TOO_DEEP, describe, has_more_values, in_line, locate

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_json_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a UTF-8 JSON/JSONL file, BOM removed; a clear :class:`InputError` otherwise."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{p}: is a folder, expected a JSON file")
        data = p.read_bytes()
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    return strip_bom(data, str(p))


class MappedJson:
    """A JSON file's bytes, memory-mapped when it is a regular file (else read), BOM removed.

    ``data`` is what decoders take (``bytes`` or a ``memoryview`` of the map); values decoded as
    ``msgspec.Raw`` point into it, so nothing is copied.  :meth:`release` drops the pages read so far
    from this process's memory; they come back from the page cache on the next access.  So a reader
    that walks a large file once holds about the part it is working on, not the whole file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        self._map: mmap.mmap | None = None
        try:
            if p.is_dir():
                raise InputError(f"{p}: is a folder, expected a JSON file")
            with p.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size and stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                    data: bytes | memoryview = memoryview(self._map)
                else:
                    data = fh.read()
        except InputError:
            raise
        except (OSError, ValueError) as exc:
            raise InputError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
        head = bytes(data[:4])
        strip_bom(head, str(p))  # refuses UTF-16
        self.data = data[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else data

    def first_byte(self) -> bytes:
        """The first byte that is not JSON whitespace (``b""`` for an empty or blank file)."""
        return leading_byte(self.data)

    def release(self) -> None:
        """Drop the mapped pages from this process's resident memory (a no-op where unsupported)."""
        if self._map is not None and hasattr(self._map, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            with contextlib.suppress(OSError):
                self._map.madvise(mmap.MADV_DONTNEED)


def leading_byte(value: bytes | memoryview | msgspec.Raw) -> bytes:
    """The first byte of a JSON value that is not whitespace (``b""`` if there is none), read in
    blocks: a large mapped file is not copied."""
    view = memoryview(value)
    for start in range(0, len(view), 4096):
        stripped = bytes(view[start : start + 4096]).lstrip(b" \t\r\n")
        if stripped:
            return stripped[:1]
    return b""


_OUTSIDE_STRING = re.compile(rb'["\[\]{},]')
_INSIDE_STRING = re.compile(rb'["\\]')


def leading_items(array: bytes | memoryview | msgspec.Raw, count: int) -> list[bytes]:
    """The first ``count`` items of a JSON array (already known to be valid JSON) as bytes, found by
    scanning only as much of it as they take: no parse of the rest of a large array."""
    view = memoryview(array)
    size = 1 << 16
    while True:
        data = bytes(view[:size])
        spans, complete = _scan_items(data, count)
        if complete or size >= len(view):
            return [data[a:b] for a, b in spans]
        size *= 4


def item_starts(array: bytes) -> list[int]:
    """The byte offset of each item of a JSON array (whose structure is valid; strings may hold anything)."""
    spans, _complete = _scan_items(array, len(array))
    return [start for start, _end in spans]


def _scan_items(data: bytes, count: int) -> tuple[list[tuple[int, int]], bool]:
    """``(start, end)`` of the items found in ``data`` (the start of an array), and whether they are final."""
    pos = data.find(b"[") + 1
    if pos == 0:
        return [], True
    depth, start = 1, pos
    items: list[tuple[int, int]] = []

    def add(end: int) -> None:
        a, b = start, end
        while a < b and data[a] in b" \t\r\n":
            a += 1
        while b > a and data[b - 1] in b" \t\r\n":
            b -= 1
        if a < b:
            items.append((a, b))

    while True:
        m = _OUTSIDE_STRING.search(data, pos)
        if m is None:
            return items, False
        char, pos = data[m.start()], m.end()
        if char == 0x22:  # a string: skip to its closing quote
            while True:
                m = _INSIDE_STRING.search(data, pos)
                if m is None:
                    return items, False
                pos = m.end()
                if data[m.start()] == 0x5C:  # backslash: skip the escaped character
                    pos += 1
                else:
                    break
        elif char in b"[{":
            depth += 1
        elif char in b"]}":
            depth -= 1
            if depth == 0:
                add(m.start())
                return items, True
        elif depth == 1:  # a comma between items
            add(m.start())
            start = pos
            if len(items) >= count:
                return items, True


def strip_bom(data: bytes, name: str) -> bytes:
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :]
    if data[:2] in _UTF16_BOMS or (len(data) > 1 and (data[0] == 0 or data[1] == 0)):
        raise InputError(
            f"{name}: looks like UTF-16, mmconvert reads UTF-8 JSON",
            hint="re-save the file as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
        )
    return data


def describe_decode_error(name: str, exc: BaseException, data: bytes | memoryview) -> str:
    """Why ``data`` (the file ``name``) failed to decode, in mmconvert's words (see
    :mod:`mmconvert.jsonerrors`), e.g. ``x.json: unexpected '}' at line 3, column 1 (byte offset 40)``."""
    return f"{name}: {decode_problem(exc, data)}"


#: What decoding one JSON value can raise because of the input itself.
DECODE_FAILURES = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def decode_problem(exc: BaseException, data: bytes | memoryview | msgspec.Raw) -> str:
    """One line saying why the JSON ``data`` could not be decoded (no file name), for findings and errors.

    Built from the bytes, not from the decoder's message, so it is the same on every msgspec release."""
    return describe(memoryview(data), exc)


def input_decode_error(paths: Sequence[str | os.PathLike[str]], exc: BaseException) -> InputError | None:
    """The :class:`InputError` for a decode failure that escaped the reader of ``paths`` (a record or
    annotation decoded lazily), with the first problem found in those files; ``None`` if ``exc`` is
    not a decode failure."""
    if isinstance(exc, RecursionError):
        name = ", ".join(os.fspath(p) for p in paths)
        return InputError(
            f"{name}: {TOO_DEEP}", hint="no dataset format nests this deep; check how the file was produced"
        )
    if not isinstance(exc, (msgspec.DecodeError, UnicodeDecodeError)):
        return None
    for path in paths:
        problem = locate_in_file(path)
        if problem is not None:
            hint = (
                "re-save the file as UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8`)" if "UTF-8" in problem else None
            )
            return InputError(f"{os.fspath(path)}: {problem}", hint=hint)
    name = ", ".join(os.fspath(p) for p in paths)
    return InputError(f"{name}: the JSON cannot be decoded")


def locate_in_file(path: str | os.PathLike[str]) -> str | None:
    """The first problem in a JSON or JSON Lines file (see :func:`mmconvert.jsonerrors.locate`)."""
    try:
        data = read_json_bytes(path)
    except InputError as exc:
        return exc.message
    problem = locate(data)
    if problem is None or not has_more_values(data):
        return str(problem) if problem else None
    offset = 0
    for number, line in enumerate(data.split(b"\n"), start=1):  # JSON Lines
        if line.strip():
            found = locate(line)
            if found is not None:
                return str(in_line(found, number, offset))
        offset += len(line) + 1
    return None


@contextlib.contextmanager
def decoding(paths: Sequence[str | os.PathLike[str]]) -> Iterator[None]:
    """Turn decode failures raised inside the block while reading ``paths`` into :class:`InputError`."""
    try:
        yield
    except DECODE_FAILURES as exc:
        error = input_decode_error(paths, exc)
        if error is None:  # pragma: no cover - every caught type is mapped
            raise
        raise error from exc


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stream of acyclic records is built and written.

    Streaming allocates millions of short-lived tuples and dicts; each young collection would also walk
    the long-lived image index.  Nothing in the stream forms reference cycles, so pausing loses nothing
    (about a fifth of a COCO train2017 conversion's CPU time is saved); the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _default_mode() -> int:
    """0o666 minus the umask: what ``open(path, "w")`` would have created (mkstemp uses 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike[str], mode: int | None = None) -> Iterator[IO[bytes]]:
    """Write ``target`` through a temp file in the same folder, fsync, then rename over it.

    On any exception the temp file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class BackgroundSync:
    """Flushes a file being written to disk in a background thread, every ``every`` bytes, so that the
    fsync before the commit has little left to do (``os.fdatasync`` releases the GIL: the disk writes
    while the encoder keeps working).  Write through it like a file; :meth:`finish` at the end waits
    and does the final ``fsync``."""

    def __init__(self, fh: IO[bytes], every: int = 32 << 20) -> None:
        self._fh = fh
        self._every = every
        self._pending = 0
        self._thread: threading.Thread | None = None

    def write(self, data: bytes | memoryview) -> int:
        count = self._fh.write(data)
        self._pending += count
        if self._pending >= self._every:
            self._start()
        return count

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._pending = 0
            self._fh.flush()
            self._thread = threading.Thread(target=_quiet_fdatasync, args=(self._fh.fileno(),), daemon=True)
            self._thread.start()

    def finish(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._fh.flush()
        os.fsync(self._fh.fileno())


def _quiet_fdatasync(fd: int) -> None:
    with contextlib.suppress(OSError):  # the final fsync in finish() reports real failures
        getattr(os, "fdatasync", os.fsync)(fd)


class JsonArrayWriter:
    """Streams records into a JSON array formatted exactly like ``json.dump(..., indent=2,
    ensure_ascii=False)``: each chunk is encoded by msgspec, pretty-printed, and spliced in.

    A chunk may also hold records already encoded by :meth:`template` (``bytes``), kept in order."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._encoder = msgspec.json.Encoder()
        self._first = True

    def _encode(self, records: list[Any]) -> memoryview:
        body = msgspec.json.format(self._encoder.encode(records), indent=2)
        return memoryview(body)[2:-2]  # body is b"[\n  {...},\n  {...}\n]": the inner part, no copy

    def write_chunk(self, records: list[Any]) -> None:
        if not records:
            return
        self._fh.write(b"[\n" if self._first else b",\n")
        self._first = False
        for i, part in enumerate(_runs(records, self._encode)):
            if i:
                self._fh.write(b",\n")
            self._fh.write(part)

    def close(self) -> None:
        self._fh.write(b"[]" if self._first else b"\n]")

    def template(self, shape: Any) -> RecordTemplate:
        """A template for records shaped like ``shape`` (see :class:`RecordTemplate`)."""
        return RecordTemplate(shape, self._encode)


class JsonLinesWriter:
    """Streams records as JSON Lines (compact, UTF-8, one object per line).

    A chunk may also hold records already encoded by :meth:`template` (``bytes``), kept in order."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._encoder = msgspec.json.Encoder()

    def _encode(self, records: list[Any]) -> bytes:
        return self._encoder.encode_lines(records)

    def write_chunk(self, records: list[Any]) -> None:
        for part in _runs(records, self._encode):
            self._fh.write(part)

    def close(self) -> None:
        pass

    def template(self, shape: Any) -> RecordTemplate:
        return RecordTemplate(shape, self._encode)


def _runs(records: list[Any], encode: Any) -> Iterator[bytes | memoryview]:
    """The chunk as text: pre-encoded records joined, runs of the others encoded together."""
    if not any(type(r) is bytes for r in records):
        yield encode(records)
        return
    start = 0
    for i, record in enumerate(records):
        if type(record) is bytes:
            if i > start:
                yield encode(records[start:i])
            yield record
            start = i + 1
    if start < len(records):
        yield encode(records[start:])


class RecordTemplate:
    """The encoded text of every record of one fixed shape, with slots for its strings.

    ``shape`` is a record whose variable strings are :data:`SLOT` markers; the template is what the
    writer's own encoder makes of it, cut at the markers, so :meth:`fill` gives for any strings exactly
    the bytes the encoder would (same escaping, same layout) while skipping the per-record dict and the
    reformatting.  ``tests/test_output_identity.py`` checks the result against ``json.dumps``.
    """

    def __init__(self, shape: Any, encode: Any) -> None:
        text = bytes(encode([shape]))
        marker = msgspec.json.encode(SLOT)[1:-1]
        pieces = text.split(marker)
        # each slot sits inside quotes: the quotes belong to the encoded strings filled in
        self.pieces = [p.removesuffix(b'"').removeprefix(b'"') for p in pieces]
        self.slots = len(pieces) - 1
        self._join = b"".join

    def fill(self, *encoded: bytes) -> bytes:
        """The record with the slots filled by these encoded strings (``msgspec.json.encode(str)``)."""
        pieces = self.pieces
        out = [pieces[0]]
        for value, piece in zip(encoded, pieces[1:], strict=True):
            out.append(value)
            out.append(piece)
        return self._join(out)

    def filler3(self) -> Any:
        """:meth:`fill` for a three-slot template, as a fast function of the three encoded strings."""
        assert self.slots == 3
        p0, p1, p2, p3 = self.pieces
        join = self._join
        return lambda a, b, c: join((p0, a, p1, b, p2, c, p3))


#: The marker a record shape puts where a string varies (see RecordTemplate).
SLOT = "\x00mmconvert-slot\x00"
