"""LLaMA-Factory exporter: the common model to LF's sharegpt layout (JSON or JSONL) plus the
``dataset_info.json`` entry that describes it with full, explicit ``columns`` and ``tags``.

Rows carry ``messages`` (``role``/``content``), then ``system``, ``tools``, media lists (always lists,
never strings), and for preference data ``chosen``/``rejected`` message objects, for KTO ``kto_tag``.
Records are streamed to a temp file; the caller commits (renames) or discards it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mmconvert.io import JsonArrayWriter, JsonLinesWriter
from mmconvert.model import MEDIA_KINDS, Dataset, MediaKind, Role, Sample
from mmconvert.options import OutputFormat, OutputOptions
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


def output_file_name(options: OutputOptions) -> str:
    return f"{options.name}.{options.format.value}"


def sharegpt_record(sample: Sample, paths: OutputPaths, media_kinds: Iterable[MediaKind]) -> dict[str, Any]:
    """One LF sharegpt row.  ``media_kinds`` always get a list, even an empty one."""
    record: dict[str, Any] = {"messages": sample.turns}
    if sample.system is not None:
        record["system"] = sample.system
    if sample.tools is not None:
        record["tools"] = sample.tools
    for kind in media_kinds:
        record[_MEDIA_COLUMNS[kind]] = [paths.for_media(m) for m in sample.media(kind)]
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


def write(dataset: Dataset, options: OutputOptions) -> WrittenFile:
    """Stream ``dataset`` into a temp file beside the target; the caller commits or discards it."""
    out_dir = options.output_dir
    file_name = output_file_name(options)
    fd, tmp = tempfile.mkstemp(prefix=f".{file_name}.", suffix=".tmp", dir=out_dir)
    paths = OutputPaths(out_dir, options.absolute_paths)
    declared = [k for k in MEDIA_KINDS if k in dataset.media_kinds]
    undeclared = [k for k in MEDIA_KINDS if k not in dataset.media_kinds]
    columns = {"messages"} | {_MEDIA_COLUMNS[k] for k in declared}
    count = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = JsonLinesWriter(fh) if options.format is OutputFormat.JSONL else JsonArrayWriter(fh)
            chunk: list[dict[str, Any]] = []
            for sample in dataset.samples:
                kinds = declared
                for kind in undeclared:
                    if sample.media(kind):
                        kinds = [k for k in MEDIA_KINDS if k in dataset.media_kinds or sample.media(k)]
                        break
                record = sharegpt_record(sample, paths, kinds)
                columns.update(record)
                chunk.append(record)
                if len(chunk) >= _CHUNK:
                    writer.write_chunk(chunk)
                    count += len(chunk)
                    chunk = []
            writer.write_chunk(chunk)
            count += len(chunk)
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    entry = sharegpt_entry(file_name, columns, dataset.ranking)
    return WrittenFile(tmp, os.path.join(out_dir, file_name), entry, count, columns)
