"""Conversation structure: LF 0.9.5's sharegpt role-order rules as findings, so no sample is dropped
silently in training.

LF removes a leading system message, then wants user/observation at even positions and
assistant/function_call at odd ones, an even number of messages (odd for preference data), and
string content everywhere; anything else is logged as ``Invalid role tag in [...]`` or ``Invalid
message count in [...]`` and the row is dropped, or (non-string content, bad function-call JSON) the
whole run aborts.  :func:`check_conversation` is the pass over a model sample; the ``*_finding``
helpers are for importers, which see problems (unknown role strings, null content) the model cannot
hold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mmconvert.findings import Finding, Severity
from mmconvert.model import Role, Sample, SourceRef, Turn

#: Source role strings every chat importer understands, mapped to the model's roles.
SOURCE_ROLES: dict[str, Role] = {
    "human": Role.USER,
    "user": Role.USER,
    "gpt": Role.ASSISTANT,
    "assistant": Role.ASSISTANT,
    "system": Role.SYSTEM,
    "observation": Role.OBSERVATION,
    "tool": Role.OBSERVATION,
    "function_call": Role.FUNCTION,
    "tool_call": Role.FUNCTION,  # ms-swift
    "tool_response": Role.OBSERVATION,  # ms-swift
}

_PROMPT_SIDE = (Role.USER, Role.OBSERVATION)
# Enum member lookups cost ~0.5 us each on Python 3.11; the per-turn checks use these bound names.
_USER, _ASSISTANT, _FUNCTION, _OBSERVATION = Role.USER, Role.ASSISTANT, Role.FUNCTION, Role.OBSERVATION
_ANSWER_SIDE = (Role.ASSISTANT, Role.FUNCTION)
_MAX_SHOWN = 300
_ORDER_HINT = (
    "LF wants an optional leading system turn, then user (or observation) and assistant (or "
    "function_call) turns alternating, starting with user"
)


def messages_repr(turns: Sequence[Turn] | Sequence[dict[str, object]]) -> str:
    """The ``{messages}`` part of LF's warnings, shortened."""
    items = [t if isinstance(t, dict) else {"role": str(t.role), "content": t.content} for t in turns]
    text = repr(items)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 5] + " ...]"
    return text


def _error(
    source: SourceRef, code: str, message: str, hint: str, subpath: str = "", dataset: str | None = None
) -> Finding:
    return Finding.at(source, code, Severity.ERROR, message, hint=hint, subpath=subpath, dataset=dataset)


def unknown_role_finding(
    source: SourceRef, role: object, subpath: str, messages: str, dataset: str | None = None
) -> Finding:
    """A role string no importer maps (``bot``, ``developer``, a typo) or a missing role."""
    what = "a message has no role" if role is None else f"unknown role {role!r}"
    known = ", ".join(sorted(SOURCE_ROLES))
    return _error(
        source,
        "role-unknown",
        f"Invalid role tag in {messages}. ({what}; LF drops the sample)",
        f"use one of: {known}",
        subpath,
        dataset,
    )


def content_finding(
    source: SourceRef, value: object, subpath: str, missing: bool = False, dataset: str | None = None
) -> Finding:
    """Message content that is missing or not a string: LF stops the whole run on it."""
    if missing:
        message = "a message has no content; LF stops with KeyError (or 'Expected a string, got None')"
        code = "content-missing"
    else:
        shown = "None" if value is None else repr(value)
        if len(shown) > 80:
            shown = shown[:75] + " ...'"
        message = (
            f"Expected a string, got {shown} (message content must be text; LF stops the whole run "
            f"on this sample)"
        )
        code = "content-not-string"
    return _error(
        source, code, message, 'give every message a string content ("" if empty)', subpath, dataset
    )


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _role_name(role: Role) -> str:
    return "function_call" if role is Role.FUNCTION else str(role)


