"""Alpaca-style importer: ``instruction``/``input``/``output``/``system``/``history`` records (JSON array
or JSON Lines) into the common model, including preference (``chosen``/``rejected``) and KTO data.

The model follows LLaMA-Factory 0.9.5's ``AlpacaDatasetConverter`` exactly: each ``history`` item
``[question, answer]`` becomes an earlier user/assistant pair; the current user message is the non-empty
values of ``instruction`` and ``input`` joined with ``"\\n"``; ``output`` is the answer.  Preference rows
keep the prompt turns and put the two answers in ``Sample.chosen``/``rejected``; KTO rows (``kto_tag``,
or a boolean ``label``) keep the answer as the last turn and set ``Sample.kto_label``.  Media come from
``images``/``videos``/``audios`` (string or list) or LLaVA's single ``image`` string, relative to
``--media-dir`` (default: the input file's folder).  Inline conventions in the user text (``<img>path</img>``,
``<image_N>``) are converted by :mod:`mmconvert.inline_tags`, as for the chat importers.

Where LF would crash on a row or drop it silently (a history item that is not a pair, a non-string
output, no output, ``"true"`` as a KTO label ...), the row becomes an error finding naming the field,
never a silent loss.  Records are decoded one at a time with typed msgspec structs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from mmconvert.converters.records import (
    RawRecord,
    RecordFile,
    RecordSeq,
    iter_objects,
    record_problem,
    split_records,
)
from mmconvert.errors import UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.inline_tags import convert_inline, rewrite_default_tags
from mmconvert.io import DECODE_FAILURES
from mmconvert.jsonerrors import TypeProblem, type_mismatch
from mmconvert.model import Dataset, Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import PlaceholderTokens

_DETECT_LIMIT = 100


class ImportOptions(Protocol):
    """What this importer reads from the chat importers' options object."""

    @property
    def media_dir(self) -> str | None: ...

    @property
    def tokens(self) -> PlaceholderTokens: ...


class _Record(msgspec.Struct, gc=False):
    """One alpaca-style row as LF reads it; the types admit every shape LF accepts, no more."""

    instruction: str | None = None
    input: str | None = None
    output: str | list[str] | None = None
    system: str | None = None
    tools: str | list[Any] | dict[str, Any] | None = None
    history: list[tuple[str, str]] | None = None
    images: str | list[str] | None = None
    videos: str | list[str] | None = None
    audios: str | list[str] | None = None
    image: str | list[str] | None = None
    chosen: Any = None
    rejected: Any = None
    kto_tag: Any = None
    label: Any = None
    id: Any = None


#: What LF 0.9.5 does with a value of the wrong type in each field (the reason the row is refused).
_LF_CONSEQUENCE = {
    "instruction": "LF joins the instruction with the input and stops with a TypeError on a non-string "
    "(a falsy one is silently left out)",
    "input": "LF joins the instruction with the input and stops with a TypeError on a non-string "
    "(a falsy one is silently left out)",
    "output": "LF treats a non-string output as no answer and drops the row (Dropped invalid example)",
    "system": "LF's template stops on a system prompt that is not a string",
    "tools": "LF reads tools as a JSON string of function schemas",
    "history": "LF unpacks every history item into exactly (question, answer): other shapes stop it with "
    "a ValueError, a non-list history is ignored silently",
    "images": "LF opens every media entry as a file path",
    "videos": "LF opens every media entry as a file path",
    "audios": "LF opens every media entry as a file path",
    "image": "LF opens every media entry as a file path",
}
_FIELD_HINT = {
    "history": "write history as a list of [question, answer] string pairs",
    "output": "write the answer as a string",
}
_MEDIA_FIELDS = (("images", MediaKind.IMAGE), ("videos", MediaKind.VIDEO), ("audios", MediaKind.AUDIO))


@dataclass(frozen=True)
class _Mode:
    """Decided once per file from its first records: preference data, KTO data and its label key, and
    the media kinds the records attach (so the exporter can declare their columns up front)."""

    ranking: bool
    kto_key: str | None
    media_kinds: frozenset[MediaKind]
    #: The first records have no alpaca key at all but a chat list (``conversations``/``messages``).
    chat_key: str | None = None


_ALPACA_KEYS = ("instruction", "input", "output")
_CHAT_KEYS = ("conversations", "messages", "conversation")


