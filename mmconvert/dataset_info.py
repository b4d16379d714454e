"""``dataset_info.json``: read it, build entries, and merge one entry in without touching the others.

The merge edits the file's text, not a re-serialised dict: every other entry keeps its bytes, its key
order and its indentation.  It runs under an exclusive lock on the folder and replaces the file
atomically, so two mmconvert processes adding different entries to one folder both land.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmconvert.errors import OutputConflict
from mmconvert.io import atomic_output, fsync_dir

DATA_CONFIG = "dataset_info.json"

try:  # POSIX only; elsewhere merges are not locked against concurrent writers.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class RegistryText:
    """The text of a ``dataset_info.json`` and where each top-level entry sits in it."""

    text: str
    spans: dict[str, tuple[int, int, int]]  # name -> (key start, value start, value end)
    close: int  # index of the closing brace

    @property
    def names(self) -> list[str]:
        return list(self.spans)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def parse_registry(text: str, where: str) -> RegistryText:
    """Locate each top-level entry; :class:`OutputConflict` if the text is not a JSON object."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OutputConflict(
            f"{where}: not valid JSON ({exc}); refusing to change it",
            hint="fix or move the file, then run again",
        ) from exc
    if not isinstance(data, dict):
        raise OutputConflict(
            f"{where}: the top level is a {type(data).__name__}, LLaMA-Factory expects an object "
            "of dataset entries; refusing to change it",
            hint="fix or move the file, then run again",
        )
    decoder = json.JSONDecoder()
    spans: dict[str, tuple[int, int, int]] = {}
    i = _skip_ws(text, 0) + 1  # past "{"
    while True:
        i = _skip_ws(text, i)
        if text[i] == "}":
            return RegistryText(text, spans, i)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
        key_start = i
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _skip_ws(text, i)
        i = _skip_ws(text, i + 1)  # past ":"
        value_start = i
        _, i = decoder.raw_decode(text, i)
        spans[key] = (key_start, value_start, i)


def _indent_of(reg: RegistryText) -> tuple[str, int | None]:
    """(whitespace before a top-level key, indent unit) as the file uses them."""
    if not reg.spans:
        return "\n  ", 2
    key_start = next(iter(reg.spans.values()))[0]
    j = key_start
    while j > 0 and reg.text[j - 1] in " \t":
        j -= 1
    if j > 0 and reg.text[j - 1] == "\n":
        lead = reg.text[j:key_start]
        return "\n" + lead, max(len(lead), 1)
    return " ", None


def format_entry(entry: dict[str, Any], lead: str, unit: int | None) -> str:
    if unit is None:
        return json.dumps(entry, ensure_ascii=False)
    body = json.dumps(entry, indent=unit, ensure_ascii=False)
    return body.replace("\n", lead)


def merged_text(existing: str | None, name: str, entry: dict[str, Any], force: bool, where: str) -> str:
    """The new file text with ``name`` set to ``entry``; :class:`OutputConflict` if it exists already
    and ``force`` is false."""
    if existing is None or not existing.strip():
        return json.dumps({name: entry}, indent=2, ensure_ascii=False) + "\n"
    reg = parse_registry(existing, where)
    lead, unit = _indent_of(reg)
    value = format_entry(entry, lead, unit)
    text = reg.text
    if name in reg.spans:
        if not force:
            raise OutputConflict(
                f"{where} already has an entry {name!r}",
                hint="choose another --name, or pass --force to replace that entry",
            )
        _, start, end = reg.spans[name]
        return text[:start] + value + text[end:]
    key = json.dumps(name, ensure_ascii=False)
    if not reg.spans:
        closing = "\n" if unit is not None else ""
        return text[: reg.close].rstrip() + f"{lead}{key}: {value}{closing}" + text[reg.close :]
    last_end = max(end for _, _, end in reg.spans.values())
    return text[:last_end] + f",{lead}{key}: {value}" + text[last_end:]


def read_registry_text(folder: str | os.PathLike[str]) -> str | None:
    path = Path(folder) / DATA_CONFIG
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputConflict(f"{path}: cannot read it ({exc}); refusing to change it") from exc


def check_entry_free(folder: str | os.PathLike[str], name: str, force: bool) -> None:
    """Fail early (before converting) when the entry exists or the file cannot be merged."""
    where = str(Path(folder) / DATA_CONFIG)
    text = read_registry_text(folder)
    if text is None or not text.strip():
        return
    reg = parse_registry(text, where)
    if name in reg.spans and not force:
        raise OutputConflict(
            f"{where} already has an entry {name!r}",
            hint="choose another --name, or pass --force to replace that entry",
        )


