"""Building blocks shared by the chat importers (ShareGPT, LLaVA, OpenAI): media lists, role/content
checks on source messages, inline-tag conversion, and assembling a :class:`~mmconvert.model.Sample`
or naming why a record could not become one.

Problems the model cannot hold (unknown roles, non-string content, a media entry that is not a path)
are findings here; order problems are left to :func:`mmconvert.roles.check_conversation`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mmconvert.converters.records import RawRecord, RecordFile, record_problem, split_records
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.inline_tags import convert_inline, rewrite_default_tags
from mmconvert.io import DECODE_FAILURES
from mmconvert.model import MEDIA_KINDS, Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import ChatOptions, PlaceholderTokens
from mmconvert.roles import SOURCE_ROLES, content_finding, messages_repr, unknown_role_finding

MEDIA_COLUMNS = {MediaKind.IMAGE: "images", MediaKind.VIDEO: "videos", MediaKind.AUDIO: "audios"}
_URL_PREFIXES = ("http://", "https://", "ftp://", "s3://", "gs://", "data:")
_DATA_URI_KEEP = 48
_decoder = msgspec.json.Decoder()


def media_base(options: ChatOptions, input_path: str) -> str:
    """The folder relative media paths are resolved against: ``--media-dir`` or the input's folder."""
    if options.media_dir is not None:
        return os.path.abspath(options.media_dir)
    return os.path.dirname(os.path.abspath(input_path))


def make_media(kind: MediaKind, path: str, base: str, origin: str | None = None) -> Media:
    """A media item; URLs get no base (a long ``data:`` URI is shortened).  Absolute paths keep the
    base, so the path pass can say when they lie outside it (``--allow-outside-paths`` permits)."""
    if path.startswith("data:") and len(path) > _DATA_URI_KEEP:
        path = path[:_DATA_URI_KEEP] + "…"
    if path.startswith(_URL_PREFIXES):
        return Media(kind, path, None, origin)
    return Media(kind, path, base, origin)


@dataclass
class Draft:
    """A sample being assembled from one source record; ``errors`` non-empty means it is not built."""

    source: SourceRef
    dataset: str | None
    turns: list[Turn] = field(default_factory=list)
    turn_paths: list[str | None] = field(default_factory=list)
    system: str | None = None
    tools: str | None = None
    media: dict[MediaKind, list[Media]] = field(default_factory=lambda: {k: [] for k in MEDIA_KINDS})
    chosen: Turn | None = None
    rejected: Turn | None = None
    kto_label: bool | None = None
    errors: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)

    def error(self, code: str, message: str, hint: str, subpath: str = "") -> None:
        self.errors.append(
            Finding.at(
                self.source, code, Severity.ERROR, message, hint=hint, subpath=subpath, dataset=self.dataset
            )
        )

    def warn(self, code: str, message: str, hint: str | None = None, subpath: str = "") -> None:
        self.notes.append(
            Finding.at(
                self.source, code, Severity.WARNING, message, hint=hint, subpath=subpath, dataset=self.dataset
            )
        )

    def add_turn(self, role: Role, content: str, path: str | None) -> None:
        self.turns.append(Turn(role, content))
        self.turn_paths.append(path)


def iter_dict_records(
    path: str, findings: Findings, dataset: str | None, records: RecordFile | None = None
) -> Iterator[tuple[RawRecord, SourceRef, dict[str, Any]]]:
    """Decode each record of ``path``; a record that is not a JSON object is a finding."""
    split = records if records is not None else split_records(path, findings)
    for record in split.records:
        ids: tuple[tuple[str, int | str], ...] = (("line", record.line),) if record.line is not None else ()
        source = SourceRef(path, record.index, record.path, ids)
        try:
            value = _decoder.decode(record.raw)
        except DECODE_FAILURES as exc:  # invalid UTF-8 in a string, absurd nesting
            findings.skip(
                Finding.at(
                    source,
                    "record-invalid",
                    Severity.ERROR,
                    f"the record cannot be decoded: {record_problem(split, record, exc)}",
                    hint="fix the record's text (UTF-8, valid JSON)",
                    dataset=dataset,
                )
            )
            continue
        if not isinstance(value, dict):
            findings.skip(
                Finding.at(
                    source,
                    "record-not-object",
                    Severity.ERROR,
                    f"the record is a JSON {type(value).__name__ if value is not None else 'null'}, "
                    "not an object",
                    hint="each record must be a JSON object",
                    dataset=dataset,
                )
            )
            continue
        record_id = value.get("id")
        if isinstance(record_id, (str, int)) and not isinstance(record_id, bool):
            source = SourceRef(path, record.index, record.path, (("id", record_id), *ids))
        yield record, source, value