def _decide_mode(records: RecordSeq) -> _Mode:
    ranking = False
    kto_key: str | None = None
    kinds: set[MediaKind] = set()
    alpaca_seen = False
    chat_key: str | None = None
    for _, obj in iter_objects(records, _DETECT_LIMIT):
        if not isinstance(obj, dict):
            continue
        alpaca_seen = alpaca_seen or any(k in obj for k in _ALPACA_KEYS)
        chat_key = chat_key or next((k for k in _CHAT_KEYS if k in obj), None)
        if "chosen" in obj or "rejected" in obj:
            ranking = True
        if kto_key is None:
            if "kto_tag" in obj:
                kto_key = "kto_tag"
            elif isinstance(obj.get("label"), bool):
                kto_key = "label"
        for key, kind in _MEDIA_FIELDS:
            if obj.get(key):
                kinds.add(kind)
        if obj.get("image") or "<img>" in str(obj.get("instruction")) or "<img>" in str(obj.get("input")):
            kinds.add(MediaKind.IMAGE)
    return _Mode(ranking, kto_key, frozenset(kinds), None if alpaca_seen else chat_key)


class _FileReader:
    """Turns the records of one file into samples, or into one error finding per refused record."""

    def __init__(
        self, split: RecordFile, mode: _Mode, base: str, tokens: PlaceholderTokens, dataset: str | None
    ) -> None:
        self.file = split.path
        self.split = split
        self.mode = mode
        self.base = base
        self.tokens = tokens
        self.dataset = dataset

    def samples(self, findings: Findings) -> Iterator[Sample]:
        decoder = msgspec.json.Decoder(_Record)
        for record in self.split.records:
            try:
                rec = decoder.decode(record.raw)
            except DECODE_FAILURES as exc:  # a wrong type; invalid UTF-8 in a string, absurd nesting
                typed = isinstance(exc, msgspec.ValidationError)
                mismatch = type_mismatch(record.raw, _Record) if typed else None
                if mismatch is not None:
                    findings.skip(self.type_error(record, mismatch))
                    continue
                findings.skip(
                    self.error(
                        record,
                        "record-invalid",
                        f"the record cannot be decoded: {record_problem(self.split, record, exc)}",
                        "fix the record's text (UTF-8, valid JSON)",
                    )
                )
                continue
            built = self.build(record, rec, findings)
            if isinstance(built, Finding):
                findings.skip(built)
                continue
            yield built

    def error(self, record: RawRecord, code: str, message: str, hint: str, field: str = "") -> Finding:
        return Finding(
            code=code,
            severity=Severity.ERROR,
            message=message,
            file=self.file,
            index=record.index,
            path=record.path + field,
            hint=hint,
            ids={"line": record.line} if record.line is not None else None,
            dataset=self.dataset,
        )

    def type_error(self, record: RawRecord, mismatch: TypeProblem) -> Finding:
        """``Expected `str | null`, got `int``` at ``$.output`` -> a finding on that field, with LF's fate."""
        text = mismatch.message
        sub = mismatch.path[1:]
        field = sub[1:].split("[", 1)[0].split(".", 1)[0] if sub.startswith(".") else ""
        consequence = _LF_CONSEQUENCE.get(field)
        message = text + (f": {consequence}" if consequence else "")
        if not sub and text.startswith("Expected `object`"):
            message = f"{text}: every alpaca record must be a JSON object"
        return self.error(
            record,
            f"alpaca-bad-{field}" if field else "alpaca-bad-record",
            message,
            _FIELD_HINT.get(field, "fix the field's type; this record is skipped"),
            sub,
        )

    def media(
        self, record: RawRecord, value: str | list[str] | None, kind: MediaKind, key: str
    ) -> tuple[Media, ...]:
        if value is None:
            return ()
        origin = f"{self.file}:{record.path}.{key}"
        if isinstance(value, str):
            return (Media(kind, value, self.base, origin),)
        return tuple(Media(kind, p, self.base, f"{origin}[{i}]") for i, p in enumerate(value))

    def answer(self, record: RawRecord, value: Any, key: str) -> Turn | Finding:
        if isinstance(value, str):
            return Turn(Role.ASSISTANT, value)
        if value is None:
            return self.error(
                record,
                f"alpaca-missing-{key}",
                f"this preference record has no `{key}` answer; LF drops it (Dropped invalid example)",
                "give every preference record both `chosen` and `rejected` strings",
                f".{key}",
            )
        shape = "a message object" if isinstance(value, dict) else f"a {type(value).__name__}"
        return self.error(
            record,
            f"alpaca-bad-{key}",
            f"`{key}` is {shape}, not a string: in the alpaca layout LF only pairs string answers and "
            "drops this record (Dropped invalid example)",
            f"write `{key}` as the answer text (message objects belong to the sharegpt layout)",
            f".{key}",
        )

    def convert_tags(
        self, record: RawRecord, turns: list[Turn], images: tuple[Media, ...], findings: Findings
    ) -> tuple[Media, ...] | Finding:
        """Rewrite inline tags in the user turns (in place); the images, extended or reordered."""
        user_idx = [i for i, t in enumerate(turns) if t.role is Role.USER]
        texts = [rewrite_default_tags(turns[i].content, self.tokens) for i in user_idx]
        result = convert_inline(texts, len(images), self.tokens)
        if result.problems:
            return self.error(record, "inline-tags", result.problems[0], "use one tag convention per sample")
        for i, text in zip(user_idx, result.texts, strict=True):
            if text != turns[i].content:
                turns[i] = Turn(Role.USER, text)
        if result.inline_images:
            origin = f"{self.file}:{record.path}"
            images += tuple(Media(MediaKind.IMAGE, path, self.base, origin) for path in result.inline_images)
        if result.image_order is not None:
            images = tuple(images[k] for k in result.image_order)
        for what in result.converted:
            findings.add(
                Finding(
                    code="inline-tags-converted",
                    severity=Severity.INFO,
                    message=what,
                    file=self.file,
                    index=record.index,
                    path=record.path,
                    dataset=self.dataset,
                )
            )
        return images

    def build(self, record: RawRecord, rec: _Record, findings: Findings) -> Sample | Finding:
        """The sample LF's alpaca converter would build from ``rec``, or why it cannot be one."""
        turns: list[Turn] = []
        turn_paths: list[str | None] = []
        for k, (question, answer) in enumerate(rec.history or ()):
            turns += (Turn(Role.USER, question), Turn(Role.ASSISTANT, answer))
            turn_paths += (f".history[{k}][0]", f".history[{k}][1]")
        parts = [p for p in (rec.instruction, rec.input) if p]
        turns.append(Turn(Role.USER, "\n".join(parts)))  # LF: "prompt\nquery"
        turn_paths.append(".instruction" if rec.instruction or not rec.input else ".input")

        chosen: Turn | None = None
        rejected: Turn | None = None
        kto_label: bool | None = None
        has_pair = rec.chosen is not None or rec.rejected is not None
        if self.mode.ranking:
            chosen_value, rejected_value = rec.chosen, rec.rejected
            if not has_pair and isinstance(rec.output, list) and len(rec.output) == 2:
                chosen_value, rejected_value = rec.output  # LF <= 0.5 ranking layout: [chosen, rejected]
            for key, value in (("chosen", chosen_value), ("rejected", rejected_value)):
                reply = self.answer(record, value, key)
                if isinstance(reply, Finding):
                    return reply
                if key == "chosen":
                    chosen = reply
                else:
                    rejected = reply
        else:
            if has_pair:
                return self.error(
                    record,
                    "alpaca-mixed-preference",
                    "this record has `chosen`/`rejected` but the file's first records are not preference "
                    "data; LF reads a dataset either as preference data (ranking) or not",
                    "split preference and SFT records into two files",
                )
            if rec.output is None:
                return self.error(
                    record,
                    "alpaca-missing-output",
                    "this record has no `output`: LF treats it as unsupervised and drops it in "
                    "training (Dropped invalid example)",
                    "write the answer in `output`",
                    ".output",
                )
            if not isinstance(rec.output, str):
                return self.error(
                    record,
                    "alpaca-bad-output",
                    "`output` is a list, not a string: LF treats it as no answer and drops the record "
                    "(Dropped invalid example)",
                    "write the answer as a string (a [chosen, rejected] pair needs `chosen`/`rejected`)",
                    ".output",
                )
            turns.append(Turn(Role.ASSISTANT, rec.output))
            turn_paths.append(".output")
            kto_key = self.mode.kto_key
            if kto_key is not None:
                tag = getattr(rec, kto_key)
                if not isinstance(tag, bool):
                    shown = "missing" if tag is None else f"{json.dumps(tag)}, not a JSON boolean"
                    return self.error(
                        record,
                        "alpaca-bad-kto-tag",
                        f"the KTO label `{kto_key}` is {shown}: LF only reads JSON true/false and "
                        "drops this record in KTO training (Dropped invalid example)",
                        f"write `{kto_key}` as true or false",
                        f".{kto_key}",
                    )
                kto_label = tag

        tools = rec.tools
        if tools is not None and not isinstance(tools, str):
            tools = json.dumps(tools, ensure_ascii=False)
        images = self.media(record, rec.images, MediaKind.IMAGE, "images")
        if rec.image is not None:
            if images:
                return self.error(
                    record,
                    "alpaca-image-and-images",
                    "the record has both `image` and `images`; which media belong to it is ambiguous",
                    "keep one of the two keys",
                    ".image",
                )
            images = self.media(record, rec.image, MediaKind.IMAGE, "image")
        if any("<" in t.content for t in turns if t.role is Role.USER):
            converted = self.convert_tags(record, turns, images, findings)
            if isinstance(converted, Finding):
                return converted
            images = converted
        return Sample(
            turns=tuple(turns),
            source=SourceRef(
                self.file, record.index, record.path, _record_ids(record, rec), tuple(turn_paths)
            ),
            images=images,
            videos=self.media(record, rec.videos, MediaKind.VIDEO, "videos"),
            audios=self.media(record, rec.audios, MediaKind.AUDIO, "audios"),
            system=rec.system,
            tools=tools,
            chosen=chosen,
            rejected=rejected,
            kto_label=kto_label,
        )


