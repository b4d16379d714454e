"""OpenAI chat importer: ``messages`` with string content or content parts into the common model.

Content parts (OpenAI's ``{"type": "text", "text": ...}`` or LF v1's ``{"type": ..., "value": ...}``):
``text``; ``image_url`` (``{"url": ...}`` or a plain string; a path, URL or ``data:``
URI); ``image`` (``{"type": "image", "image": path}``, also ``url``/``path``); ``video``/``video_url``;
``audio``/``audio_url``; ``input_audio`` (base64 data, which LF cannot open: reported by the path
pass).  Each media part becomes a media entry and LF's tag at the same place in the text.  System (and
``developer``) messages become the system prompt when first.  Assistant ``tool_calls`` (and the legacy
``function_call``) become LF ``function_call`` turns with ``{"name", "arguments"}`` JSON (arguments
decoded from their JSON text); consecutive ``tool``/``function`` results become one ``observation``,
joined as LF's own openai converter joins them.  ``tools`` (list or JSON text) and
``images``/``videos``/``audios`` columns are read as in the ShareGPT importer.  LF v1 ``tool_call``
parts become a ``function_call`` turn; ``reasoning`` parts have no LF 0.9.5 equivalent and are reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mmconvert.converters.chat import (
    MEDIA_COLUMNS,
    Draft,
    make_media,
    read_media_column,
    read_system_field,
    read_tools,
    role_of,
    stream_samples,
    take_system,
)
from mmconvert.converters.records import split_records
from mmconvert.converters.sharegpt import media_kinds_in
from mmconvert.findings import Findings
from mmconvert.model import MEDIA_KINDS, Dataset, MediaKind, Role
from mmconvert.options import ChatOptions
from mmconvert.roles import content_finding

#: Preference/KTO fields other importers read; here they are reported, never silently ignored.
_OTHER_IMPORTER_FIELDS = (
    ("chosen", "sharegpt"),
    ("rejected", "sharegpt"),
    ("kto_tag", "sharegpt"),
    ("label", "sharegpt"),
    ("rejected_response", "swift"),
)
TOOL_RESPONSE_JOIN = "\n</tool_response>\n<tool_response>\n"
_OPENAI_ROLES = {"developer": "system", "function": "tool"}
_PART_KINDS = {
    "image_url": MediaKind.IMAGE,
    "image": MediaKind.IMAGE,
    "video_url": MediaKind.VIDEO,
    "video": MediaKind.VIDEO,
    "audio_url": MediaKind.AUDIO,
    "audio": MediaKind.AUDIO,
    "input_audio": MediaKind.AUDIO,
}


def read(paths: Sequence[str], options: ChatOptions, findings: Findings, name: str) -> Dataset:
    splits = [split_records(path, findings) for path in paths]

    return Dataset(
        name=name,
        samples=stream_samples(
            splits,
            options,
            findings,
            name,
            lambda draft, record, base: _convert_record(draft, record, base, options),
        ),
        source_files=tuple(paths),
        media_kinds=media_kinds_in(splits),
        description=f"OpenAI chat messages from {', '.join(paths)}",
    )


def _convert_record(draft: Draft, record: dict[str, Any], base: str, options: ChatOptions) -> None:
    messages = record.get("messages")
    if not isinstance(messages, list):
        what = "no `messages` list" if messages is None else f"`messages` is a {type(messages).__name__}"
        draft.error("conversation-missing", f"the record has {what}", "give each record a `messages` list")
        return
    read_system_field(draft, record)
    results: list[str] = []
    result_path: str | None = None
    for i, message in enumerate(messages):
        sub = f".messages[{i}]"
        if not isinstance(message, dict):
            draft.error(
                "message-not-object", "the message is not an object", "use {role, content} objects", sub
            )
            continue
        raw_role = message.get("role")
        raw_role = _OPENAI_ROLES.get(raw_role, raw_role) if isinstance(raw_role, str) else raw_role
        role = role_of(draft, raw_role, messages, f"{sub}.role")
        if role is None:
            continue
        if role is Role.OBSERVATION:
            text = _text_content(draft, message, sub, base, allow_media=False)
            if text is not None:
                results.append(text)
                result_path = result_path or f"{sub}.content"
            continue
        if results:
            draft.add_turn(Role.OBSERVATION, TOOL_RESPONSE_JOIN.join(results), result_path)
            results, result_path = [], None
        if role is Role.ASSISTANT and (message.get("tool_calls") or message.get("function_call")):
            call = _function_call(draft, message, sub)
            if call is not None:
                draft.add_turn(Role.FUNCTION, call, f"{sub}.tool_calls")
            continue
        if role is Role.ASSISTANT and _tool_call_parts(message.get("content")):
            draft.add_turn(Role.FUNCTION, _v1_function_call(message["content"]), f"{sub}.content")
            continue
        text = _text_content(draft, message, sub, base, allow_media=True)
        if text is None:
            continue
        if role is Role.SYSTEM and i == 0:
            take_system(draft, text, record, f"{sub}.content")
            continue
        draft.add_turn(role, text, f"{sub}.content")
    if results:
        draft.add_turn(Role.OBSERVATION, TOOL_RESPONSE_JOIN.join(results), result_path)
    read_tools(draft, record)
    for kind in MEDIA_KINDS:
        read_media_column(draft, record, kind, MEDIA_COLUMNS[kind], base)
    for key, use in _OTHER_IMPORTER_FIELDS:
        if record.get(key) is not None:
            draft.error(
                "field-unsupported",
                f"the record has `{key}`, which the openai importer does not read (the sample would lose it)",
                f"convert with --from {use}",
                f".{key}",
            )


def _text_content(
    draft: Draft, message: dict[str, Any], sub: str, base: str, allow_media: bool
) -> str | None:
    if "content" not in message:
        draft.errors.append(content_finding(draft.source, None, sub, missing=True, dataset=draft.dataset))
        return None
    content = message["content"]
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        draft.errors.append(content_finding(draft.source, content, f"{sub}.content", dataset=draft.dataset))
        return None
    pieces: list[str] = []
    last_text = False
    for j, part in enumerate(content):
        where = f"{sub}.content[{j}]"
        kind_name = part.get("type") if isinstance(part, dict) else None
        if kind_name == "text":
            text = part.get("text", part.get("value"))
            if isinstance(text, str):
                if last_text:
                    pieces.append("\n")
                pieces.append(text)
                last_text = True
                continue
        kind = _PART_KINDS.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None or not isinstance(part, dict):
            shown = json.dumps(part, ensure_ascii=False)[:80]
            draft.error(
                "content-part-unknown",
                f"unsupported content part {shown}",
                "use text, image_url, image, video, audio or input_audio parts",
                where,
            )
            continue
        path = _part_path(part, str(kind_name))
        if path is None:
            draft.error(
                "content-part-no-path",
                f"the {kind_name} part has no path or URL",
                f'give it as {{"type": "{kind_name}", "{kind_name}": "path"}}',
                where,
            )
            continue
        if not allow_media:
            draft.error(
                "media-in-tool-result",
                f"a {kind} part in a tool result; LF cannot attach media there",
                "move the media into a user turn",
                where,
            )
            continue
        draft.media[kind].append(make_media(kind, path, base, where))
        pieces.append(_tag(kind))
        last_text = False
    return "".join(pieces)


def _tag(kind: MediaKind) -> str:
    return {MediaKind.IMAGE: "<image>", MediaKind.VIDEO: "<video>", MediaKind.AUDIO: "<audio>"}[kind]


def _part_path(part: dict[str, Any], kind_name: str) -> str | None:
    value = part.get(kind_name)
    if kind_name == "input_audio" and isinstance(value, dict):
        data, fmt = value.get("data"), value.get("format", "wav")
        return f"data:audio/{fmt};base64,{data}" if isinstance(data, str) else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("path")
    if value is None:
        value = part.get("url") or part.get("path") or part.get("value")
    return value if isinstance(value, str) and value else None


def _tool_call_parts(content: object) -> bool:
    """LF v1 content parts that are all ``{"type": "tool_call", "value": ...}``."""
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(p, dict) and p.get("type") == "tool_call" for p in content)
    )


def _v1_function_call(parts: list[dict[str, Any]]) -> str:
    """The function_call content for LF v1 ``tool_call`` parts (one call, or a list for several)."""
    calls = []
    for part in parts:
        value = part.get("value")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value  # the role pass reports it as function-call-json
        calls.append(value)
    return json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)


def _function_call(draft: Draft, message: dict[str, Any], sub: str) -> str | None:
    """The LF function_call content: ``{"name", "arguments"}`` JSON, a list for parallel calls."""
    raw_calls = message.get("tool_calls")
    if raw_calls is None:
        raw_calls = [{"function": message.get("function_call")}]
    if not isinstance(raw_calls, list):
        draft.error(
            "tool-calls-type", "`tool_calls` is not a list", "make it a list of calls", f"{sub}.tool_calls"
        )
        return None
    calls = []
    for j, item in enumerate(raw_calls):
        function = item.get("function") if isinstance(item, dict) else None
        where = f"{sub}.tool_calls[{j}]"
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            draft.error(
                "tool-call-invalid",
                "a tool call without a function name",
                'give each call {"type": "function", "function": {"name": ..., "arguments": ...}}',
                where,
            )
            return None
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                draft.error(
                    "tool-call-arguments",
                    f"the arguments of {function['name']!r} are not valid JSON: {arguments[:60]!r}",
                    "write the arguments as a JSON object (or its JSON text)",
                    f"{where}.function.arguments",
                )
                return None
        calls.append({"name": function["name"], "arguments": arguments})
    content = message.get("content")
    if isinstance(content, str) and content.strip():
        draft.warn(
            "tool-call-text-dropped",
            "the assistant message has text besides its tool calls; LF's function_call turn holds only "
            f"the calls, so the text {content[:60]!r} is not kept",
            "move the text into the assistant turn after the tool result",
            f"{sub}.content",
        )
    return json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