def check_conversation(sample: Sample, ranking: bool = False, dataset: str | None = None) -> list[Finding]:
    """LF 0.9.5's sharegpt rules on one sample (turns exclude the leading system prompt)."""
    turns = sample.turns
    if (
        len(turns) == 2
        and not ranking
        and turns[0].role is _USER
        and turns[1].role is _ASSISTANT
        and not sample.tools
        and sample.chosen is None
        and sample.rejected is None
        and turns[1].content.strip()
    ):
        return []  # one question, one non-empty answer (COCO, VQA, most SFT): nothing to find
    findings: list[Finding] = []
    source = sample.source
    if not turns:
        findings.append(
            _error(
                source,
                "conversation-empty",
                "the conversation has no turns; LF drops it (Dropped invalid example: [])",
                "give the sample a user turn and an answer, or remove it",
                dataset=dataset,
            )
        )
        return findings
    for i, turn in enumerate(turns):
        expected = _PROMPT_SIDE if i % 2 == 0 else _ANSWER_SIDE
        if turn.role in expected:
            continue
        where = source.turn_path(i)
        if turn.role is Role.SYSTEM:
            code = "role-system-not-first"
            why = f"a system turn at position {i + 1}; only the first message may be the system prompt"
            hint = "merge it into the system prompt (the first message) or remove it"
        elif i == 0:
            code = "role-first-not-user"
            why = f"the conversation starts with {_a(_role_name(turn.role))} turn, not a user turn"
            hint = (
                "start with the user turn (drop a leading assistant greeting or move it to the system prompt)"
            )
        else:
            code = "role-order"
            prev = turns[i - 1].role
            if prev is turn.role:
                why = f"two {_role_name(prev)} turns in a row at positions {i} and {i + 1}"
            else:
                why = (
                    f"{_a(_role_name(prev))} turn followed by {_a(_role_name(turn.role))} turn at "
                    f"positions {i} and {i + 1}"
                )
            hint = _ORDER_HINT
        findings.append(
            _error(
                source,
                code,
                f"Invalid role tag in {messages_repr(turns)}. ({why}; LF drops the sample)",
                hint,
                where,
                dataset,
            )
        )
        break
    odd_wanted = ranking
    if (len(turns) % 2 == 1) != odd_wanted and not findings:
        if ranking:
            why = f"{len(turns)} turns; preference data must end on the user turn the answers reply to"
            hint = "drop the last assistant turn (chosen/rejected hold the answers)"
        else:
            why = f"{len(turns)} turns; a training sample must end on an assistant (or function_call) turn"
            hint = "drop the unanswered last turn, or add the answer"
        findings.append(
            _error(
                source,
                "turn-count",
                f"Invalid message count in {messages_repr(turns)}. ({why}; LF drops the sample)",
                hint,
                dataset=dataset,
            )
        )
    findings.extend(_check_answers(sample, dataset))
    return findings


def _check_answers(sample: Sample, dataset: str | None) -> list[Finding]:
    """Empty answers, observation/function_call placement, function-call JSON, tools JSON."""
    findings: list[Finding] = []
    source = sample.source
    turns = sample.turns
    for i, turn in enumerate(turns):
        role = turn.role
        if role is _ASSISTANT:
            if turn.content.strip():
                continue  # the common case: nothing to say, nothing built
            where = source.turn_path(i)
            findings.append(
                Finding.at(
                    source,
                    "content-empty",
                    Severity.WARNING,
                    "the assistant turn is empty; LF trains on an empty answer",
                    hint="fill in the answer or drop the turn pair",
                    subpath=where,
                    dataset=dataset,
                )
            )
        elif role is _FUNCTION:
            where = source.turn_path(i)
            problem = function_call_problem(turn.content)
            if problem is not None:
                findings.append(
                    _error(
                        source,
                        "function-call-json",
                        f"Invalid JSON format in function message: {[turn.content]!s}. ({problem}; LF "
                        "stops the whole run)",
                        'write the call as JSON: {"name": "...", "arguments": {...}} (or a list of them)',
                        where,
                        dataset,
                    )
                )
            if i + 1 < len(turns) and turns[i + 1].role is not Role.OBSERVATION:
                findings.append(
                    Finding.at(
                        source,
                        "function-call-unanswered",
                        Severity.WARNING,
                        "a function_call turn is not followed by an observation (the tool result)",
                        hint="add the observation turn after the call",
                        subpath=where,
                        dataset=dataset,
                    )
                )
        elif role is _OBSERVATION and (i == 0 or turns[i - 1].role is not _FUNCTION):
            where = source.turn_path(i)
            findings.append(
                Finding.at(
                    source,
                    "observation-without-call",
                    Severity.WARNING,
                    "an observation (tool result) turn does not follow a function_call turn",
                    hint="put the function_call turn before its observation",
                    subpath=where,
                    dataset=dataset,
                )
            )
    if sample.tools:
        try:
            json.loads(sample.tools)
        except ValueError:
            findings.append(
                _error(
                    source,
                    "tools-json",
                    f"Invalid JSON format in tool description: {[sample.tools]!s}. (LF stops the whole run)",
                    "`tools` must be the JSON text of the list of function schemas",
                    ".tools",
                    dataset,
                )
            )
    for name, answer in (("chosen", sample.chosen), ("rejected", sample.rejected)):
        if answer is not None and answer.role not in _ANSWER_SIDE:
            findings.append(
                _error(
                    source,
                    "role-preference-answer",
                    f"Invalid role tag in {messages_repr([answer])}. (the {name} answer has role "
                    f"{_role_name(answer.role)}; LF trains it as that role)",
                    "give chosen and rejected the assistant role",
                    f".{name}",
                    dataset,
                )
            )
    return findings


def function_call_problem(content: str) -> str | None:
    """Why LF's function formatter cannot parse this function_call content, or ``None``."""
    text = content
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    try:
        calls = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(calls, list):
        calls = [calls]
    for call in calls:
        if not isinstance(call, dict) or "name" not in call or "arguments" not in call:
            return "each call needs `name` and `arguments`"
    return None
