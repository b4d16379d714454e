"""``--from auto``: tell the source format from the first records' keys, and say why.

Looks at up to :data:`PROBE` records: ``conversations`` with an ``image`` field is LLaVA, other
``conversations`` ShareGPT; ``messages`` with content parts, ``tool_calls`` or ``tool`` roles is
OpenAI, plain ``messages`` with string content ShareGPT (LF's own role/content layout);
``instruction``/``output`` is Alpaca; ``query``/``response`` or ``conversation`` pairs ms-swift; a
folder holding ``dataset_info.json`` (or that file) is an existing LLaMA-Factory dataset.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from mmconvert.converters.records import first_undecodable, iter_objects, split_records
from mmconvert.errors import InputError

PROBE = 20


def _is_openai(records: list[dict[str, Any]]) -> bool:
    for record in records:
        messages = record.get("messages")
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, dict):
                continue
            if isinstance(message.get("content"), list) or message.get("tool_calls"):
                return True
            if message.get("role") in ("tool", "function", "developer"):
                return True
    return False


def detect_format(path: str, known: Collection[str]) -> tuple[str, str]:
    """``(format, reason)`` for the file at ``path``; :class:`InputError` when nothing fits."""
    if "llamafactory" in known and (
        os.path.basename(path) == "dataset_info.json"
        or (os.path.isdir(path) and os.path.isfile(os.path.join(path, "dataset_info.json")))
    ):
        return "llamafactory", "detected llamafactory (a LLaMA-Factory dataset folder with dataset_info.json)"
    split = split_records(path)
    records = [value for _, value in iter_objects(split.records, PROBE) if isinstance(value, dict)]
    if not records:
        undecodable = first_undecodable(split, PROBE)
        if undecodable is not None:
            raise InputError(f"{path}: {undecodable}")
        raise InputError(f"{path}: no JSON object records to detect the format from", hint="pass --from")
    keys: set[str] = set()
    for record in records:
        keys.update(record)
    shown = ", ".join(sorted(keys)[:12])
    candidates: list[tuple[str, str]] = []
    if "conversations" in keys:
        if "image" in keys and "images" not in keys:
            candidates.append(("llava", "`conversations` records with an `image` field"))
        candidates.append(("sharegpt", "`conversations` records"))
    if "messages" in keys:
        if _is_openai(records):
            candidates.append(("openai", "`messages` with content parts, tool calls or tool roles"))
        candidates.append(("sharegpt", "`messages` records with role/content strings"))
        candidates.append(("openai", "`messages` records"))
    if "instruction" in keys or ("output" in keys and "input" in keys):
        candidates.append(("alpaca", "`instruction`/`input`/`output` records"))
    if keys & {"query", "conversation", "rejected_response"}:
        why = "ms-swift `query`/`response`, `conversation` pair or `rejected_response` records"
        candidates.insert(0, ("swift", why))
    for name, why in candidates:
        if name in known:
            return name, f"detected {name} ({why}; keys seen: {shown})"
    if candidates:
        raise InputError(f"{path}: detected {candidates[0][0]}, but that importer is not available")
    raise InputError(
        f"{path}: cannot tell the format from the record keys ({shown})",
        hint="pass --from (sharegpt, llava, openai, alpaca, ...)",
    )
