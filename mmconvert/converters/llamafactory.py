"""LLaMA-Factory exporter: the common model to LF's sharegpt layout (JSON or JSONL) plus the
``dataset_info.json`` entry that describes it with full, explicit ``columns`` and ``tags``.

Rows carry ``messages`` (``role``/``content``), then ``system``, ``tools``, media lists (always lists,
never strings), and for preference data ``chosen``/``rejected`` message objects, for KTO ``kto_tag``.
Records are streamed to a temp file; the caller commits (renames) or discards it.

With ``OutputOptions.layout`` set to ``alpaca`` (exporter ``llamafactory-alpaca``) rows are LF's alpaca
layout instead: ``instruction`` (the last user turn), ``input`` (always ``""``), ``output``, ``system``,
``tools``, ``history`` (earlier ``[question, answer]`` pairs), media, ``chosen``/``rejected`` strings and
``kto_tag``, described by an entry with every used column and no ``tags``.  A sample the chosen layout
cannot express (function/observation turns in alpaca, a preference sample without both answers, ...)
is not written: it comes back as an ``unsupported`` finding in :attr:`WrittenFile.findings`.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import IO, Any

import msgspec

from mmconvert.findings import Finding, Severity
from mmconvert.io import SLOT, BackgroundSync, JsonArrayWriter, JsonLinesWriter, paused_gc
from mmconvert.model import MEDIA_KINDS, Dataset, MediaKind, Role, Sample, Turn
from mmconvert.options import Layout, OutputFormat, OutputOptions
from mmconvert.paths import OutputPaths

_CHUNK = 10_000

#: The role vocabulary written, as LF ``tags``: the model's role values.
SHAREGPT_TAGS: dict[str, str] = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": Role.USER.value,
    "assistant_tag": Role.ASSISTANT.value,
    "observation_tag": Role.OBSERVATION.value,
    "function_tag": Role.FUNCTION.value,
    "system_tag": Role.SYSTEM.value,
}
_MEDIA_COLUMNS = {MediaKind.IMAGE: "images", MediaKind.VIDEO: "videos", MediaKind.AUDIO: "audios"}


@dataclass
class WrittenFile:
    """A finished but not yet committed dataset file: the temp path, where it goes, its LF entry."""

    temp_path: str
    final_path: str
    entry: dict[str, Any]
    samples: int
    columns: set[str] = field(default_factory=set)
    #: One error finding per sample the layout cannot express (not written); the caller adds them.
    findings: list[Finding] = field(default_factory=list)


def output_file_name(options: OutputOptions) -> str:
    return f"{options.name}.{options.format.value}"


def sharegpt_record(sample: Sample, paths: OutputPaths, media_kinds: Iterable[MediaKind]) -> dict[str, Any]:
    """One LF sharegpt row.  ``media_kinds`` always get a list, even an empty one."""
    record: dict[str, Any] = {"messages": sample.turns}
    if sample.system is not None:
        record["system"] = sample.system
    if sample.tools is not None:
        record["tools"] = sample.tools
    for_media = paths.for_media
    for kind in media_kinds:
        column = _MEDIA_COLUMNS[kind]  # also the Sample attribute: images, videos, audios
        record[column] = list(map(for_media, getattr(sample, column)))
    if sample.chosen is not None:
        record["chosen"] = sample.chosen
    if sample.rejected is not None:
        record["rejected"] = sample.rejected
    if sample.kto_label is not None:
        record["kto_tag"] = sample.kto_label
    return record


def sharegpt_entry(file_name: str, columns: set[str], ranking: bool) -> dict[str, Any]:
    """The ``dataset_info.json`` entry: every used column and every tag spelled out."""
    order = ["messages", "system", "tools", "images", "videos", "audios", "chosen", "rejected", "kto_tag"]
    entry: dict[str, Any] = {"file_name": file_name, "formatting": "sharegpt"}
    if ranking:
        entry["ranking"] = True
    entry["columns"] = {c: c for c in order if c in columns}
    entry["tags"] = dict(SHAREGPT_TAGS)
    return entry


_ANSWER_ROLES = (Role.ASSISTANT, Role.FUNCTION)
_USER = Role.USER
_ASSISTANT = Role.ASSISTANT


def _unsupported(sample: Sample, layout: Layout, message: str, hint: str, subpath: str = "") -> Finding:
    code = f"unsupported-in-{layout.value}"
    return Finding.at(sample.source, code, Severity.ERROR, message, hint=hint, subpath=subpath)


def export_problem(sample: Sample, dataset: Dataset, layout: Layout) -> Finding | None:
    """Why LF's ``layout`` cannot hold ``sample`` as the dataset declares it, or ``None``.

    Checks what the exporter itself would otherwise write wrongly: preference samples (an odd-length
    conversation ending on a user turn, both answers, answer roles), KTO labels, and for alpaca the
    strict user/assistant alternation without function or observation turns.
    """
    turns = sample.turns
    if dataset.ranking != sample.is_preference:
        what = (
            "a preference sample (chosen/rejected) in a dataset that is not preference data"
            if sample.is_preference
            else "a sample without chosen/rejected answers in a preference (ranking) dataset"
        )
        return _unsupported(
            sample,
            layout,
            f"{what}: LF reads a dataset either as preference data or not",
            "convert preference and SFT samples into separate datasets",
        )
    if sample.is_preference:
        if sample.chosen is None or sample.rejected is None:
            missing = "chosen" if sample.chosen is None else "rejected"
            return _unsupported(
                sample,
                layout,
                f"the preference sample has no {missing} answer; LF drops it",
                "give every preference sample both answers",
            )
        if not turns or len(turns) % 2 == 0 or turns[-1].role not in (Role.USER, Role.OBSERVATION):
            return _unsupported(
                sample,
                layout,
                "a preference sample needs an odd number of turns ending on a user turn before the "
                "two answers; LF drops it (Invalid message count)",
                "end the conversation on the question the two answers reply to",
            )
        for name, answer in (("chosen", sample.chosen), ("rejected", sample.rejected)):
            allowed = (Role.ASSISTANT,) if layout is Layout.ALPACA else _ANSWER_ROLES
            if answer.role not in allowed:
                return _unsupported(
                    sample,
                    layout,
                    f"the {name} answer has the role {answer.role.value!r}; LF trains it as an answer "
                    f"only with the role{'s' if len(allowed) > 1 else ''} "
                    + " or ".join(repr(r.value) for r in allowed),
                    "make both answers assistant turns",
                )
    if dataset.kto and sample.kto_label is None:
        return _unsupported(
            sample,
            layout,
            "a sample without a KTO label in a KTO dataset: LF drops it in KTO training",
            "give every sample a true/false label",
        )
    if not dataset.kto and sample.kto_label is not None:
        return _unsupported(
            sample,
            layout,
            "a sample with a KTO label in a dataset that is not KTO data",
            "convert KTO and SFT samples into separate datasets",
        )
    if layout is not Layout.ALPACA:
        return None
    for i, turn in enumerate(turns):
        if turn.role in (Role.FUNCTION, Role.OBSERVATION, Role.SYSTEM):
            return _unsupported(
                sample,
                layout,
                f"turn {i + 1} is a {turn.role.value} turn; LF's alpaca layout has only user and "
                "assistant turns",
                "use the sharegpt layout (--to llamafactory), which keeps tool calls",
                sample.source.turn_path(i),
            )
        expected = Role.USER if i % 2 == 0 else Role.ASSISTANT
        if turn.role is not expected:
            return _unsupported(
                sample,
                layout,
                f"turn {i + 1} is a {turn.role.value} turn where LF's alpaca layout needs "
                f"{'a user' if expected is Role.USER else 'an assistant'} turn (history is a list of "
                "[question, answer] pairs)",
                "fix the turn order, or use the sharegpt layout (--to llamafactory)",
                sample.source.turn_path(i),
            )
    if not turns or (len(turns) % 2 == 0) == sample.is_preference:
        return _unsupported(
            sample,
            layout,
            "LF's alpaca layout needs the conversation to end on "
            + ("the user's question" if sample.is_preference else "the assistant's answer"),
            "fix the turn order, or use the sharegpt layout (--to llamafactory)",
        )
    return None


def alpaca_record(sample: Sample, paths: OutputPaths, media_kinds: Iterable[MediaKind]) -> dict[str, Any]:
    """One LF alpaca row; ``sample`` must have passed :func:`export_problem` for the alpaca layout."""
    turns = sample.turns
    last_user = len(turns) - 1 if sample.is_preference else len(turns) - 2
    record: dict[str, Any] = {"instruction": turns[last_user].content, "input": ""}
    if not sample.is_preference:
        record["output"] = turns[-1].content
    if sample.system is not None:
        record["system"] = sample.system
    if sample.tools is not None:
        record["tools"] = sample.tools
    if last_user:
        record["history"] = [[turns[i].content, turns[i + 1].content] for i in range(0, last_user, 2)]
    for kind in media_kinds:
        record[_MEDIA_COLUMNS[kind]] = [paths.for_media(m) for m in sample.media(kind)]
    if sample.chosen is not None:
        record["chosen"] = sample.chosen.content
    if sample.rejected is not None:
        record["rejected"] = sample.rejected.content
    if sample.kto_label is not None:
        record["kto_tag"] = sample.kto_label
    return record


#: LF alpaca column attribute -> the key this exporter writes, in entry order.
ALPACA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("prompt", "instruction"),
    ("query", "input"),
    ("response", "output"),
    ("system", "system"),
    ("tools", "tools"),
    ("history", "history"),
    ("images", "images"),
    ("videos", "videos"),
    ("audios", "audios"),
    ("chosen", "chosen"),
    ("rejected", "rejected"),
    ("kto_tag", "kto_tag"),
)


def alpaca_entry(file_name: str, columns: set[str], ranking: bool) -> dict[str, Any]:
    """The ``dataset_info.json`` entry for an alpaca file: every written column, explicitly; no tags.

    Only keys some row holds are declared (LF raises ``KeyError`` on a declared column no row has).
    """
    entry: dict[str, Any] = {"file_name": file_name, "formatting": "alpaca"}
    if ranking:
        entry["ranking"] = True
    entry["columns"] = {attr: key for attr, key in ALPACA_COLUMNS if key in columns}
    return entry


class _NullSink(io.RawIOBase):
    """Swallows a dry run's output: the records are built and checked, nothing is stored."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def write_alpaca(dataset: Dataset, options: OutputOptions) -> WrittenFile:
    """:func:`write` in LF's alpaca layout, whatever ``options.layout`` says."""
    return write(dataset, replace(options, layout=Layout.ALPACA))