def _record_ids(record: RawRecord, rec: _Record) -> tuple[tuple[str, int | str], ...]:
    ids: list[tuple[str, int | str]] = []
    if record.line is not None:
        ids.append(("line", record.line))
    if isinstance(rec.id, (str, int)) and not isinstance(rec.id, bool):
        ids.append(("id", rec.id))
    return tuple(ids)


def _samples(readers: list[_FileReader], findings: Findings) -> Iterator[Sample]:
    for reader in readers:
        yield from reader.samples(findings)


def read(paths: Sequence[str], options: ImportOptions | None, findings: Findings, name: str = "") -> Dataset:
    """Read alpaca-style files into a :class:`Dataset`; records are decoded lazily, one at a time.

    All files must agree on preference/KTO mode (decided from each file's first records).
    """
    if not paths:
        raise UsageError("no input file given")
    media_dir = options.media_dir if options is not None else None
    tokens = options.tokens if options is not None else PlaceholderTokens()
    if media_dir is not None and not os.path.isdir(media_dir):
        raise UsageError(f"--media-dir {media_dir}: no such folder")
    readers: list[_FileReader] = []
    for path in paths:
        split = split_records(os.fspath(path), findings)
        mode = _decide_mode(split.records)
        if mode.chat_key is not None:
            raise UsageError(
                f"{path}: the records hold `{mode.chat_key}` lists and no instruction/input/output: "
                "this is chat data, not alpaca",
                hint="use --from sharegpt (or openai, llava, swift), or --from auto",
            )
        base = os.path.abspath(media_dir if media_dir is not None else os.path.dirname(split.path) or ".")
        if readers and (mode.ranking, mode.kto_key is not None) != (
            readers[0].mode.ranking,
            readers[0].mode.kto_key is not None,
        ):
            raise UsageError(
                f"{path} and {readers[0].file} hold different kinds of data (preference, KTO or SFT); "
                "convert them separately"
            )
        readers.append(_FileReader(split, mode, base, tokens, name or None))
    first = readers[0].mode
    kinds = frozenset().union(*(r.mode.media_kinds for r in readers))
    notes: list[str] = []
    if kinds and media_dir is None:
        notes.append(
            "media paths are read relative to the input file's folder; use --media-dir to choose another"
        )
    kind = "preference" if first.ranking else "KTO" if first.kto_key else "SFT"
    files = ", ".join(r.file for r in readers)
    return Dataset(
        name=name,
        samples=_samples(readers, findings),
        source_files=tuple(r.file for r in readers),
        media_kinds=kinds,
        ranking=first.ranking,
        kto=first.kto_key is not None,
        description=f"alpaca-style {kind} data from {files}",
        notes=tuple(notes),
    )
