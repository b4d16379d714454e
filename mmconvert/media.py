"""Media file checks in four tiers, parallel over processes, each unique file checked once per run.

``none``
    nothing is looked at.
``exists``
    the path names a regular file.  Answered from one ``os.scandir`` listing per folder, cached for the
    run, so checking a COCO train2017 folder costs one directory read instead of 118k ``stat`` calls.
    A symlink whose target lies outside the dataset tree (``root``) is a warning.
``header``
    the file opens and its header is read without decoding pixels: format known, size read, animated /
    CMYK / 16-bit images noted, Pillow's decompression-bomb limit applied as a finding.  JPEG and PNG
    headers are parsed here directly (3-4x faster than ``Image.open``) when they are plain; anything
    unusual, and every other format, goes to Pillow, whose verdict is LLaMA-Factory's.
``decode``
    the image is fully decoded by Pillow (catches truncated and corrupt files that ``header`` and
    ``Image.verify()`` miss); videos and audios: the container opens with PyAV and has a stream of the
    kind (skipped with a note when PyAV is not installed).

The ``header``/``decode`` work runs in a :class:`concurrent.futures.ProcessPoolExecutor` (``jobs``
processes, chunks of :data:`CHUNK` files); results are cached by path, size and mtime for the run.
Sample layout is not known here: callers pass resolved paths and turn :class:`MediaCheck` results into
findings (:mod:`mmconvert.passes`).  :func:`check_media_files` is the one-call entry point.
"""

from __future__ import annotations

import csv
import enum
import errno
import io
import logging
import os
import stat
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO

import msgspec

from mmconvert.findings import Severity
from mmconvert.options import CheckTier
from mmconvert.paths import split_path
from mmconvert.progress import ProgressCounter

log = logging.getLogger("mmconvert.media")

#: Files per task sent to a worker process.
CHUNK = 256
#: Below this many files a check runs in this process: starting workers would cost more.
POOL_THRESHOLD = 512
#: Bytes read for the fast JPEG/PNG header parse; a header longer than this goes to Pillow.
HEAD_BYTES = 16384


class FileState(enum.StrEnum):
    FILE = "file"
    MISSING = "missing"
    DIRECTORY = "directory"
    OTHER = "other"  # a device, socket or fifo
    UNREADABLE = "unreadable"  # the folder cannot be listed
    BROKEN_LINK = "broken-link"  # a symlink whose target does not exist
    LINK_LOOP = "link-loop"  # a symlink that points (eventually) at itself


_MISSING = FileState.MISSING  # an enum member lookup costs ~0.1-0.5 us on Python 3.11: bind it once
_UNLISTED: dict[str, FileState] = {}  # a sentinel: "this folder was not listed yet"

STATE_MESSAGES = {
    FileState.MISSING: "not found",
    FileState.DIRECTORY: "is a folder, not a file",
    FileState.OTHER: "is not a regular file (a device, socket or fifo)",
    FileState.UNREADABLE: "cannot be read (permission denied)",
    FileState.BROKEN_LINK: "is a broken symlink (its target does not exist)",
    FileState.LINK_LOOP: "is a symlink loop",
}

#: Finding code for each exists-tier state that is a problem.
STATE_CODES = {
    FileState.MISSING: "media-missing",
    FileState.BROKEN_LINK: "media-missing",
    FileState.DIRECTORY: "media-not-file",
    FileState.OTHER: "media-not-file",
    FileState.LINK_LOOP: "media-not-file",
    FileState.UNREADABLE: "media-unreadable",
}


class Reason(enum.StrEnum):
    """Why a file is bad (``problem``) or worth a note; the finding code is ``media-<reason>``."""

    # problems: LLaMA-Factory would fail to open or decode the file
    MISSING = "missing"
    NOT_FILE = "not-file"
    UNREADABLE = "unreadable"
    EMPTY = "empty"
    UNIDENTIFIED = "unidentified"
    DECOMPRESSION_BOMB = "decompression-bomb"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    NO_STREAM = "no-stream"
    # notes
    SYMLINK_OUTSIDE = "symlink-outside"
    WRONG_EXTENSION = "wrong-extension"
    ANIMATED = "animated"
    CMYK = "cmyk"
    HIGH_BIT_DEPTH = "high-bit-depth"
    LARGE_IMAGE = "large-image"
    SIZE_MISMATCH = "size-mismatch"
    CHECK_SKIPPED = "check-skipped"

    @property
    def code(self) -> str:
        return "media-" + self.value


