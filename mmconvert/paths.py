"""Media paths: LF 0.9.5's resolution rule, the paths the exporter writes, and escape checks.

LF joins ``media_dir`` (default: ``dataset_dir``) with a media path and uses the join only if that is
an existing file; otherwise it keeps the path as written, relative to the training process's working
directory.  mmconvert therefore writes paths relative to the output folder (``dataset_dir``) so the
join always hits, or absolute paths on request.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Callable

import msgspec

from mmconvert.findings import Finding, Severity
from mmconvert.model import Media, SourceRef

_URL_PREFIXES = ("http://", "https://", "ftp://", "s3://", "gs://", "data:")


def path_problem(path: str) -> str | None:
    """Why ``path`` can never be opened as a local media file by LF, or ``None``."""
    if not path:
        return "the media path is empty"
    if "\x00" in path:
        return "the media path contains a NUL character"
    if path.startswith(_URL_PREFIXES):
        return "URLs and data: URIs are not supported by LLaMA-Factory (it opens local files only)"
    return None


def resolve_media_path(
    media: Media,
    source: SourceRef,
    allow_outside: bool,
    is_symlink: Callable[[str], bool] | None = None,
) -> tuple[Media, Finding | None]:
    """Fill ``media.resolved`` with an absolute, normalised path; a finding when it cannot be used.

    ``is_symlink`` answers whether a path is a symlink; pass the run's folder listings
    (:meth:`mmconvert.media.DirectoryIndex.is_link`) so each folder is listed once per run.
    """
    problem = path_problem(media.path)
    if problem is not None:
        return media, _finding(source, media, "media-bad-path", problem, "fix or drop this media entry")
    if os.path.isabs(media.path) or media.base is None:
        resolved = os.path.normpath(os.path.abspath(media.path))
        outside = media.base is not None and not _inside(resolved, media.base)
    elif _is_normal_absolute(media.base) and _is_plain(media.path):
        # "a/b.jpg" under a normalised folder: the join is already normal and inside (normpath is slow)
        resolved = media.base + os.sep + media.path if media.base != os.sep else os.sep + media.path
        outside = False
    else:
        resolved = os.path.normpath(os.path.join(media.base, media.path))
        outside = not _inside(resolved, media.base)
    finding = None
    if outside and not allow_outside:
        finding = _finding(
            source,
            media,
            "media-outside",
            f"the media path {media.path!r} points outside its folder {media.base}",
            "fix the path, or pass --allow-outside-paths if this is intended",
        )
    elif not allow_outside and media.base is not None and _symlink_escapes(resolved, media.base, is_symlink):
        finding = _finding(
            source,
            media,
            "media-outside",
            f"the media path {media.path!r} is a symlink (or lies in a symlinked folder) that leads "
            f"outside its folder {media.base}",
            "copy the file into the folder, or pass --allow-outside-paths if this is intended",
        )
    return msgspec.structs.replace(media, resolved=resolved), finding


def split_path(path: str) -> tuple[str, str]:
    """``os.path.split(path)``, several times faster for the usual ``/folder/name``."""
    i = path.rfind(os.sep)
    if i <= 0 or path[i - 1] == os.sep or (os.altsep and os.altsep in path):
        return os.path.split(path)
    return path[:i], path[i + 1 :]


def _inside(path: str, base: str) -> bool:
    base = _normal_folder(base)
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _normal_folder(folder: str) -> str:
    """``folder`` absolute and normalised (cached for absolute folders: relative ones follow the cwd)."""
    return _normal_absolute(folder) if os.path.isabs(folder) else os.path.normpath(os.path.abspath(folder))


@functools.lru_cache(maxsize=4096)
def _normal_absolute(folder: str) -> str:
    return os.path.normpath(folder)


def _is_plain(path: str) -> bool:
    """A relative path that ``normpath`` leaves alone: no empty, ``.`` or ``..`` parts (POSIX)."""
    if os.sep != "/" or path.startswith("/") or (os.altsep and os.altsep in path):
        return False
    parts = path.split("/")
    return "" not in parts and "." not in parts and ".." not in parts


def _symlink_escapes(resolved: str, base: str, is_symlink: Callable[[str], bool] | None = None) -> bool:
    """Whether following symlinks takes ``resolved`` (inside ``base`` by its text) out of ``base``.

    Costs one cached ``realpath`` per folder and one cached listing per folder, not a syscall per file.
    """
    folder, name = split_path(resolved)
    if _folder_escapes(folder, base):
        return True
    real_base = _real_folder(base)
    linked = is_symlink(resolved) if is_symlink is not None else name in _symlinked_names(folder)
    if linked:
        return not _inside(os.path.realpath(resolved), real_base)
    return False


@functools.lru_cache(maxsize=4096)
def _folder_escapes(folder: str, base: str) -> bool:
    """Whether ``folder``, followed through symlinks, lies outside ``base`` followed through symlinks."""
    return not _inside(_real_folder(folder), _real_folder(base))


@functools.lru_cache(maxsize=4096)
def _is_normal_absolute(folder: str) -> bool:
    """``folder`` is absolute and already normalised (so joining a plain relative path keeps it so)."""
    return os.path.isabs(folder) and folder == os.path.normpath(folder)


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


@functools.lru_cache(maxsize=4096)
def _symlinked_names(folder: str) -> frozenset[str]:
    """Names in ``folder`` that are symlinks (one ``scandir``; unreadable folders count as none)."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_symlink())
    except OSError:
        return frozenset()


def forget_folder_cache() -> None:
    """Drop the cached folder facts (call at the start of a run: folders may have changed)."""
    _real_folder.cache_clear()
    _symlinked_names.cache_clear()
    _normal_absolute.cache_clear()
    _folder_escapes.cache_clear()
    _is_normal_absolute.cache_clear()


def _finding(source: SourceRef, media: Media, code: str, message: str, hint: str) -> Finding:
    where = f" ({media.origin})" if media.origin else ""
    return Finding.at(source, code, Severity.ERROR, message + where, hint=hint)


class OutputPaths:
    """Turns resolved media paths into the strings the exporter writes, cached per folder.

    Relative paths are computed once per media folder (``os.path.relpath`` is slow) and joined with the
    file name; the result is remembered per file, so a file used by many samples costs one dict lookup.
    """

    def __init__(self, output_dir: str, absolute: bool) -> None:
        self._output_dir = os.path.abspath(output_dir)
        self._absolute = absolute
        self._dirs: dict[str, str] = {}
        self._written: dict[str, str] = {}  # per resolved file: grows with unique media, not samples

    def for_media(self, media: Media) -> str:
        resolved = media.resolved
        if resolved is None:  # not resolved (e.g. a URL kept verbatim): write as given
            return media.path
        if self._absolute:
            return resolved
        written = self._written.get(resolved)
        if written is None:
            folder, name = split_path(resolved)
            rel = self._dirs.get(folder)
            if rel is None:
                rel = os.path.relpath(folder, self._output_dir).replace(os.sep, "/")
                self._dirs[folder] = rel
            written = name if rel == "." else posixpath.join(rel, name)
            self._written[resolved] = written
        return written
