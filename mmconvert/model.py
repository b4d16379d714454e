"""The common model every importer produces and every exporter consumes.

Plain frozen data, no file formats: a :class:`Dataset` is a stream of :class:`Sample` objects, each with
its :class:`Turn` list, attached :class:`Media` and a :class:`SourceRef` naming where it came from, so
that every finding about it can point back to the input.  Role values are LLaMA-Factory's sharegpt role
names, which is the vocabulary the LF exporter writes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec


class Role(enum.StrEnum):
    """Who speaks a turn.  Values are the role names the LF exporter writes (see its ``tags``)."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    FUNCTION = "function_call"
    OBSERVATION = "observation"


class MediaKind(enum.StrEnum):
    """The three media kinds LLaMA-Factory attaches to a sample, by their column name minus the s."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


MEDIA_KINDS: tuple[MediaKind, ...] = (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO)


class Media(msgspec.Struct, frozen=True, gc=False):
    """One attached media item.

    ``path`` is the path exactly as the source gave it; ``base`` the folder it is relative to (the
    images folder of a COCO file, a chat file's ``--media-dir``; an absolute path must lie inside it
    unless outside paths are allowed), or ``None`` for a URL or when no folder applies.  ``resolved``
    is filled by the path pass with the absolute file path.  ``width``/``height`` are the sizes the
    source claims (COCO ``images`` entries), for header checks.  ``origin`` is where the
    path came from: ``file:$.images[3].file_name``.
    """

    kind: MediaKind
    path: str
    base: str | None = None
    origin: str | None = None
    resolved: str | None = None
    width: int | None = None
    height: int | None = None


class Turn(msgspec.Struct, frozen=True, gc=False):
    """One message.  The field names double as LF's sharegpt ``role``/``content`` tags."""

    role: Role
    content: str


class SourceRef(msgspec.Struct, frozen=True, gc=False):
    """Where a sample came from: file, record index in that file, JSON path of the record, source ids.

    ``turn_paths`` optionally maps each turn to the JSON sub-path of its text in the source record, so
    findings about a turn point at the source (``None`` for generated text such as a COCO prompt).
    """

    file: str
    index: int
    path: str
    ids: tuple[tuple[str, int | str], ...] = ()
    turn_paths: tuple[str | None, ...] = ()

    def turn_path(self, i: int) -> str:
        """JSON sub-path of turn ``i``'s text in the source (``.conversations[2].value``), if known."""
        if i < len(self.turn_paths) and self.turn_paths[i] is not None:
            return self.turn_paths[i]  # type: ignore[return-value]
        return f".turns[{i}]"

    def describe(self) -> str:
        """``file:$.annotations[3] (annotation_id=7, image_id=0)``: the form findings print."""
        ids = ", ".join(f"{k}={v}" for k, v in self.ids)
        return f"{self.file}:{self.path}" + (f" ({ids})" if ids else "")


class Sample(msgspec.Struct, frozen=True, gc=False):
    """One training example.

    ``turns`` holds the conversation without the system prompt (``system``).  For preference data the
    conversation ends on a user turn and ``chosen``/``rejected`` hold the two answers; for KTO,
    ``kto_label`` says whether the last assistant turn is desirable.  ``tools`` is the JSON text of the
    tool schemas, as LF wants it.
    """

    turns: tuple[Turn, ...]
    source: SourceRef
    images: tuple[Media, ...] = ()
    videos: tuple[Media, ...] = ()
    audios: tuple[Media, ...] = ()
    system: str | None = None
    tools: str | None = None
    chosen: Turn | None = None
    rejected: Turn | None = None
    kto_label: bool | None = None

    def media(self, kind: MediaKind) -> tuple[Media, ...]:
        """The attached media of one kind."""
        if kind is MediaKind.IMAGE:
            return self.images
        if kind is MediaKind.VIDEO:
            return self.videos
        return self.audios

    @property
    def is_preference(self) -> bool:
        return self.chosen is not None or self.rejected is not None

    @property
    def is_bare(self) -> bool:
        """Only turns and images: no videos, audios, system prompt, tools, preference answers or KTO
        label (the shape of COCO captions and most SFT data, which the hot paths special-case)."""
        return (
            not self.videos
            and not self.audios
            and self.system is None
            and self.tools is None
            and self.chosen is None
            and self.rejected is None
            and self.kto_label is None
        )


@dataclass(frozen=True)
class Part:
    """One slice of a dataset's samples (see :attr:`Dataset.parts`).  ``ids``, once ``samples`` is
    consumed, holds what the slice saw that must be unique across slices (e.g. COCO annotation ids),
    with ``overlaps(other) -> bool``; or ``None``."""

    samples: Iterable[Sample]
    ids: Any = None


@dataclass(frozen=True)
class Dataset:
    """A named stream of samples read from one or more source files.

    ``samples`` is consumed once (importers stream); ``media_kinds`` lists the kinds the importer knows
    will be attached, so exporters can declare columns before they have seen every sample.
    ``ranking`` marks preference data and ``kto`` KTO data, which LF needs declared in the entry.
    ``notes`` are decisions the importer made that the user should see (e.g. the images folder it chose).
    """

    name: str
    samples: Iterable[Sample]
    source_files: tuple[str, ...] = ()
    media_kinds: frozenset[MediaKind] = field(default_factory=frozenset)
    ranking: bool = False
    kto: bool = False
    description: str = ""
    notes: tuple[str, ...] = ()
    #: ``parts(k, n)``: the k-th of n slices of ``samples`` (a :class:`Part`), for
    #: importers that can cut their input so that it is converted in several processes; else ``None``.
    parts: Callable[[int, int], Part] | None = None
    #: How many samples ``samples`` will yield at most, when the importer knows it up front.
    size: int | None = None