#: Severity of each note reason (problems are always errors).
NOTE_SEVERITY: dict[Reason, Severity] = {
    Reason.SYMLINK_OUTSIDE: Severity.WARNING,
    Reason.WRONG_EXTENSION: Severity.WARNING,
    Reason.ANIMATED: Severity.WARNING,
    Reason.CMYK: Severity.INFO,
    Reason.HIGH_BIT_DEPTH: Severity.WARNING,
    Reason.LARGE_IMAGE: Severity.WARNING,
    Reason.SIZE_MISMATCH: Severity.WARNING,
    Reason.CHECK_SKIPPED: Severity.WARNING,  # asked for and not done: the terminal must say so
}


class MediaCheck(msgspec.Struct, frozen=True, gc=False):
    """What one check found out about one file.

    ``problem`` is set when LLaMA-Factory would fail on the file (``message`` says why); ``notes`` are
    ``(reason, message)`` pairs worth a warning or an info.  ``width``/``height``/``format``/``mode``/
    ``frames`` are known from the ``header`` tier on; ``size``/``mtime_ns`` key the cache.
    """

    path: str
    tier: CheckTier
    problem: Reason | None = None
    message: str | None = None
    notes: tuple[tuple[Reason, str], ...] = ()
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    frames: int | None = None
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """One line for the log: ``ok JPEG 640x480 RGB`` or the problem."""
        if self.problem is not None:
            return f"{self.problem.value}: {self.message}"
        parts = ["ok"]
        if self.format:
            parts.append(self.format)
        if self.width is not None:
            parts.append(f"{self.width}x{self.height}")
        if self.mode:
            parts.append(self.mode)
        parts.extend(f"[{reason.value}]" for reason, _ in self.notes)
        return " ".join(parts)


# --- tier exists: folder listings ----------------------------------------------------------------


class DirectoryIndex:
    """Answers "what is at this path" from cached folder listings."""

    def __init__(self) -> None:
        self._listings: dict[str, dict[str, FileState] | None] = {}
        self._links: dict[str, set[str]] = {}

    def state(self, path: str) -> FileState:
        folder, _, name = path.rpartition(os.sep)
        if not folder:  # "name" or "/name"
            folder, name = os.path.split(path)
        listing = self._listings.get(folder, _UNLISTED)
        if listing is _UNLISTED:
            listing = self._listing(folder)
        if listing is None:
            return self._stat(path)
        return listing.get(name, _MISSING)  # type: ignore[union-attr]

    def is_link(self, path: str) -> bool:
        """Whether ``path`` is a symlink (answered from its folder's listing when it can be listed)."""
        folder, name = split_path(path)
        listing = self._listings.get(folder, _UNLISTED)
        if listing is _UNLISTED:
            listing = self._listing(folder)
        if listing is None:
            return os.path.islink(path)
        links = self._links.get(folder)
        return links is not None and name in links

    def listing(self, folder: str) -> dict[str, FileState] | None:
        """``folder``'s entries and their states (``None`` if it cannot be listed); read once per run."""
        return self._listing(folder)

    def links(self, folder: str) -> set[str] | frozenset[str]:
        """The names in ``folder``'s listing that are symlinks."""
        return self._links.get(folder, frozenset())

    def _listing(self, folder: str) -> dict[str, FileState] | None:
        if folder in self._listings:
            return self._listings[folder]
        listing = self._listings[folder] = self._list(folder)
        return listing

    def _list(self, folder: str) -> dict[str, FileState] | None:
        try:
            entries = os.scandir(folder or ".")
        except FileNotFoundError:
            return {}
        except OSError:
            return None
        listing: dict[str, FileState] = {}
        links: set[str] = set()
        with entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        state = FileState.FILE
                    elif entry.is_dir():
                        state = FileState.DIRECTORY
                    elif entry.is_symlink():
                        state = _link_state(entry.path)
                    else:
                        state = FileState.OTHER
                    if entry.is_symlink():
                        links.add(entry.name)
                except OSError:
                    state = _link_state(entry.path)
                listing[entry.name] = state
        if links:
            self._links[folder] = links
        return listing

    @staticmethod
    def _stat(path: str) -> FileState:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return FileState.BROKEN_LINK if os.path.islink(path) else FileState.MISSING
        except PermissionError:
            return FileState.UNREADABLE
        except OSError as exc:
            return FileState.LINK_LOOP if exc.errno == errno.ELOOP else FileState.OTHER
        if stat.S_ISREG(st.st_mode):
            return FileState.FILE
        if stat.S_ISDIR(st.st_mode):
            return FileState.DIRECTORY
        return FileState.OTHER