def read_media_column(draft: Draft, record: dict[str, Any], kind: MediaKind, key: str, base: str) -> None:
    """Append the media of column ``key`` (LF's rule: null/[] none, a string is one item, a list)."""
    value = record.get(key)
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    for j, item in enumerate(items):
        sub = f".{key}[{j}]" if isinstance(value, list) else f".{key}"
        if isinstance(item, str):
            origin = None if key == MEDIA_COLUMNS[kind] else sub
            draft.media[kind].append(make_media(kind, item, base, origin))
        else:
            shown = json.dumps(item, ensure_ascii=False)[:80]
            draft.error(
                "media-not-path",
                f"the {kind} entry {shown} is not a path string",
                "list media as path strings (relative to --media-dir, or absolute)",
                sub,
            )


def read_tools(draft: Draft, record: dict[str, Any], key: str = "tools") -> None:
    """``tools`` as LF wants it: JSON text.  A native list/object is serialised; empty means none."""
    value = record.get(key)
    if value is None or value == "" or value == [] or value == {}:
        return
    if not isinstance(value, (str, list, dict)):
        draft.error(
            "tools-type",
            f"`{key}` is a {type(value).__name__}; expected the list of function schemas",
            "give `tools` as a JSON list (or its JSON text)",
            f".{key}",
        )
        return
    parsed: Any = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            draft.error(
                "tools-invalid",
                f"Invalid JSON format in tool description: {value[:80]!r} (LF cannot format the tools)",
                "give `tools` as a JSON list of function schemas",
                f".{key}",
            )
            return
    keep_text = isinstance(value, str) and isinstance(parsed, list)
    if isinstance(parsed, dict):
        parsed = [parsed]  # one function schema: LF iterates a list of them
    if not isinstance(parsed, list) or not all(isinstance(tool, dict) for tool in parsed):
        draft.error(
            "tools-invalid",
            f"`{key}` must be a list of function schemas (objects); LF fails on {str(parsed)[:80]}",
            "give `tools` as a JSON list of function schemas",
            f".{key}",
        )
        return
    if parsed:
        draft.tools = (
            value if keep_text and isinstance(value, str) else json.dumps(parsed, ensure_ascii=False)
        )


def role_of(draft: Draft, raw_role: object, messages: list[Any], subpath: str) -> Role | None:
    role = SOURCE_ROLES.get(raw_role) if isinstance(raw_role, str) else None
    if role is None:
        draft.errors.append(
            unknown_role_finding(draft.source, raw_role, subpath, _show(messages), draft.dataset)
        )
    return role


def _show(messages: list[Any]) -> str:
    return messages_repr([m for m in messages if isinstance(m, dict)])


def check_content(draft: Draft, message: dict[str, Any], key: str, subpath: str) -> str | None:
    if key not in message:
        draft.errors.append(content_finding(draft.source, None, subpath, missing=True, dataset=draft.dataset))
        return None
    value = message[key]
    if not isinstance(value, str):
        draft.errors.append(content_finding(draft.source, value, f"{subpath}.{key}", dataset=draft.dataset))
        return None
    return value