def write(dataset: Dataset, options: OutputOptions) -> WrittenFile:
    """Stream ``dataset`` into a temp file beside the target; the caller commits or discards it.

    With ``options.dry_run`` every record is built and checked but nothing is written (``temp_path``
    is empty).  Samples the layout cannot express are left out and listed in ``findings``.
    """
    out_dir = options.output_dir
    file_name = output_file_name(options)
    alpaca = options.layout is Layout.ALPACA
    make_record = alpaca_record if alpaca else sharegpt_record
    problems: list[Finding] = []
    if options.dry_run:
        fd, tmp = -1, ""
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{file_name}.", suffix=".tmp", dir=out_dir)
    paths = OutputPaths(out_dir, options.absolute_paths)
    declared = [k for k in MEDIA_KINDS if k in dataset.media_kinds]
    undeclared = [k for k in MEDIA_KINDS if k not in dataset.media_kinds]
    columns = ({"instruction"} if alpaca else {"messages"}) | {_MEDIA_COLUMNS[k] for k in declared}
    count = 0
    try:
        sink: IO[bytes] = os.fdopen(fd, "wb") if fd >= 0 else _NullSink()  # type: ignore[assignment]
        with sink as fh, paused_gc():
            out: Any = BackgroundSync(fh) if tmp and options.sync else fh
            writer = JsonLinesWriter(out) if options.format is OutputFormat.JSONL else JsonArrayWriter(out)
            chunk: list[dict[str, Any]] = []
            # Plain SFT data in the sharegpt layout: a sample without preference answers or a KTO
            # label is always expressible, so export_problem is asked only about the others.
            plain = not alpaca and not dataset.ranking and not dataset.kto
            plain_keys = 1 + len(declared)
            extra_images, extra_videos, extra_audios = (k in undeclared for k in MEDIA_KINDS)
            # The commonest row (plain SFT, images only, e.g. COCO captions) is built right here; a
            # question, an answer and one image (COCO captions) is filled into the encoder's own text
            # for that shape (see RecordTemplate) instead of being built and encoded.
            images_only = plain and [k.value for k in declared] == ["image"] and not extra_images
            for_media = paths.for_media
            pair = writer.template(
                {"messages": (Turn(Role.USER, SLOT), Turn(Role.ASSISTANT, SLOT)), "images": [SLOT]}
            ).filler3()
            encode = msgspec.json.encode
            last_prompt: Turn | None = None
            prompt_json = b""
            for sample in dataset.samples:
                if images_only and sample.is_bare:
                    turns = sample.turns
                    images = sample.images
                    if (
                        len(turns) == 2
                        and len(images) == 1
                        and turns[0].role is _USER
                        and turns[1].role is _ASSISTANT
                    ):
                        if turns[0] is not last_prompt:
                            last_prompt = turns[0]
                            prompt_json = encode(last_prompt.content)
                        chunk.append(
                            pair(prompt_json, encode(turns[1].content), encode(for_media(images[0])))
                        )
                    else:
                        chunk.append(make_record(sample, paths, declared))
                    if len(chunk) >= _CHUNK:
                        writer.write_chunk(chunk)
                        count += len(chunk)
                        chunk = []
                    continue
                if not (
                    plain and sample.chosen is None and sample.rejected is None and sample.kto_label is None
                ):
                    problem = export_problem(sample, dataset, options.layout)
                    if problem is not None:
                        problems.append(problem)
                        continue
                kinds = declared
                if (
                    (extra_images and sample.images)
                    or (extra_videos and sample.videos)
                    or (extra_audios and sample.audios)
                ):
                    kinds = [k for k in MEDIA_KINDS if k in dataset.media_kinds or sample.media(k)]
                record = make_record(sample, paths, kinds)
                if alpaca or kinds is not declared or len(record) != plain_keys:
                    columns.update(record)  # else: messages + the declared media, already in columns
                chunk.append(record)
                if len(chunk) >= _CHUNK:
                    writer.write_chunk(chunk)
                    count += len(chunk)
                    chunk = []
            writer.write_chunk(chunk)
            count += len(chunk)
            writer.close()
            if isinstance(out, BackgroundSync):
                out.finish()
    except BaseException:
        if tmp:
            os.unlink(tmp)
        raise
    if alpaca:
        entry = alpaca_entry(file_name, columns, dataset.ranking)
    else:
        entry = sharegpt_entry(file_name, columns, dataset.ranking)
    return WrittenFile(tmp, os.path.join(out_dir, file_name), entry, count, columns, problems)