def _link_state(path: str) -> FileState:
    """The state of a listed entry that is neither a file nor a folder when followed."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return FileState.BROKEN_LINK
    except OSError as exc:
        return FileState.LINK_LOOP if exc.errno == errno.ELOOP else FileState.OTHER
    return FileState.OTHER


class ExistsChecker:
    """Tier ``exists`` for many paths: listings, plus the symlink-outside-the-tree warning."""

    def __init__(self) -> None:
        self.index = DirectoryIndex()
        self._real_roots: dict[str, str] = {}

    def check(self, path: str, root: str | None = None) -> MediaCheck:
        state = self.index.state(path)
        if state is not FileState.FILE:
            reason = (
                Reason.MISSING
                if state in (FileState.MISSING, FileState.BROKEN_LINK)
                else Reason.UNREADABLE
                if state is FileState.UNREADABLE
                else Reason.NOT_FILE
            )
            return MediaCheck(path, CheckTier.EXISTS, reason, STATE_MESSAGES[state])
        if root is not None and self.index.is_link(path):
            note = self._outside_note(path, root)
            if note is not None:
                return MediaCheck(path, CheckTier.EXISTS, notes=((Reason.SYMLINK_OUTSIDE, note),))
        return MediaCheck(path, CheckTier.EXISTS)

    def _outside_note(self, path: str, root: str) -> str | None:
        real_root = self._real_roots.get(root)
        if real_root is None:
            real_root = os.path.realpath(root)
            self._real_roots[root] = real_root
        target = os.path.realpath(path)
        if target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep):
            return None
        return f"is a symlink to {target}, outside the dataset folder {root}"


# --- tiers header and decode: one file ----------------------------------------------------------

_EXTENSION_FORMATS: dict[str, str] = {}


def _format_for_extension(path: str) -> str | None:
    if not _EXTENSION_FORMATS:
        from PIL import Image

        _EXTENSION_FORMATS.update(Image.registered_extensions())
        _EXTENSION_FORMATS[".jpg"] = "JPEG"
    return _EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower())


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_SAME_FORMAT = {"MPO": "JPEG"}  # a JPEG with extra frames (phones) is still a .jpg


def check_file(path: str, kind: str | None, tier: CheckTier) -> MediaCheck:
    """Check one file at ``tier`` (``header`` or ``decode``); never raises for bad input.

    ``kind`` is ``image``/``video``/``audio`` (``None``: from the extension).  The file is opened
    non-blocking, so a fifo named like an image is reported instead of hanging the check.
    """
    kind = kind or guess_kind(path)
    try:
        handle = os.fdopen(os.open(path, os.O_RDONLY | _O_NONBLOCK), "rb")
    except FileNotFoundError:
        state = FileState.BROKEN_LINK if os.path.islink(path) else FileState.MISSING
        return MediaCheck(path, tier, Reason.MISSING, STATE_MESSAGES[state])
    except IsADirectoryError:
        return MediaCheck(path, tier, Reason.NOT_FILE, STATE_MESSAGES[FileState.DIRECTORY])
    except PermissionError:
        return MediaCheck(path, tier, Reason.UNREADABLE, "cannot be read (permission denied)")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return MediaCheck(path, tier, Reason.NOT_FILE, STATE_MESSAGES[FileState.LINK_LOOP])
        return MediaCheck(path, tier, Reason.UNREADABLE, f"cannot be opened ({exc.strerror})")
    with handle:
        try:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                state = FileState.DIRECTORY if stat.S_ISDIR(st.st_mode) else FileState.OTHER
                return MediaCheck(path, tier, Reason.NOT_FILE, STATE_MESSAGES[state])
            if st.st_size == 0:
                return MediaCheck(
                    path, tier, Reason.EMPTY, "is empty (0 bytes)", size=0, mtime_ns=st.st_mtime_ns
                )
            result = _check_image(handle, path, tier) if kind == "image" else _check_av(path, kind, tier)
        except OSError as exc:  # a read error half-way (I/O error, file vanished on a network share)
            return MediaCheck(path, tier, Reason.UNREADABLE, f"cannot be read ({exc})")
    return msgspec.structs.replace(result, size=st.st_size, mtime_ns=st.st_mtime_ns)


def _check_image(handle: IO[bytes], path: str, tier: CheckTier) -> MediaCheck:
    if tier is CheckTier.HEADER:
        head = handle.read(HEAD_BYTES)
        fast = _fast_header(head)
        if fast is not None:
            fmt, width, height, mode, frames, high_bits = fast
            return _image_result(path, tier, fmt, width, height, mode, frames, high_bits)
        handle.seek(0)
    return _pillow_check(handle, path, tier)


def _pillow_check(handle: IO[bytes], path: str, tier: CheckTier) -> MediaCheck:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        try:
            image = Image.open(handle)
        except Image.DecompressionBombError as exc:
            return MediaCheck(path, tier, Reason.DECOMPRESSION_BOMB, _bomb_message(str(exc)))
        except UnidentifiedImageError:
            return MediaCheck(path, tier, Reason.UNIDENTIFIED, _unidentified_message(handle))
        except Exception as exc:  # Pillow raises SyntaxError, ValueError, struct.error... for bad headers
            return MediaCheck(path, tier, Reason.CORRUPT, f"has a broken header ({_pillow_error(exc)})")
        with image:
            fmt = image.format or "unknown"
            width, height = image.size
            mode = image.mode
            try:
                frames = int(getattr(image, "n_frames", 1) or 1)
            except Exception:
                frames = 1
            if tier is CheckTier.DECODE:
                try:
                    image.load()
                except Image.DecompressionBombError as exc:
                    return MediaCheck(path, tier, Reason.DECOMPRESSION_BOMB, _bomb_message(str(exc)))
                except Exception as exc:
                    text = _pillow_error(exc)
                    truncated = "truncated" in text or isinstance(exc, EOFError)
                    reason = Reason.TRUNCATED if truncated else Reason.CORRUPT
                    what = "is truncated" if truncated else "cannot be decoded"
                    return MediaCheck(
                        path, tier, reason, f"{what} (Pillow: {text})", format=fmt, width=width, height=height
                    )
    high_bits = mode.startswith(("I", "F")) or mode.endswith(";16")
    result = _image_result(path, tier, fmt, width, height, mode, frames, high_bits)
    if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught) and not any(
        reason is Reason.LARGE_IMAGE for reason, _ in result.notes
    ):
        result = msgspec.structs.replace(result, notes=(*result.notes, _large_note(width, height)))
    return result


def _pillow_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def _bomb_message(detail: str) -> str:
    return (
        f"is over Pillow's decompression-bomb limit; LLaMA-Factory's Image.open raises "
        f"DecompressionBombError ({detail})"
    )


def _large_note(width: int, height: int) -> tuple[Reason, str]:
    return (
        Reason.LARGE_IMAGE,
        f"has {width}x{height} = {width * height:,} pixels, over Pillow's warning limit; it opens, "
        "slowly, with a DecompressionBombWarning",
    )


def _unidentified_message(handle: IO[bytes]) -> str:
    message = "is not an image Pillow can identify; LLaMA-Factory raises UnidentifiedImageError"
    try:
        handle.seek(0)
        start = handle.read(16).lstrip()
    except (OSError, ValueError):
        return message
    if start[:1] in (b"<", b"{", b"["):
        message += " (it looks like HTML, XML or JSON text)"
    return message


def _image_result(
    path: str,
    tier: CheckTier,
    fmt: str,
    width: int,
    height: int,
    mode: str,
    frames: int,
    high_bits: bool,
) -> MediaCheck:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    pixels = width * height
    if limit and pixels > 2 * limit:
        return MediaCheck(
            path,
            tier,
            Reason.DECOMPRESSION_BOMB,
            _bomb_message(f"{width}x{height} = {pixels:,} pixels, limit {2 * limit:,}"),
            format=fmt,
            width=width,
            height=height,
        )
    notes: list[tuple[Reason, str]] = []
    if limit and pixels > limit:
        notes.append(_large_note(width, height))
    expected = _format_for_extension(path)
    if expected is not None and _SAME_FORMAT.get(fmt, fmt) != expected:
        ext = os.path.splitext(path)[1]
        notes.append((Reason.WRONG_EXTENSION, f"is a {fmt} file named {ext}"))
    if frames > 1 and fmt != "MPO":
        notes.append(
            (Reason.ANIMATED, f"is animated ({frames} frames); LLaMA-Factory uses the first frame only")
        )
    if mode == "CMYK":
        notes.append((Reason.CMYK, "is CMYK; LLaMA-Factory converts it to RGB (colours may shift)"))
    if high_bits:
        notes.append(
            (
                Reason.HIGH_BIT_DEPTH,
                f"has more than 8 bits per channel (mode {mode}); LLaMA-Factory's convert('RGB') clips it",
            )
        )
    return MediaCheck(
        path, tier, notes=tuple(notes), format=fmt, width=width, height=height, mode=mode, frames=frames
    )


# Fast header parse: (format, width, height, mode, frames, high bit depth), or None for "ask Pillow".
_FastHeader = tuple[str, int, int, str, int, bool]

_JPEG_SOF = {0xC0, 0xC1, 0xC2}
_JPEG_OTHER_SOF = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# (bit depth, colour type) -> Pillow mode, for the combinations Pillow reads.
_PNG_MODES = {
    (1, 0): "1",
    (2, 0): "L",
    (4, 0): "L",
    (8, 0): "L",
    (16, 0): "I;16",
    (8, 2): "RGB",
    (16, 2): "RGB",
    (1, 3): "P",
    (2, 3): "P",
    (4, 3): "P",
    (8, 3): "P",
    (8, 4): "LA",
    (16, 4): "LA",
    (8, 6): "RGBA",
    (16, 6): "RGBA",
}


def _fast_header(head: bytes) -> _FastHeader | None:
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg_header(head)
    if head.startswith(_PNG_SIGNATURE):
        return _png_header(head)
    return None


def _jpeg_header(head: bytes) -> _FastHeader | None:
    """Walk the markers to the first baseline/progressive SOF; anything unusual -> None (Pillow)."""
    i, n = 2, len(head)
    while i + 4 <= n:
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = (head[i + 2] << 8) | head[i + 3]
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if length < 8 or i + 10 > n:
                return None
            precision = head[i + 4]
            height = (head[i + 5] << 8) | head[i + 6]
            width = (head[i + 7] << 8) | head[i + 8]
            mode = _JPEG_MODES.get(head[i + 9])
            if precision != 8 or mode is None or not width or not height:
                return None
            return "JPEG", width, height, mode, 1, False
        if marker in _JPEG_OTHER_SOF or marker in (0xDA, 0xD9) or 0xD0 <= marker <= 0xD8:
            return None
        i += 2 + length
    return None


def _png_header(head: bytes) -> _FastHeader | None:
    """IHDR, then the chunks up to IDAT looking for APNG's acTL; anything unusual -> None (Pillow)."""
    if len(head) < 33 or head[12:16] != b"IHDR" or head[8:12] != b"\x00\x00\x00\x0d":
        return None
    width = int.from_bytes(head[16:20], "big")
    height = int.from_bytes(head[20:24], "big")
    bits, colour = head[24], head[25]
    mode = _PNG_MODES.get((bits, colour))
    if mode is None or not width or not height or head[28] not in (0, 1):
        return None
    frames = 1
    i, n = 33, len(head)
    while True:
        if i + 8 > n:
            return None  # IDAT not within the bytes read: let Pillow look
        length = int.from_bytes(head[i : i + 4], "big")
        kind = head[i + 4 : i + 8]
        if kind == b"IDAT":
            break
        if kind == b"acTL":
            if i + 12 > n:
                return None
            frames = int.from_bytes(head[i + 8 : i + 12], "big") or 1
        elif kind == b"IEND":
            return None
        i += 12 + length
    return "PNG", width, height, mode, frames, bits == 16


