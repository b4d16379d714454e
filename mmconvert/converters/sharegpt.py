"""ShareGPT importer: ``conversations`` (or ``messages``) lists of ``from``/``value`` (or
``role``/``content``) messages into the common model.

Roles ``human``/``user``, ``gpt``/``assistant``, ``system``, ``observation``/``tool`` and
``function_call``; record fields ``system``, ``tools`` (list or JSON text), ``images``/``videos``/
``audios`` (LLaVA's ``image`` and LLaVA-Video's ``video`` too), preference answers
``chosen``/``rejected`` (message objects, or plain strings, which are taken as assistant answers) and
KTO labels ``kto_tag``/``label``.  A leading
system message becomes the system prompt, as LF does.  Media paths are relative to ``--media-dir``
(default: the input file's folder).  JSON arrays and JSON Lines are read record by record.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from mmconvert.converters.chat import (
    MEDIA_COLUMNS,
    Draft,
    check_content,
    read_media_column,
    read_system_field,
    read_tools,
    role_of,
    stream_samples,
    take_system,
)
from mmconvert.converters.records import RecordFile, iter_objects, split_records
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.model import MEDIA_KINDS, Dataset, MediaKind, Role, Turn
from mmconvert.options import ChatOptions
from mmconvert.roles import SOURCE_ROLES

MESSAGE_KEYS = ("conversations", "messages")
_MEDIA_KEYS = tuple((MEDIA_COLUMNS[kind], kind) for kind in MEDIA_KINDS)
_SYSTEM = Role.SYSTEM
NUMBERED_TAG_BYTES = re.compile(rb"<image[ _]\d+>")


_PART_TYPE = re.compile(rb'"type"\s*:\s*"(image|video|audio|input_audio)')
_KIND_KEYS = {
    MediaKind.IMAGE: ("images", "image"),
    MediaKind.VIDEO: ("videos", "video"),
    MediaKind.AUDIO: ("audios",),
}
_PROBE = 100


def media_kinds_in(files: Sequence[RecordFile]) -> frozenset[MediaKind]:
    """Media kinds the files attach, from the first records' keys, content-part types and inline
    ``<img>`` tags, so the exporter can declare their columns up front (later ones are still added)."""
    kinds: set[MediaKind] = set()
    for split in files:
        for _, value in iter_objects(split.records, _PROBE):
            if isinstance(value, dict):
                kinds.update(k for k, keys in _KIND_KEYS.items() if any(key in value for key in keys))
        for match in _PART_TYPE.finditer(split.data[:1_000_000]):
            name = match.group(1)
            kinds.add(MediaKind.AUDIO if name == b"input_audio" else MediaKind(name.decode()))
        if b"<img>" in split.data or NUMBERED_TAG_BYTES.search(split.data[:1_000_000]):
            kinds.add(MediaKind.IMAGE)
    return frozenset(kinds)


def _first_record(split: RecordFile) -> dict[str, Any]:
    import msgspec

    for record in split.records[:1]:
        try:
            value = msgspec.json.decode(record.raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def read(paths: Sequence[str], options: ChatOptions, findings: Findings, name: str) -> Dataset:
    return read_conversations(paths, options, findings, name, "ShareGPT")


def read_conversations(
    paths: Sequence[str], options: ChatOptions, findings: Findings, name: str, flavour: str
) -> Dataset:
    """Split every file up front (so unreadable input fails before any work), convert lazily."""
    splits = [split_records(path, findings) for path in paths]
    first = _first_record(splits[0]) if splits else {}
    ranking = "chosen" in first or "rejected" in first
    kto = isinstance(first.get("kto_tag", first.get("label")), bool)

    return Dataset(
        name=name,
        samples=stream_samples(
            splits,
            options,
            findings,
            name,
            lambda draft, record, base: _convert_record(draft, record, base, ranking, kto),
        ),
        source_files=tuple(paths),
        media_kinds=media_kinds_in(splits),
        ranking=ranking,
        kto=kto,
        description=f"{flavour} conversations from {', '.join(paths)}",
    )


@functools.cache
def _content_paths(key: str, content_key: str) -> tuple[str, ...]:
    """``.conversations[i].value`` for the first 64 ``i``: shared strings instead of one per turn."""
    return tuple(f".{key}[{i}].{content_key}" for i in range(64))


def _convert_record(
    draft: Draft, record: dict[str, Any], base: str, ranking: bool, kto: bool | None = None
) -> None:
    """One record into ``draft``; ``kto=None`` accepts KTO labels without requiring them."""
    key = next((k for k in MESSAGE_KEYS if k in record), None)
    if key is None:
        draft.error(
            "conversation-missing",
            "the record has no `conversations` (or `messages`) list",
            "give each record a `conversations` list of {from, value} messages",
        )
        return
    messages = record[key]
    if not isinstance(messages, list):
        draft.error(
            "conversation-type",
            f"`{key}` is a {type(messages).__name__}, not a list of messages",
            "make it a list of {from, value} objects",
            f".{key}",
        )
        return
    if "system" in record:
        read_system_field(draft, record)
    turns, paths = draft.turns, draft.turn_paths
    for i, message in enumerate(messages):
        if type(message) is not dict:
            draft.error(
                "message-not-object",
                "the message is not an object",
                "use {from, value} objects",
                f".{key}[{i}]",
            )
            continue
        # Fast path: a known role and string content (the common case) costs two lookups.
        role_key = "from" if "from" in message else "role"
        content_key = "value" if "value" in message else "content"
        raw_role = message.get(role_key)
        role = SOURCE_ROLES.get(raw_role) if type(raw_role) is str else None
        content = message.get(content_key)
        if role is None or type(content) is not str:
            sub = f".{key}[{i}]"
            if role is None:
                role_of(draft, raw_role, messages, f"{sub}.{role_key}")
            if type(content) is not str:
                check_content(draft, message, content_key, sub)
            continue
        if role is _SYSTEM and i == 0:
            take_system(draft, content, record, f".{key}[{i}].{content_key}")
            continue
        turns.append(Turn(role, content))
        table = _content_paths(key, content_key)
        paths.append(table[i] if i < len(table) else f".{key}[{i}].{content_key}")
    if "tools" in record:
        read_tools(draft, record)
    for column, kind in _MEDIA_KEYS:
        if column in record:
            read_media_column(draft, record, kind, column, base)
    if "image" in record:
        if "images" not in record:
            read_media_column(draft, record, MediaKind.IMAGE, "image", base)
        elif record["image"] is not None:
            draft.error(
                "media-ambiguous",
                "the record has both `image` (LLaVA) and `images`; mmconvert cannot tell which one holds "
                "the images",
                "keep one of the two fields",
                ".image",
            )
    if "video" in record and "videos" not in record:
        _read_llava_video(draft, record, base)
    if record.get("rejected_response") is not None and kto is not None:
        draft.error(
            "field-unsupported",
            "the record has ms-swift's `rejected_response`, which the sharegpt importer does not read",
            "convert with --from swift",
            ".rejected_response",
        )
    if ranking:
        draft.chosen = _answer(draft, record, "chosen")
        draft.rejected = _answer(draft, record, "rejected")
    elif "chosen" in record or "rejected" in record:
        draft.error(
            "preference-mixed",
            "the record has chosen/rejected answers but the file's first record has none",
            "keep preference and SFT records in separate files",
        )
    for label_key in ("kto_tag", "label"):
        if label_key in record:
            label = record[label_key]
            if isinstance(label, bool):
                draft.kto_label = label
            else:
                draft.error(
                    "kto-tag-type",
                    f"the KTO label `{label_key}` is {label!r}, not true/false; LF drops the sample",
                    "use JSON true or false",
                    f".{label_key}",
                )
            break
    if kto and draft.kto_label is None and not draft.errors:
        draft.error(
            "kto-label-missing",
            "KTO data (the file's first record has a true/false label) but this record has no label; "
            "LF drops it in KTO training",
            "give every record a `label` (or `kto_tag`) of true or false",
        )
    elif kto is False and draft.kto_label is not None:
        draft.error(
            "kto-mixed",
            "the record has a KTO label but the file's first record has none",
            "keep KTO and SFT records in separate files",
        )


def _read_llava_video(draft: Draft, record: dict[str, Any], base: str) -> None:
    """LLaVA-Video's ``video`` field.  Its data marks the video with ``<image>``; when a record has no
    images and exactly one such tag per video, the tags become ``<video>`` (else LF would count images)."""
    read_media_column(draft, record, MediaKind.VIDEO, "video", base)
    videos = len(draft.media[MediaKind.VIDEO])
    if not videos or draft.media[MediaKind.IMAGE]:
        return
    users = [i for i, t in enumerate(draft.turns) if t.role is Role.USER]
    if sum(draft.turns[i].content.count("<image>") for i in users) != videos:
        return
    for i in users:
        text = draft.turns[i].content
        if "<image>" in text:
            draft.turns[i] = Turn(Role.USER, text.replace("<image>", "<video>"))
    draft.notes.append(
        Finding.at(
            draft.source,
            "video-tag-converted",
            Severity.INFO,
            "LLaVA-Video marks its video with <image>; converted to <video>",
            dataset=draft.dataset,
        )
    )


def _answer(draft: Draft, record: dict[str, Any], key: str) -> Turn | None:
    value = record.get(key)
    if isinstance(value, str):
        return Turn(Role.ASSISTANT, value)
    if isinstance(value, dict):
        role_key = "from" if "from" in value else "role"
        content_key = "value" if "value" in value else "content"
        role = role_of(draft, value.get(role_key), [value], f".{key}.{role_key}")
        content = check_content(draft, value, content_key, f".{key}")
        if role is None or content is None:
            return None
        return Turn(role, content)
    draft.error(
        "preference-answer-missing",
        f"preference record without a `{key}` answer (got {type(value).__name__})",
        "give both chosen and rejected as {from: gpt, value: ...} objects",
        f".{key}",
    )
    return None