@contextlib.contextmanager
def locked(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (flock on the directory itself) while merging."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def restore_registry(folder: str | os.PathLike[str], text: str | None) -> None:
    """Put ``folder/dataset_info.json`` back as it was (``None``: it did not exist); best effort, used
    when a conversion fails after its entry was merged (caller holds :func:`locked`)."""
    path = Path(folder) / DATA_CONFIG
    with contextlib.suppress(OSError):
        if text is None:
            path.unlink(missing_ok=True)
        else:
            with atomic_output(path, path.stat().st_mode & 0o777) as fh:
                fh.write(text.encode("utf-8"))
        fsync_dir(folder)


def write_entry(folder: str | os.PathLike[str], name: str, entry: dict[str, Any], force: bool) -> None:
    """Merge ``entry`` into ``folder/dataset_info.json`` (caller holds :func:`locked`)."""
    path = Path(folder) / DATA_CONFIG
    existing = read_registry_text(folder)
    text = merged_text(existing, name, entry, force, str(path))
    mode = path.stat().st_mode & 0o777 if existing is not None else None
    with atomic_output(path, mode) as fh:
        fh.write(text.encode("utf-8"))
    fsync_dir(folder)


# ---------------------------------------------------------------------------------------------------
# Linting entries (``mmconvert validate``): what LF 0.9.5 silently ignores or resets


def _schema_names(*keys: str) -> tuple[str, ...]:
    """Names listed in the shipped entry schema (``dataset_info_entry.schema.json``) at ``keys``."""
    from mmconvert.schemas import load_schema

    node: Any = load_schema("dataset_info_entry")
    for key in keys:
        node = node[key]
    return tuple(node)


#: The attributes LF 0.9.5's ``DatasetAttr`` reads, from the shipped schema (the one place they are listed).
ENTRY_KEYS = _schema_names("properties")
#: LF 0.9.5's ``DatasetAttr`` column and tag attribute names (``parser.DatasetAttr.join``).
ENTRY_COLUMN_KEYS = _schema_names("properties", "columns", "propertyNames", "enum")
ENTRY_TAG_KEYS = _schema_names("properties", "tags", "propertyNames", "enum")
_ALPACA_DEFAULTS = {"prompt": "instruction", "query": "input", "response": "output"}


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def lint_entry(name: str, entry: Any, registry_path: str) -> list[Any]:
    """Warnings about one ``dataset_info.json`` entry that LF would not report: unknown (misspelt)
    attributes, which it ignores; a partial ``columns``/``tags`` object, which resets every attribute
    not listed to None; non-boolean ``ranking``; hub/script/cloud sources (not checked offline)."""
    from mmconvert.findings import Finding, Severity

    found: list[Finding] = []
    if not isinstance(entry, dict):
        return found

    def warn(code: str, message: str, hint: str | None, path: str) -> None:
        found.append(
            Finding(
                code=code,
                severity=Severity.WARNING,
                message=message,
                file=registry_path,
                path=f"$.{name}{path}",
                hint=hint,
                dataset=name,
            )
        )

    for code, message, hint, path in _schema_warnings(entry):
        warn(code, message, hint, path)
    formatting = entry.get("formatting", "alpaca")
    columns = entry.get("columns")
    if isinstance(columns, dict):
        if formatting == "alpaca":
            reset = [k for k in _ALPACA_DEFAULTS if k not in columns]
            if reset:
                warn(
                    "entry-columns-partial",
                    "columns does not list " + ", ".join(reset) + ": once columns is given LF sets every "
                    "attribute not listed to None (the defaults "
                    + ", ".join(f"{k}={_ALPACA_DEFAULTS[k]!r}" for k in reset)
                    + " are gone)",
                    "list " + ", ".join(f'"{k}": "{_ALPACA_DEFAULTS[k]}"' for k in reset) + " in columns",
                    ".columns",
                )
        elif "messages" not in columns:
            warn(
                "entry-columns-partial",
                "columns does not list messages: once columns is given LF sets it to None "
                "(the default 'conversations' is gone) and loading fails with KeyError: None",
                'add "messages": "conversations" (or your column) to columns',
                ".columns",
            )
    tags = entry.get("tags")
    if isinstance(tags, dict):
        missing = [k for k in ENTRY_TAG_KEYS if k not in tags]
        if missing and formatting in ("sharegpt", "openai"):
            warn(
                "entry-tags-partial",
                "tags does not list " + ", ".join(missing) + ": once tags is given LF sets every tag not "
                "listed to None, so turns with those roles are dropped or fail",
                "list all seven tags (role_tag, content_tag, user_tag, assistant_tag, observation_tag, "
                "function_tag, system_tag)",
                ".tags",
            )
    return found


def _schema_warnings(entry: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """``(code, message, hint, JSON sub-path)`` for what the shipped entry schema rejects and LF ignores
    or misreads silently: unknown attributes (typos), unknown column and tag names, a ``ranking`` that
    is not a boolean.  Found by jsonschema; the wording is built from the error's path and value."""
    from mmconvert.schemas import validator

    for error in sorted(validator("dataset_info_entry").iter_errors(entry), key=lambda e: list(e.path)):
        where = list(error.absolute_path)
        schema_path = list(error.absolute_schema_path)
        if error.validator == "additionalProperties" and not where:
            for key in entry:
                if key not in ENTRY_KEYS:
                    yield (
                        "entry-unknown-key",
                        f"unknown attribute {key!r}: LF ignores it silently{_did_you_mean(key, ENTRY_KEYS)}",
                        "remove or rename it",
                        f".{key}",
                    )
        elif "propertyNames" in schema_path and where in (["columns"], ["tags"]):
            key, known = error.instance, ENTRY_COLUMN_KEYS if where == ["columns"] else ENTRY_TAG_KEYS
            what = "column" if where == ["columns"] else "tag"
            yield (
                f"entry-unknown-{what}",
                f"unknown {what} attribute {key!r}: LF ignores it{_did_you_mean(key, known)}",
                f"{what} attributes are: " + ", ".join(known),
                f".{where[0]}.{key}",
            )
        elif where == ["ranking"] and error.validator == "type":
            yield (
                "entry-ranking-type",
                f"ranking is {json.dumps(error.instance)}, not a JSON boolean: LF compares it with "
                "`is True`/`is False`",
                "write true or false without quotes",
                ".ranking",
            )