def _check_av(path: str, kind: str, tier: CheckTier) -> MediaCheck:
    try:
        import av  # type: ignore[import-not-found]
    except ImportError:
        return MediaCheck(
            path,
            tier,
            notes=(
                (
                    Reason.CHECK_SKIPPED,
                    "was only checked to exist, like every video and audio file: PyAV is not "
                    "installed (pip install 'mmconvert[video]')",
                ),
            ),
        )
    try:
        with av.open(path) as container:
            streams = [s for s in container.streams if s.type == kind]
            if not streams:
                return MediaCheck(path, tier, Reason.NO_STREAM, f"has no {kind} stream", format=kind)
            stream = streams[0]
            codec = getattr(stream, "codec_context", None) if kind == "video" else None
            width = getattr(codec, "width", None)
            height = getattr(codec, "height", None)
            if tier is CheckTier.DECODE:
                for _ in container.decode(stream):
                    break
            return MediaCheck(path, tier, format=container.format.name, width=width, height=height)
    except Exception as exc:  # PyAV raises its own error family for every container problem
        return MediaCheck(path, tier, Reason.CORRUPT, f"cannot be opened as {kind} ({_pillow_error(exc)})")


def check_chunk(items: list[tuple[str, str | None]], tier: CheckTier) -> list[MediaCheck]:
    """Check ``(path, kind)`` items at ``tier``."""
    return [check_file(path, kind, tier) for path, kind in items]


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(list[MediaCheck])