def take_system(draft: Draft, content: str, record: dict[str, Any], subpath: str) -> None:
    """A leading system message becomes the system prompt; like LF, it overrides a ``system`` field."""
    field_value = record.get("system")
    if isinstance(field_value, str) and field_value and field_value != content:
        draft.warn(
            "system-overridden",
            "the first message is a system prompt and the record also has a different `system` field; "
            "the system message wins (as in LF)",
            "keep one system prompt",
            subpath,
        )
    draft.system = content


def read_system_field(draft: Draft, record: dict[str, Any]) -> None:
    value = record.get("system")
    if value is None:
        return
    if isinstance(value, str):
        draft.system = value
    else:
        draft.error(
            "system-type", f"`system` is a {type(value).__name__}, not text", "make it a string", ".system"
        )


_DEFAULT_TOKENS = PlaceholderTokens()
_USER = Role.USER


def _may_have_inline_tags(turns: list[Turn], custom_tokens: bool) -> bool:
    """Cheap test whether :func:`finish` has any tag to convert (most samples have none)."""
    for turn in turns:
        if turn.role is _USER and "<" in turn.content:
            text = turn.content
            if custom_tokens or "<img>" in text or "<image_" in text or "<image " in text:
                return True
    return False


def finish(draft: Draft, findings: Findings, options: ChatOptions) -> Sample | None:
    """Convert inline tags, then build the sample, or record why it cannot be built."""
    tokens = options.tokens
    needs_inline = not draft.errors and _may_have_inline_tags(draft.turns, tokens != _DEFAULT_TOKENS)
    user_idx = [i for i, t in enumerate(draft.turns) if t.role is Role.USER] if needs_inline else []
    if user_idx:
        texts = [rewrite_default_tags(draft.turns[i].content, tokens) for i in user_idx]
        images = draft.media[MediaKind.IMAGE]
        result = convert_inline(texts, len(images), tokens)
        for problem in result.problems:
            draft.error(
                "inline-tags", problem, "make each tag name exactly one attached image, in one convention"
            )
        if not result.problems:
            for i, text in zip(user_idx, result.texts, strict=True):
                if text != draft.turns[i].content:
                    draft.turns[i] = Turn(Role.USER, text)
            if result.inline_images:
                base = options.media_dir or os.path.dirname(os.path.abspath(draft.source.file))
                for path in result.inline_images:
                    images.append(
                        make_media(MediaKind.IMAGE, path, os.path.abspath(base), "inline <img> tag")
                    )
            if result.image_order is not None:
                draft.media[MediaKind.IMAGE] = [images[k] for k in result.image_order]
            for what in result.converted:
                findings.add(
                    Finding.at(
                        draft.source, "inline-tags-converted", Severity.INFO, what, dataset=draft.dataset
                    )
                )
    if draft.errors:
        findings.skip(draft.errors[0])
        findings.extend(draft.errors[1:])
        findings.extend(draft.notes)
        return None
    findings.extend(draft.notes)
    source = draft.source
    if any(p is not None for p in draft.turn_paths):
        source = msgspec.structs.replace(source, turn_paths=tuple(draft.turn_paths))
    return Sample(
        turns=tuple(draft.turns),
        source=source,
        images=tuple(draft.media[MediaKind.IMAGE]),
        videos=tuple(draft.media[MediaKind.VIDEO]),
        audios=tuple(draft.media[MediaKind.AUDIO]),
        system=draft.system,
        tools=draft.tools,
        chosen=draft.chosen,
        rejected=draft.rejected,
        kto_label=draft.kto_label,
    )


def stream_samples(
    splits: Sequence[RecordFile],
    options: ChatOptions,
    findings: Findings,
    name: str,
    convert: Callable[[Draft, dict[str, Any], str], None],
) -> Iterator[Sample]:
    """Every object record of ``splits`` through ``convert(draft, record, media_base)`` and
    :func:`finish`, lazily: the shared loop of the chat importers."""
    for split in splits:
        base = media_base(options, split.path)
        for _, source, record in iter_dict_records(split.path, findings, name or None, split):
            draft = Draft(source, name or None)
            convert(draft, record, base)
            sample = finish(draft, findings, options)
            if sample is not None:
                yield sample
