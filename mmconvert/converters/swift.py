"""ms-swift importer: the layouts of ms-swift's custom datasets into the common model.

* ``query``/``response``/``history`` (``[[q, a], ...]``)/``system`` (ms-swift's ``ResponsePreprocessor``;
  ``prompt``/``question``/``problem`` are taken for ``query`` and ``answer`` for ``response``);
* ``conversation: [{"human": ..., "assistant": ...}, ...]`` pairs with an optional ``system``;
* ``messages`` (role/content, roles also ``tool_call``/``tool_response``), read as ShareGPT.

Media come from ``images``/``videos``/``audios`` (or ``image``) and from Qwen-VL's inline
``<img>path</img>`` tags, which become ``<image>`` plus an images entry (URLs are then reported: LF
opens local files only).  DPO rows (``rejected_response``, a string or a message list) become
preference samples whose chosen answer is the last assistant turn; KTO rows carry a boolean ``label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmconvert.converters.chat import (
    MEDIA_COLUMNS,
    Draft,
    read_media_column,
    read_system_field,
    read_tools,
    stream_samples,
)
from mmconvert.converters.records import RecordFile, iter_objects, split_records
from mmconvert.converters.sharegpt import _convert_record as convert_messages_record
from mmconvert.converters.sharegpt import media_kinds_in
from mmconvert.findings import Findings
from mmconvert.model import MEDIA_KINDS, Dataset, MediaKind, Role, Turn
from mmconvert.options import ChatOptions

#: ms-swift fields LF cannot express; a record carrying one is reported, not half-converted.
_UNSUPPORTED = (
    ("objects", "grounding boxes filled into <ref-object>/<bbox> at training time"),
    ("rejected_messages", "a whole rejected conversation"),
    ("rejected_images", "images for the rejected answer only"),
)
QUERY_KEYS = ("query", "prompt", "question", "problem")
RESPONSE_KEYS = ("response", "answer")


def _is_ranking(split: RecordFile) -> bool:
    for _, value in iter_objects(split.records, 1):
        return isinstance(value, dict) and "rejected_response" in value
    return False


def read(paths: Sequence[str], options: ChatOptions, findings: Findings, name: str) -> Dataset:
    splits = [split_records(path, findings) for path in paths]
    ranking = bool(splits) and _is_ranking(splits[0])

    return Dataset(
        name=name,
        samples=stream_samples(
            splits,
            options,
            findings,
            name,
            lambda draft, record, base: _convert_record(draft, record, base, ranking),
        ),
        source_files=tuple(paths),
        media_kinds=media_kinds_in(splits),
        ranking=ranking,
        description=f"ms-swift records from {', '.join(paths)}",
    )


def _text(draft: Draft, value: object, subpath: str, what: str) -> str | None:
    if isinstance(value, str):
        return value
    draft.error(
        "content-not-string",
        f"Expected a string, got {value!r} ({what} must be text; LF stops the whole run on this sample)",
        "make it a string",
        subpath,
    )
    return None


def _convert_record(draft: Draft, record: dict[str, Any], base: str, ranking: bool) -> None:
    if "messages" in record:
        convert_messages_record(draft, record, base, False)
    elif "conversation" in record:
        _read_pairs(draft, record)
    else:
        _read_query_response(draft, record)
    if "messages" not in record:
        read_tools(draft, record)
        for kind in MEDIA_KINDS:
            read_media_column(draft, record, kind, MEDIA_COLUMNS[kind], base)
        if "image" in record and "images" not in record:
            read_media_column(draft, record, MediaKind.IMAGE, "image", base)
        label = record.get("label")
        if isinstance(label, bool):
            draft.kto_label = label
        elif label is not None:
            draft.error(
                "kto-tag-type",
                f"the KTO label `label` is {label!r}, not true/false; LF drops the sample",
                "use JSON true or false",
                ".label",
            )
    for key, why in _UNSUPPORTED:
        if record.get(key) is not None:
            draft.error(
                "field-unsupported",
                f"the record has ms-swift's `{key}` ({why}), which LF 0.9.5 has no place for",
                "drop or expand the field before converting",
                f".{key}",
            )
    if ranking:
        _read_rejected(draft, record)
    elif "rejected_response" in record:
        draft.error(
            "preference-mixed",
            "the record has a rejected_response but the file's first record has none",
            "keep preference and SFT records in separate files",
        )


def _read_query_response(draft: Draft, record: dict[str, Any]) -> None:
    read_system_field(draft, record)
    history = record.get("history")
    if isinstance(history, list):
        for i, pair in enumerate(history):
            sub = f".history[{i}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                draft.error(
                    "history-pair",
                    f"history item {i} is not a [question, answer] pair",
                    "give each history item as [question, answer]",
                    sub,
                )
                continue
            question = _text(draft, pair[0], f"{sub}[0]", "a history question")
            answer = _text(draft, pair[1], f"{sub}[1]", "a history answer")
            if question is not None and answer is not None:
                draft.add_turn(Role.USER, question, f"{sub}[0]")
                draft.add_turn(Role.ASSISTANT, answer, f"{sub}[1]")
    elif history is not None:
        draft.error("history-type", "`history` is not a list of pairs", "make it [[q, a], ...]", ".history")
    query_key = next((k for k in QUERY_KEYS if k in record), None)
    response_key = next((k for k in RESPONSE_KEYS if k in record), None)
    if query_key is None:
        draft.error(
            "conversation-missing",
            "the record has no `query` (nor `messages`/`conversation`)",
            "give each record a query and a response",
        )
        return
    query = _text(draft, record[query_key], f".{query_key}", "the query")
    if query is not None:
        draft.add_turn(Role.USER, query, f".{query_key}")
    if response_key is not None:
        response = _text(draft, record[response_key], f".{response_key}", "the response")
        if response is not None:
            draft.add_turn(Role.ASSISTANT, response, f".{response_key}")


def _read_pairs(draft: Draft, record: dict[str, Any]) -> None:
    read_system_field(draft, record)
    pairs = record["conversation"]
    if not isinstance(pairs, list):
        draft.error(
            "conversation-type", "`conversation` is not a list", "make it a list of pairs", ".conversation"
        )
        return
    for i, pair in enumerate(pairs):
        sub = f".conversation[{i}]"
        if not isinstance(pair, dict) or "human" not in pair:
            draft.error(
                "conversation-pair",
                'the item is not a {"human": ..., "assistant": ...} pair',
                "give each item human and assistant texts",
                sub,
            )
            continue
        question = _text(draft, pair["human"], f"{sub}.human", "the human text")
        if question is not None:
            draft.add_turn(Role.USER, question, f"{sub}.human")
        if "assistant" in pair:
            answer = _text(draft, pair["assistant"], f"{sub}.assistant", "the assistant text")
            if answer is not None:
                draft.add_turn(Role.ASSISTANT, answer, f"{sub}.assistant")


def _read_rejected(draft: Draft, record: dict[str, Any]) -> None:
    value = record.get("rejected_response")
    if isinstance(value, list):
        texts = [m.get("content") for m in value if isinstance(m, dict) and m.get("role") == "assistant"]
        value = texts[-1] if texts else None
    if not isinstance(value, str):
        draft.error(
            "preference-answer-missing",
            "preference record without a text `rejected_response`",
            "give rejected_response as a string (or assistant messages)",
            ".rejected_response",
        )
        return
    if not draft.turns or draft.turns[-1].role is not Role.ASSISTANT:
        draft.error(
            "preference-answer-missing",
            "preference record whose conversation does not end on the chosen assistant answer",
            "end the conversation with the chosen answer",
        )
        return
    draft.chosen = draft.turns.pop()
    draft.turn_paths.pop()
    draft.rejected = Turn(Role.ASSISTANT, value)