def check_chunk_packed(items: list[tuple[str, str | None]], tier: CheckTier) -> bytes:
    """Worker entry point: :func:`check_chunk`, its answer as msgpack (half the cost of pickling)."""
    return _ENCODER.encode(check_chunk(items, tier))


# --- many files: cache, pool, batches ------------------------------------------------------------


@dataclass
class MediaCache:
    """Check results of one run, by path; reused only while the file's size and mtime are unchanged."""

    checks: dict[str, MediaCheck] = field(default_factory=dict)

    def get(self, path: str, tier: CheckTier, revalidate: bool = True) -> MediaCheck | None:
        check = self.checks.get(path)
        if check is None or _TIER_RANK[check.tier] < _TIER_RANK[tier]:
            return None
        if revalidate and check.size is not None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            if st.st_size != check.size or st.st_mtime_ns != check.mtime_ns:
                return None
        return check

    def put(self, check: MediaCheck) -> None:
        self.checks[check.path] = check


_TIER_RANK = {CheckTier.NONE: 0, CheckTier.EXISTS: 1, CheckTier.HEADER: 2, CheckTier.DECODE: 3}


def tier_at_least(tier: CheckTier, floor: CheckTier) -> bool:
    return _TIER_RANK[tier] >= _TIER_RANK[floor]