def join_parts(parts: list[WrittenFile], options: OutputOptions, dataset: Dataset) -> WrittenFile:
    """One file from the part files that :func:`write` wrote for consecutive slices of a dataset.

    The result is byte for byte what :func:`write` gives for the whole dataset: the other parts are
    appended to the first part's file (JSON arrays spliced, each part being ``[]`` or
    ``[\n  ...\n]``; JSONL concatenated), which is returned (synced with ``--fsync``) for the
    caller to commit.  The entry is built from every part's columns.  The other part files are removed.
    """
    out_dir = options.output_dir
    file_name = output_file_name(options)
    columns: set[str] = set().union(*(p.columns for p in parts))
    problems = [f for p in parts for f in p.findings]
    count = sum(p.samples for p in parts)
    alpaca = options.layout is Layout.ALPACA
    entry = (alpaca_entry if alpaca else sharegpt_entry)(file_name, columns, dataset.ranking)
    head = parts[0].temp_path
    if head:  # not a dry run
        with open(head, "r+b") as fh:
            _append_parts(fh, parts, options.format is OutputFormat.JSONL)
            if options.sync:
                fh.flush()
                os.fsync(fh.fileno())
        for part in parts[1:]:
            os.unlink(part.temp_path)
    return WrittenFile(head, os.path.join(out_dir, file_name), entry, count, columns, problems)