def default_jobs() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Batch:
    """Checks submitted together; :meth:`MediaChecker.collect` waits for them."""

    def __init__(self, done: dict[str, MediaCheck], futures: list[Future[bytes]]) -> None:
        self.done = done
        self.futures = futures
        self.exists_notes: dict[str, tuple[tuple[Reason, str], ...]] = {}


class MediaChecker:
    """Checks many files at one tier: exists-level in this process, header/decode in a process pool.

    Use as a context manager (the pool is started on first need and shut down on exit).  ``submit``
    returns at once so the caller can keep reading samples while workers check; ``collect`` waits.
    """

    def __init__(self, tier: CheckTier, jobs: int | None = None, cache: MediaCache | None = None) -> None:
        self.tier = tier
        self.jobs = jobs or default_jobs()
        self.cache = cache if cache is not None else MediaCache()
        self.exists = ExistsChecker()
        self._pool: ProcessPoolExecutor | None = None
        self.progress = ProgressCounter("checking media files", unit="files")
        self.checked = 0
        self.bad = 0

    def __enter__(self) -> MediaChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.progress.finish()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(
        self, items: Mapping[str, tuple[str | None, str | None]], tier: CheckTier | None = None
    ) -> Batch:
        """Start checking ``{path: (kind, root)}``; exists-level answers are immediate.

        Every path given is checked: callers look in :attr:`cache` first.
        """
        tier = tier or self.tier
        deep = tier_at_least(tier, CheckTier.HEADER)
        done: dict[str, MediaCheck] = {}
        todo: list[tuple[str, str | None]] = []
        notes: dict[str, tuple[tuple[Reason, str], ...]] = {}
        for path, (kind, root) in items.items():
            if deep and root is None:  # the worker's open() answers the exists questions too
                todo.append((path, kind))
                continue
            exists = self.exists.check(path, root)
            if not exists.ok or not deep:
                done[path] = exists
                self._record(exists)
                continue
            if exists.notes:
                notes[path] = exists.notes
            todo.append((path, kind))
        futures: list[Future[bytes]] = []
        if todo:
            if self.jobs <= 1 or (len(todo) < POOL_THRESHOLD and self._pool is None):
                future: Future[bytes] = Future()
                future.set_result(check_chunk_packed(todo, tier))
                futures.append(future)
            else:
                pool = self._start_pool()
                for start in range(0, len(todo), CHUNK):
                    futures.append(pool.submit(check_chunk_packed, todo[start : start + CHUNK], tier))
        batch = Batch(done, futures)
        batch.exists_notes = notes
        return batch

    def collect(self, batch: Batch) -> dict[str, MediaCheck]:
        """Wait for ``batch``; cache and log its results; ``{path: check}``."""
        results = batch.done
        for check in results.values():
            self.cache.put(check)
        for future in batch.futures:
            for check in _DECODER.decode(future.result()):
                extra = batch.exists_notes.get(check.path)
                if extra:
                    check = msgspec.structs.replace(check, notes=extra + check.notes)
                self.cache.put(check)
                self._record(check)
                results[check.path] = check
        return results

    def check(self, items: Mapping[str, tuple[str | None, str | None]]) -> dict[str, MediaCheck]:
        return self.collect(self.submit(items))

    def _record(self, check: MediaCheck) -> None:
        self.checked += 1
        if not check.ok:
            self.bad += 1
        self.progress.advance()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s: %s", check.tier.value, check.path, check.describe())

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            log.info("starting %d worker processes for %s checks", self.jobs, self.tier.value)
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        return self._pool


def check_media_files(
    paths: Iterable[str],
    tier: CheckTier | str = CheckTier.HEADER,
    jobs: int | None = None,
    kinds: Mapping[str, str] | None = None,
    root: str | None = None,
    cache: MediaCache | None = None,
) -> dict[str, MediaCheck]:
    """Check every unique path once at ``tier``; ``{path: MediaCheck}`` in first-seen order.

    ``kinds`` maps a path to ``image``/``video``/``audio`` (default: guessed from the extension);
    ``root`` is the dataset folder symlinks should stay inside; ``cache`` carries results between calls
    of one run (a hit needs the same size and mtime).
    """
    tier = CheckTier(tier)
    order = list(dict.fromkeys(paths))
    if tier is CheckTier.NONE:
        return {path: MediaCheck(path, tier) for path in order}
    if tier is CheckTier.EXISTS:
        return _exists_many(order, root)
    cache = cache if cache is not None else MediaCache()
    results: dict[str, MediaCheck] = {}
    pending: dict[str, tuple[str | None, str | None]] = {}
    for path in order:
        hit = cache.get(path, tier)
        if hit is not None:
            results[path] = hit
        else:
            pending[path] = (kinds.get(path) if kinds is not None else None, root)
    with MediaChecker(tier, jobs, cache) as checker:
        checker.progress.total = len(pending)
        results.update(checker.check(pending))
    return {path: results[path] for path in order}


def _exists_many(paths: list[str], root: str | None) -> dict[str, MediaCheck]:
    """Tier ``exists`` for many paths, in this process: one listing per folder, no per-file syscall."""
    check = ExistsChecker().check
    results: dict[str, MediaCheck] = {}
    debug = log.isEnabledFor(logging.DEBUG)
    with ProgressCounter("checking media files", len(paths), "files") as progress:
        for start in range(0, len(paths), 8192):
            for path in paths[start : start + 8192]:
                result = results[path] = check(path, root)
                if debug:
                    log.debug("exists %s: %s", path, result.describe())
            progress.advance(min(8192, len(paths) - start))
    bad = sum(1 for result in results.values() if not result.ok)
    log.info("media: %d file(s) checked at tier exists, %d bad", len(results), bad)
    return results


_VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".flv", ".wmv", ".m4v", ".mpeg", ".mpg"}
_AUDIO_EXTENSIONS = {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".wma"}


def guess_kind(path: str) -> str:
    """``video``/``audio`` by extension, else ``image``."""
    ext = os.path.splitext(path)[1].lower()
    if ext in _VIDEO_EXTENSIONS:
        return "video"
    if ext in _AUDIO_EXTENSIONS:
        return "audio"
    return "image"


def iter_problems(checks: Iterable[MediaCheck]) -> Iterator[tuple[str, str, str]]:
    """``(path, reason, message)`` for every bad file, the rows of a quarantine list."""
    for check in checks:
        if check.problem is not None:
            yield check.path, check.problem.value, check.message or ""


def write_quarantine(path: str, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write the bad-media list as TSV (``path``, ``reason``, ``message``), atomically; rows written."""
    from mmconvert.io import atomic_output

    count = 0
    with atomic_output(path) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(out, dialect="excel-tab", lineterminator="\n")
        writer.writerow(["path", "reason", "message"])
        for row in rows:
            writer.writerow(row)
            count += 1
        out.flush()
        out.detach()
    return count