def _append_parts(fh: IO[bytes], parts: list[WrittenFile], lines: bool) -> None:
    """Append ``parts[1:]`` to ``fh``, which holds ``parts[0]``."""
    fd = fh.fileno()
    end = os.fstat(fd).st_size
    first = parts[0].samples == 0
    if not lines:
        end = 0 if first else end - 2  # drop "[]", or the closing "\n]"
    os.ftruncate(fd, end)
    os.lseek(fd, end, os.SEEK_SET)
    for part in parts[1:]:
        size = os.path.getsize(part.temp_path)
        if lines:
            start, stop = 0, size
        elif part.samples == 0:
            continue
        else:
            start, stop = 2, size - 2  # inside "[\n" ... "\n]"
            os.write(fd, b"[\n" if first else b",\n")
        first = False
        with open(part.temp_path, "rb") as src:
            _copy_range(src.fileno(), fd, start, stop - start)
    if not lines:
        os.write(fd, b"[]" if first else b"\n]")


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Append ``count`` bytes of ``src`` from ``offset`` to ``dst``, in the kernel where it can."""
    while count > 0:
        try:
            done = os.copy_file_range(src, dst, count, offset)
        except (AttributeError, OSError):
            os.lseek(src, offset, os.SEEK_SET)
            done = os.write(dst, os.read(src, min(count, 1 << 22)))
        if done <= 0:
            raise OSError(f"short copy while joining part files ({count} bytes left)")
        offset += done
        count -= done


def join_parts_alpaca(parts: list[WrittenFile], options: OutputOptions, dataset: Dataset) -> WrittenFile:
    """:func:`join_parts` for :func:`write_alpaca`'s parts."""
    return join_parts(parts, replace(options, layout=Layout.ALPACA), dataset)
