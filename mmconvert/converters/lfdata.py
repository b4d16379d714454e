"""LLaMA-Factory's own dataset files, read exactly as LF 0.9.5 reads them.

A ``dataset_info.json`` entry is turned into the attributes LF's ``parser.DatasetAttr`` would hold (with
its all-or-nothing ``columns``/``tags`` rule), its ``file_name`` resolved the way
``loader._load_single_dataset`` does (folders, extension rules), the rows loaded with the Arrow typing
rules of ``datasets`` (one type per column, ``null`` filling absent keys), and every row aligned by a port
of LF's alpaca/sharegpt/openai converters (``converter.py``, Apache-2.0) into LF's aligned record
(``_prompt``, ``_response``, ``_system``, ``_tools``, ``_images``...).  Whatever would make LF abort the
load is a :class:`LoadProblem`; rows are then judged by :mod:`mmconvert.validate`.

:func:`read` is the ``llamafactory`` importer: the aligned rows LF would train, as common-model samples,
so an existing LF dataset can be re-exported or repaired with ``mmconvert convert --from llamafactory``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, Literal

import msgspec

from mmconvert.dataset_info import DATA_CONFIG, ENTRY_COLUMN_KEYS, ENTRY_TAG_KEYS
from mmconvert.errors import InputError, UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import DECODE_FAILURES, decode_problem, paused_gc
from mmconvert.jsonerrors import in_line, locate
from mmconvert.media import DirectoryIndex, FileState
from mmconvert.model import Dataset, Media, MediaKind, Role, Sample, SourceRef, Turn

COLUMN_ATTRS = ENTRY_COLUMN_KEYS
TAG_ATTRS = ENTRY_TAG_KEYS
COLUMN_DEFAULTS: dict[str, str | None] = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "messages": "conversations",
}
TAG_DEFAULTS: dict[str, str] = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
FILEEXT2TYPE = {
    "arrow": "arrow",
    "csv": "csv",
    "json": "json",
    "jsonl": "json",
    "parquet": "parquet",
    "txt": "text",
}
HUB_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url")
# LF's aligned roles (data_utils.Role)
USER, ASSISTANT, SYSTEM, FUNCTION, OBSERVATION = "user", "assistant", "system", "function", "observation"
MEDIA_COLUMNS = (("images", MediaKind.IMAGE), ("videos", MediaKind.VIDEO), ("audios", MediaKind.AUDIO))


class LoadProblem(Exception):
    """LF cannot load the dataset at all (it raises before or while aligning rows): one error for the
    whole dataset.  ``index`` is the row that triggered it during alignment, if any."""

    def __init__(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        file: str | None = None,
        index: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.file = file
        self.index = index
        self.path = path

    def finding(self, dataset: str | None) -> Finding:
        return Finding(
            code=self.code,
            severity=Severity.ERROR,
            message=self.message,
            file=self.file,
            index=self.index,
            path=self.path,
            hint=self.hint,
            dataset=dataset,
        )


@dataclass
class EntryAttr:
    """What ``parser.DatasetAttr`` holds for one entry after ``get_dataset_list`` and ``join``."""

    load_from: str
    dataset_name: Any
    formatting: Any = "alpaca"
    ranking: Any = False
    subset: Any = None
    split: Any = "train"
    folder: Any = None
    num_samples: Any = None
    columns: dict[str, Any] = field(default_factory=lambda: {k: COLUMN_DEFAULTS.get(k) for k in COLUMN_ATTRS})
    tags: dict[str, Any] = field(default_factory=lambda: dict(TAG_DEFAULTS))

    def col(self, name: str) -> Any:
        return self.columns[name]

    def tag(self, name: str) -> Any:
        return self.tags[name]

    @classmethod
    def from_entry(cls, name: str, entry: Any, where: str) -> EntryAttr:
        """LF's reading of ``dataset_info[name]``; :class:`LoadProblem` where LF raises."""
        path = f"$.{name}"
        if not isinstance(entry, dict):
            raise LoadProblem(
                "entry-not-object",
                f"the entry {name!r} is a {type(entry).__name__}, not an object "
                f"(LF: TypeError while reading it)",
                hint='write {"file_name": "data.json", ...}',
                file=where,
                path=path,
            )
        if any(k in entry for k in HUB_KEYS):
            has_hf, has_ms, has_om = (k in entry for k in HUB_KEYS)
            if has_ms and not has_hf:
                attr = cls("ms_hub", entry["ms_hub_url"])
            elif has_om and not has_hf:
                attr = cls("om_hub", entry["om_hub_url"])
            else:
                attr = cls("hf_hub", entry["hf_hub_url"])
        elif "script_url" in entry:
            attr = cls("script", entry["script_url"])
        elif "cloud_file_name" in entry:
            attr = cls("cloud_file", entry["cloud_file_name"])
        elif "file_name" in entry:
            attr = cls("file", entry["file_name"])
        else:
            raise LoadProblem(
                "entry-no-source",
                f"the entry {name!r} has no file_name (LF: KeyError: 'file_name')",
                hint="add file_name (or hf_hub_url / script_url / cloud_file_name)",
                file=where,
                path=path,
            )
        attr.formatting = entry.get("formatting", "alpaca")
        attr.ranking = entry.get("ranking", False)
        attr.subset = entry.get("subset")
        attr.split = entry.get("split", "train")
        attr.folder = entry.get("folder")
        attr.num_samples = entry.get("num_samples")
        if "columns" in entry:
            columns = entry["columns"]
            if not isinstance(columns, dict):
                raise LoadProblem(
                    "entry-columns-not-object",
                    f"columns of {name!r} is {json.dumps(columns)}, not an object (LF: AttributeError: "
                    f"'{type(columns).__name__}' object has no attribute 'get')",
                    hint="write columns as an object, or remove the key",
                    file=where,
                    path=path + ".columns",
                )
            attr.columns = {k: columns.get(k) for k in COLUMN_ATTRS}
        if "tags" in entry:
            tags = entry["tags"]
            if not isinstance(tags, dict):
                raise LoadProblem(
                    "entry-tags-not-object",
                    f"tags of {name!r} is {json.dumps(tags)}, not an object (LF: AttributeError: "
                    f"'{type(tags).__name__}' object has no attribute 'get')",
                    hint="write tags as an object, or remove the key",
                    file=where,
                    path=path + ".tags",
                )
            attr.tags = {k: tags.get(k) for k in TAG_ATTRS}
        return attr


# ---------------------------------------------------------------------------------------------------
# Loading files (loader._load_single_dataset + datasets' builders)


def resolve_data_files(attr: EntryAttr, dataset_dir: str) -> list[str]:
    """The files LF loads for a ``file_name`` entry, in its order; :class:`LoadProblem` otherwise."""
    name = attr.dataset_name
    if not isinstance(name, str):
        raise LoadProblem(
            "entry-file-name-type", f"file_name is {json.dumps(name)}, not a string (LF: TypeError)"
        )
    local_path = os.path.join(dataset_dir, name)
    if os.path.isdir(local_path):
        files = [os.path.join(local_path, f) for f in os.listdir(local_path)]
        if not files:
            raise LoadProblem(
                "data-folder-empty",
                f"the folder {local_path} is empty (LF: IndexError: list index out of range)",
                hint="put the data files in it, or point file_name at a file",
                file=local_path,
            )
    elif os.path.isfile(local_path):
        files = [local_path]
    else:
        raise LoadProblem(
            "data-file-missing",
            f"File {local_path} not found.",
            hint="fix file_name (it is relative to dataset_dir) or copy the file there",
            file=local_path,
        )
    kind = FILEEXT2TYPE.get(os.path.splitext(files[0])[-1][1:])
    if kind is None:
        raise LoadProblem(
            "data-file-type",
            "Allowed file types: {}.".format(",".join(FILEEXT2TYPE)) + f" (got {os.path.basename(files[0])})",
            hint="use a .json, .jsonl, .csv, .txt, .parquet or .arrow file (lower-case extension)",
            file=files[0],
        )
    for f in files:
        if FILEEXT2TYPE.get(os.path.splitext(f)[-1][1:]) != kind:
            raise LoadProblem(
                "data-file-types-differ",
                f"File types should be identical. ({os.path.basename(f)} differs from "
                f"{os.path.basename(files[0])})",
                hint="keep only data files of one type in the folder (no README, no media sub-folders)",
                file=f,
            )
    return files


@dataclass
class LoadedRows:
    """The rows of one dataset as ``datasets`` would hand them to LF: row dicts plus where each came from."""

    rows: list[Any]
    files: list[str]
    starts: list[int]  # index of each file's first row in ``rows``
    schema: Schema
    notes: list[str] = field(default_factory=list)

    def locate(self, index: int) -> tuple[str, int]:
        """(file, index inside that file) of global row ``index``."""
        pos = 0
        for i, start in enumerate(self.starts):
            if start <= index:
                pos = i
        return self.files[pos], index - self.starts[pos]


def _decode_json_file(path: str, layout: RowLayout | None = None) -> tuple[list[Any], bool]:
    """The rows of a JSON or JSON Lines file, and whether they were decoded through ``layout``."""
    from mmconvert.io import read_json_bytes

    try:
        data = read_json_bytes(path)
    except InputError as exc:
        raise LoadProblem("data-file-unreadable", exc.message, file=path) from exc
    if not data.strip():
        raise LoadProblem(
            "data-file-empty",
            "the file is empty (datasets: no examples; LF cannot load it)",
            hint="remove the entry or fill the file",
            file=path,
        )
    if layout is not None:
        typed = layout.decode(data)
        if typed is not None:
            return typed, True
    try:
        value = msgspec.json.decode(data)
    except DECODE_FAILURES:  # not one JSON value (maybe JSON Lines), invalid UTF-8, absurd nesting
        value = None
    else:
        if isinstance(value, list):
            return value, False
        if isinstance(value, dict):
            return [value], False
        raise LoadProblem(
            "data-file-not-rows",
            f"the file holds a JSON {type(value).__name__}, not an array of objects or JSON Lines",
            file=path,
        )
    rows: list[Any] = []
    decoder = msgspec.json.Decoder()
    offset = 0
    for lineno, ended in enumerate(data.splitlines(keepends=True), 1):
        line = ended.rstrip(b"\r\n")
        start, offset = offset, offset + len(ended)
        if not line.strip():
            continue
        try:
            rows.append(decoder.decode(line))
        except DECODE_FAILURES as exc:
            problem = locate(line) if not isinstance(exc, RecursionError) else None
            where = (
                str(in_line(problem, lineno, start))
                if problem
                else f"{decode_problem(exc, line)} at line {lineno}"
            )
            raise LoadProblem(
                "data-file-json",
                f"not valid JSON or JSON Lines: {where} (datasets: JSON parse error)",
                hint="fix the JSON; a .json file may be one array or one object per line",
                file=path,
                path=f"line {lineno}",
            ) from exc
    return rows, False


def _csv_value(text: str, kind: type | None) -> Any:
    if text == "":
        return None
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    if kind is bool:
        return text == "True"
    return text


def _csv_kind(values: list[str]) -> type | None:
    present = [v for v in values if v != ""]
    if not present:
        return None
    if all(v in ("True", "False") for v in present):
        return bool
    try:
        for v in present:
            int(v)
        return int
    except ValueError:
        pass
    try:
        for v in present:
            float(v)
        return float
    except ValueError:
        return str


def _read_csv(path: str) -> list[Any]:
    """pandas.read_csv as datasets uses it: header row, numbers inferred per column, empty cells null."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            table = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LoadProblem("data-file-unreadable", f"cannot read the CSV file: {exc}", file=path) from exc
    if not table:
        raise LoadProblem("data-file-empty", "the CSV file is empty (datasets cannot load it)", file=path)
    header, body = table[0], table[1:]
    columns = list(zip(*[r + [""] * (len(header) - len(r)) for r in body], strict=False)) if body else []
    kinds = [_csv_kind(list(c)) for c in columns] if columns else [None] * len(header)
    return [{h: _csv_value(r[i] if i < len(r) else "", kinds[i]) for i, h in enumerate(header)} for r in body]


def _read_text(path: str) -> list[Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [{"text": line.rstrip("\n").rstrip("\r")} for line in fh]
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadProblem("data-file-unreadable", f"cannot read the text file: {exc}", file=path) from exc


def _read_arrow(path: str, kind: str) -> list[Any]:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise LoadProblem(
            "data-file-not-checked",
            f"{kind} files need pyarrow, which is not installed; this dataset was not checked",
            hint="pip install pyarrow",
            file=path,
        ) from exc
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            import pyarrow as pa

            with pa.memory_map(path) as source:
                try:
                    table = pa.ipc.open_stream(source).read_all()
                except pa.ArrowInvalid:
                    table = pa.ipc.open_file(source).read_all()
    except Exception as exc:
        raise LoadProblem("data-file-unreadable", f"cannot read the {kind} file: {exc}", file=path) from exc
    return list(table.to_pylist())


def load_rows(files: Sequence[str], layout: RowLayout | None = None) -> LoadedRows:
    """Every row of ``files`` (one type of file), with the Arrow schema ``datasets`` would infer.

    JSON files laid out as ``layout`` says are decoded and typed in one pass (:class:`RowLayout`)."""
    with paused_gc():
        return _load_rows(files, layout)


def _load_rows(files: Sequence[str], layout: RowLayout | None) -> LoadedRows:
    kind = FILEEXT2TYPE[os.path.splitext(files[0])[-1][1:]]
    rows: list[Any] = []
    starts: list[int] = []
    all_typed = kind == "json" and layout is not None
    for path in files:
        starts.append(len(rows))
        if kind == "json":
            part, typed = _decode_json_file(path, layout)
            all_typed = all_typed and typed
        elif kind == "csv":
            part = _read_csv(path)
        elif kind == "text":
            part = _read_text(path)
        else:
            part = _read_arrow(path, kind)
        rows.extend(part)
    if not rows:
        raise LoadProblem(
            "data-file-empty",
            "the dataset has no rows (datasets: no examples; LF cannot load it)",
            hint="remove the entry or add samples",
            file=files[0],
        )
    loaded = LoadedRows(rows, list(files), starts, Schema({}))
    if all_typed and layout is not None:
        loaded.schema = layout.schema(rows)
    else:
        loaded.schema = infer_schema(loaded)
    return loaded


# ---------------------------------------------------------------------------------------------------
# Typed decoding: a file laid out as its entry declares is decoded and typed in one pass

_TEXT: Any = str | None
_PATHS: Any = list[str] | None
_MESSAGES, _MESSAGE = "messages", "message"  # RowLayout.columns: structs of the role and content tags
_LAYOUT_TYPES: dict[Any, dict[str, tuple[Any, Any]]] = {  # formatting -> column attr -> (kind, descriptor)
    "alpaca": {
        "prompt": (_TEXT, str),
        "query": (_TEXT, str),
        "response": (_TEXT, str),
        "history": (list[list[str]] | None, ("L", ("L", str))),
        "system": (_TEXT, str),
        "tools": (_TEXT, str),
        "chosen": (_TEXT, str),
        "rejected": (_TEXT, str),
    },
    "sharegpt": {
        "messages": (_MESSAGES, _MESSAGES),
        "system": (_TEXT, str),
        "tools": (_TEXT, str),
        "chosen": (_MESSAGE, _MESSAGE),
        "rejected": (_MESSAGE, _MESSAGE),
    },
}
_LAYOUT_TYPES["openai"] = _LAYOUT_TYPES["sharegpt"]
_SHARED_LAYOUT = {
    "images": (_PATHS, ("L", str)),
    "videos": (_PATHS, ("L", str)),
    "audios": (_PATHS, ("L", str)),
    "kto_tag": (bool | None, bool),
}


@dataclass(frozen=True)
class RowLayout:
    """How the rows of a JSON array file look when laid out as the entry declares: one object per row
    with exactly the columns the entry's converter reads, each holding one JSON type (or null) in every
    row (text, a list of paths, a boolean; for sharegpt/openai, message objects holding only the role
    and content tags).

    A file that fits is decoded by msgspec straight into typed rows, then plain dicts holding what an
    untyped decode gives (message objects keep their key order; a row's columns come in the layout's
    order, which nothing reads), and needs no typing pass: every column's values join without a
    conflict, and only which tags occur in the message objects remains to be read, from the first rows.
    A file that does not fit somewhere is decoded and typed as usual (the typed attempt stops where it
    fails), which finds whatever breaks it."""

    decoder: msgspec.json.Decoder[Any]  # of a list of msgspec Structs, one field per column
    columns: dict[str, Any]  # column -> Arrow descriptor, or _MESSAGES / _MESSAGE
    message_keys: tuple[str, ...]

    @classmethod
    def of(cls, attr: EntryAttr) -> RowLayout | None:
        """The layout ``attr`` declares; None when no typed layout applies (an unknown formatting, a tag or
        column name that is not an identifier, two attributes naming one column)."""
        kinds = _LAYOUT_TYPES.get(attr.formatting) if isinstance(attr.formatting, str) else None
        if kinds is None:
            return None
        role, content = attr.tag("role_tag"), attr.tag("content_tag")
        message_keys = (role, content) if isinstance(role, str) and isinstance(content, str) else ()
        message: Any = dict[Literal[message_keys], _TEXT] if message_keys else None  # type: ignore[valid-type]
        fields: list[tuple[str, Any]] = []
        columns: dict[str, Any] = {}
        for attribute, (kind, descriptor) in [*kinds.items(), *_SHARED_LAYOUT.items()]:
            name = attr.col(attribute)
            if not name:  # LF does not read it
                continue
            if not isinstance(name, str) or name in columns:
                return None
            if descriptor in (_MESSAGES, _MESSAGE):
                if message is None:
                    return None
                kind = list[message] | None if descriptor == _MESSAGES else message | None
            fields.append((name, kind))
            columns[name] = descriptor
        try:
            row_type = msgspec.defstruct("Row", fields, forbid_unknown_fields=True)
            decoder = msgspec.json.Decoder(list[row_type])  # type: ignore[valid-type]
        except (TypeError, ValueError):  # a column name msgspec cannot use as a field
            return None
        return cls(decoder, columns, message_keys)

    def decode(self, data: bytes) -> list[Any] | None:
        """The rows of a JSON file's bytes as dicts, or None when the file does not fit the layout."""
        try:
            typed = self.decoder.decode(data)
        except DECODE_FAILURES:
            return None
        return list(map(msgspec.structs.asdict, typed))

    def schema(self, rows: list[Any]) -> Schema:
        """The schema of rows decoded through this layout (at least one): the columns' Arrow types, and
        the tags that occur in the message objects, read until each has been seen."""
        columns: dict[str, Any] = {}
        for name, descriptor in self.columns.items():
            if descriptor == _MESSAGES:
                turns = chain.from_iterable(filter(None, map(dict.get, rows, repeat(name))))
                columns[name] = ("L", ("D", self._present(turns)))
            elif descriptor == _MESSAGE:
                columns[name] = ("D", self._present(map(dict.get, rows, repeat(name))))
            else:
                columns[name] = descriptor
        return Schema(columns)

    def _present(self, messages: Iterator[Any]) -> dict[str, Any]:
        """``{tag: str}`` for the message tags some message of ``messages`` holds (a null content counts:
        the column is a string column with nulls)."""
        missing = set(self.message_keys)
        for message in messages:
            if message:
                missing.difference_update(message)
                if not missing:
                    break
        return {key: str for key in self.message_keys if key not in missing}


# ---------------------------------------------------------------------------------------------------
# Arrow typing: one type per column, null fills absent keys


_NULL = type(None)
_NAMES = {str: "string", int: "number", float: "number", bool: "boolean", _NULL: "null"}


class TypeConflict(Exception):
    def __init__(self, where: str, first: Any, second: Any) -> None:
        super().__init__(where)
        self.where = where
        self.first = first
        self.second = second


def _type_name(desc: Any) -> str:
    if isinstance(desc, tuple):
        return "array" if desc[0] == "L" else "object"
    return _NAMES.get(desc, "value")


_SCALARS = frozenset(_NAMES)


def _infer(value: Any) -> Any:
    t = type(value)
    if t is list:
        elem: Any = _NULL
        for item in value:
            elem = _unify(elem, _infer(item), "/[]")
        return ("L", elem)
    if t is dict:
        return ("D", {k: _infer(v) for k, v in value.items()})
    if t in _NAMES:
        return t
    return object


def _unify(a: Any, b: Any, where: str) -> Any:
    if a is b or a == b:
        return a
    if a is _NULL:
        return b
    if b is _NULL:
        return a
    if (a is int and b is float) or (a is float and b is int):
        return float
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        if a[0] == "L":
            return ("L", _unify(a[1], b[1], where + "/[]"))
        merged = dict(a[1])
        for k, v in b[1].items():
            merged[k] = _unify(merged[k], v, f"{where}/{k}") if k in merged else v
        return ("D", merged)
    raise TypeConflict(where, a, b)


class ArrowTyper:
    """:func:`_infer`/:func:`_unify` with memos: rows of one file share a few shapes, so most values are
    typed by one tuple build and a dict lookup, and unifying equal shapes is an identity test."""

    def __init__(self) -> None:
        self._structs: dict[tuple[Any, ...], Any] = {}
        self._lists: dict[int, tuple[Any, Any]] = {}
        self._unified: dict[tuple[int, int], tuple[Any, Any, Any]] = {}

    def infer(self, value: Any) -> Any:
        t = type(value)
        if t is dict:
            types = tuple(map(type, value.values()))
            if _SCALARS.issuperset(types):
                key = (tuple(value), types)
                desc = self._structs.get(key)
                if desc is None:
                    desc = ("D", dict(zip(value, types, strict=True)))
                    self._structs[key] = desc
                return desc
            return ("D", {k: self.infer(v) for k, v in value.items()})
        if t is list:
            elem: Any = _NULL
            structs = self._structs
            for item in value:
                if type(item) is dict:
                    types = tuple(map(type, item.values()))
                    d = structs.get((tuple(item), types))
                    if d is None:
                        d = self.infer(item)
                else:
                    d = self.infer(item)
                if d is not elem:
                    elem = self.unify(elem, d, "/[]")
            hit = self._lists.get(id(elem))
            if hit is None or hit[0] is not elem:
                hit = (elem, ("L", elem))
                self._lists[id(elem)] = hit
            return hit[1]
        if t in _NAMES:
            return t
        return object

    def unify(self, a: Any, b: Any, where: str) -> Any:
        if a is b:
            return a
        key = (id(a), id(b))
        hit = self._unified.get(key)
        if hit is not None and hit[0] is a and hit[1] is b:
            return hit[2]
        result = _unify(a, b, where)
        if result == a:
            result = a
        elif result == b:
            result = b
        self._unified[key] = (a, b, result)
        return result


def _column_type(values: list[Any]) -> Any:
    """The Arrow type (descriptor) of one column: what :func:`_unify` folds from ``values``' types, but
    computed a column at a time with C-level passes (``set(map(type, ...))``, ``chain``, ``dict.get``)
    instead of a Python call per value.  A list column is typed from all of its items at once, a struct
    column field by field.  :class:`TypeConflict` (without a usable place) when the values have no common
    type, or hold something other than JSON values: :func:`infer_schema` then types the rows one by one,
    which finds and names the conflict."""
    return _join_types(values, set(map(type, values)))


def _join_types(values: list[Any], types: set[type]) -> Any:
    """:func:`_column_type` of ``values`` whose Python types are ``types``."""
    nulls = _NULL in types
    types.discard(_NULL)
    if not types:
        return _NULL
    if len(types) > 1:
        if types == {int, float}:
            return float
        raise TypeConflict("", None, None)
    kind = types.pop()
    if kind is list:
        return ("L", _column_type(list(chain.from_iterable(filter(None, values) if nulls else values))))
    if kind is dict:
        structs = list(filter(None, values)) if nulls else values  # null adds no field
        if structs and set(map(len, structs)) == {len(structs[0])}:
            # One size: if every struct has the first one's keys, they all have exactly those.
            fields = {}
            for key in structs[0]:
                column = list(map(dict.get, structs, repeat(key), repeat(_ABSENT)))
                column_types = set(map(type, column))
                if _Absent in column_types:
                    break
                fields[key] = _join_types(column, column_types)
            else:
                return ("D", fields)
        keys = dict.fromkeys(chain.from_iterable(dict.fromkeys(map(tuple, structs))))
        return ("D", {k: _column_type(list(map(dict.get, structs, repeat(k)))) for k in keys})
    if kind in _NAMES:
        return kind
    raise TypeConflict("", None, None)


class _Absent:
    """What :func:`_join_types` reads for a key a struct does not have."""


_ABSENT = _Absent()


@dataclass
class Schema:
    """The inferred table schema: top-level column types (``("D", {...})`` descriptors)."""

    columns: dict[str, Any]

    def keys_of(self, column: Any, *, list_items: bool = False) -> frozenset[str]:
        """Keys of the struct stored in ``column`` (or in its list items)."""
        desc = self.columns.get(column) if isinstance(column, str) else None
        if list_items and isinstance(desc, tuple) and desc[0] == "L":
            desc = desc[1]
        if isinstance(desc, tuple) and desc[0] == "D":
            return frozenset(desc[1])
        return frozenset()


def infer_schema(loaded: LoadedRows) -> Schema:
    """Unify every row's types the way Arrow does; :class:`LoadProblem` on a conflict.

    The table is typed column-wise (:func:`_column_type`, the rows being one struct column).  Whether
    the types join, and their join, do not depend on the order they are unified in, so that is the
    schema row-by-row unification gives; when they do not join (or a row is not an object), the rows are
    typed one by one as ``datasets`` does, to report the first row that breaks the table."""
    rows = loaded.rows
    if set(map(type, rows)) == {dict}:
        with contextlib.suppress(TypeConflict, RecursionError):
            return Schema(_column_type(rows)[1])
    return _infer_schema_rows(loaded)


def _infer_schema_rows(loaded: LoadedRows) -> Schema:
    columns: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    typer = ArrowTyper()
    for index, row in enumerate(loaded.rows):
        if type(row) is not dict:
            file, local = loaded.locate(index)
            raise LoadProblem(
                "data-row-not-object",
                f"row {local} is a JSON {type(row).__name__}, not an object (datasets cannot build a table)",
                hint="every sample must be a JSON object",
                file=file,
                index=index,
                path=f"$[{local}]",
            )
        for key, value in row.items():
            t = type(value)
            known = cache.get(key)
            if known is not None and known is t and t is not list and t is not dict:
                continue
            try:
                desc = typer.infer(value)
                columns[key] = typer.unify(columns[key], desc, f"/{key}") if key in columns else desc
            except TypeConflict as exc:
                file, local = loaded.locate(index)
                where = exc.where if exc.where.startswith(f"/{key}") else f"/{key}{exc.where}"
                raise LoadProblem(
                    "arrow-mixed-types",
                    f"Column({where}) changed from {_type_name(exc.first)} to {_type_name(exc.second)} in "
                    f"row {local}: datasets cannot load the file (ArrowInvalid / ArrowTypeError, "
                    "DatasetGenerationError)",
                    hint="give the field one JSON type in every row (media: always a list; content: "
                    "always a string)",
                    file=file,
                    index=index,
                    path=f"$[{local}].{key}",
                ) from exc
            if not isinstance(columns[key], tuple) and columns[key] is not _NULL:
                cache[key] = t if t is columns[key] else None
    return Schema(columns)


# ---------------------------------------------------------------------------------------------------
# Aligning rows: a port of LF 0.9.5's converters (converter.py) on Arrow-shaped rows


class _Missing(KeyError):
    """``example[key]`` on a column (or struct field) the table does not have."""


def _col(row: dict[str, Any], key: Any, present: frozenset[str] | dict[str, Any]) -> Any:
    if key in row:
        return row[key]
    if isinstance(key, str) and key in present:
        return None
    raise _Missing(key)


def _field(obj: Any, key: Any, present: frozenset[str]) -> Any:
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        if isinstance(key, str) and key in present:
            return None
        raise _Missing(key)
    if obj is None:
        raise TypeError("'NoneType' object is not subscriptable")
    raise TypeError(f"{type(obj).__name__} indices must be integers")


class Aligned(msgspec.Struct):
    """LF's aligned record for one row (what the converter returns), plus the row's raw messages.

    A (mutable) msgspec Struct, not a dataclass: one is built per row, and a Struct's constructor is
    several times cheaper."""

    prompt: list[dict[str, Any]]
    response: list[dict[str, Any]]
    system: Any
    tools: Any
    images: list[Any] | None
    videos: list[Any] | None
    audios: list[Any] | None
    raw_images: list[Any] | None = None
    raw_videos: list[Any] | None = None
    raw_audios: list[Any] | None = None
    warnings: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (code, LF warning text)
    kto_tag: Any = None

    def medias(self, column: str) -> list[Any] | None:
        return getattr(self, column)  # type: ignore[no-any-return]

    def raw_medias(self, column: str) -> list[Any] | None:
        return getattr(self, "raw_" + column)  # type: ignore[no-any-return]


class MediaDirIndex:
    """``os.path.isfile`` answers for LF's media-dir join, from cached folder listings."""

    def __init__(self) -> None:
        self._index = DirectoryIndex()

    def isfile(self, path: str) -> bool:
        return self._index.state(os.path.normpath(path)) is FileState.FILE


class RowAligner:
    """Aligns rows of one dataset the way LF's converter for its ``formatting`` does."""

    def __init__(self, attr: EntryAttr, schema: Schema, media_dir: str, index: MediaDirIndex | None = None):
        self.attr = attr
        self.schema = schema
        self.media_dir = media_dir
        self.top = frozenset(schema.columns)
        messages_col = attr.col("messages")
        self.msg_keys = schema.keys_of(messages_col, list_items=True)
        self.chosen_keys = schema.keys_of(attr.col("chosen"))
        self.rejected_keys = schema.keys_of(attr.col("rejected"))
        self._isfile = (index or MediaDirIndex()).isfile
        self._mapping = self._tag_mapping()
        self._role_tag, self._content_tag = attr.tag("role_tag"), attr.tag("content_tag")
        self._system_tag = attr.tag("system_tag")
        self._system_col = attr.col("system")
        self._accept = (
            (attr.tag("user_tag"), attr.tag("observation_tag")),
            (attr.tag("assistant_tag"), attr.tag("function_tag")),
        )
        self._media_cols = [(column, attr.col(column)) for column, _ in MEDIA_COLUMNS if attr.col(column)]
        self._messages_col = messages_col
        self._tools_col = attr.col("tools")
        self._kto_col = attr.col("kto_tag")
        self._ranked = bool(attr.ranking)  # LF tests ``dataset_attr.ranking`` for truth
        self._joins_media_dir = attr.load_from in ("script", "file")
        self._join_cache: dict[str, str] = {}
        formatting = attr.formatting
        converters: dict[Any, Callable[[dict[str, Any]], Aligned]] = {
            "alpaca": self._alpaca,
            "sharegpt": self._sharegpt,
            "openai": self._openai,
        }
        try:
            self.convert = converters[formatting]
        except (KeyError, TypeError):
            raise LoadProblem(
                "entry-formatting",
                f"Dataset converter {formatting} not found.",
                hint='formatting must be "alpaca", "sharegpt" or "openai"',
            ) from None

    # -- media -------------------------------------------------------------------------------------
    def find_medias(self, medias: Any) -> list[Any] | None:
        if medias is None:
            return None
        if not isinstance(medias, list):
            medias = [medias]
        elif len(medias) == 0:
            return None
        elif len(medias) == 1 and type(medias[0]) is str and self._joins_media_dir:  # the common case
            hit = self._join_cache.get(medias[0])
            return [hit if hit is not None else self._joined(medias[0])]
        else:
            medias = medias[:]
        if self._joins_media_dir:
            if isinstance(medias[0], str):
                joined = self._join_cache
                for i, item in enumerate(medias):
                    hit = joined.get(item) if type(item) is str else None
                    medias[i] = hit if hit is not None else self._joined(item)
            elif isinstance(medias[0], list):
                for i in range(len(medias)):
                    frames = list(medias[i])
                    for j in range(len(frames)):
                        media_path = os.path.join(self.media_dir, frames[j])
                        if self._isfile(media_path):
                            frames[j] = media_path
                    medias[i] = frames
        return medias

    def _joined(self, item: Any) -> Any:
        """``media_dir/item`` if that file exists, else ``item`` (LF's join); remembered for strings."""
        media_path = os.path.join(self.media_dir, item)
        hit = media_path if self._isfile(media_path) else item
        if type(item) is str and len(self._join_cache) < 1_000_000:
            self._join_cache[item] = hit
        return hit

    def _media_fields(self, row: dict[str, Any], out: Aligned) -> None:
        for column, name in self._media_cols:
            raw = row[name] if name in row else _col(row, name, self.top)
            if column == "images":
                out.raw_images, out.images = raw, self.find_medias(raw)
            elif column == "videos":
                out.raw_videos, out.videos = raw, self.find_medias(raw)
            else:
                out.raw_audios, out.audios = raw, self.find_medias(raw)

    # -- alpaca ------------------------------------------------------------------------------------
    def _alpaca(self, row: dict[str, Any]) -> Aligned:
        a = self.attr
        top = self.top
        prompt: list[dict[str, Any]] = []
        history = a.col("history")
        if history and isinstance(_col(row, history, top), list):
            for old_prompt, old_response in _col(row, history, top):
                prompt.append({"role": USER, "content": old_prompt})
                prompt.append({"role": ASSISTANT, "content": old_response})
        query = []
        if a.col("prompt") and _col(row, a.col("prompt"), top):
            query.append(_col(row, a.col("prompt"), top))
        if a.col("query") and _col(row, a.col("query"), top):
            query.append(_col(row, a.col("query"), top))
        prompt.append({"role": USER, "content": "\n".join(query)})
        kto = a.col("kto_tag")
        response: list[dict[str, Any]]
        kto_value = None
        if kto and isinstance(_col(row, kto, top), bool):
            kto_value = _col(row, kto, top)
            response = [{"role": ASSISTANT, "content": _col(row, a.col("response"), top)}]
            if kto_value:
                response = [*response, {"role": ASSISTANT, "content": ""}]
            else:
                response = [{"role": ASSISTANT, "content": ""}, *response]
        elif (
            a.ranking
            and isinstance(_col(row, a.col("chosen"), top), str)
            and isinstance(_col(row, a.col("rejected"), top), str)
        ):
            response = [
                {"role": ASSISTANT, "content": _col(row, a.col("chosen"), top)},
                {"role": ASSISTANT, "content": _col(row, a.col("rejected"), top)},
            ]
        elif a.col("response") and isinstance(_col(row, a.col("response"), top), str):
            response = [{"role": ASSISTANT, "content": _col(row, a.col("response"), top)}]
        else:
            response = []
        out = Aligned(
            prompt,
            response,
            _col(row, a.col("system"), top) if a.col("system") else "",
            _col(row, a.col("tools"), top) if a.col("tools") else "",
            None,
            None,
            None,
            kto_tag=kto_value,
        )
        self._media_fields(row, out)
        return out

    # -- sharegpt ----------------------------------------------------------------------------------
    def _tag_mapping(self) -> dict[Any, str]:
        a = self.attr
        return {
            a.tag("user_tag"): USER,
            a.tag("assistant_tag"): ASSISTANT,
            a.tag("observation_tag"): OBSERVATION,
            a.tag("function_tag"): FUNCTION,
            a.tag("system_tag"): SYSTEM,
        }

    def _leading_system(self, row: dict[str, Any], messages: Any, openai: bool) -> tuple[Any, Any]:
        role_tag, content_tag, system_tag = self._role_tag, self._content_tag, self._system_tag
        if system_tag and len(messages) != 0:
            first = messages[0]
            try:
                role = first[role_tag]
            except (KeyError, TypeError):
                role = _field(first, role_tag, self.msg_keys)
            if role == system_tag:
                return _field(first, content_tag, self.msg_keys), messages[1:]
        system_col = self._system_col
        if openai:
            return (row.get(system_col, "") if system_col else ""), messages
        return (_col(row, system_col, self.top) if system_col else ""), messages

    def _pair(self, row: dict[str, Any], out: Aligned, aligned: list[dict[str, Any]], accept: Any) -> bool:
        """The pairwise branch shared by sharegpt and openai; returns whether it applied."""
        a = self.attr
        if not (
            a.ranking
            and isinstance(_col(row, a.col("chosen"), self.top), dict)
            and isinstance(_col(row, a.col("rejected"), self.top), dict)
        ):
            return False
        role_tag, content_tag = a.tag("role_tag"), a.tag("content_tag")
        chosen = _col(row, a.col("chosen"), self.top)
        rejected = _col(row, a.col("rejected"), self.top)
        c_role = _field(chosen, role_tag, self.chosen_keys)
        r_role = _field(rejected, role_tag, self.rejected_keys)
        if c_role not in accept or r_role not in accept:
            out.warnings.append(("preference-role", f"Invalid role tag in {[chosen, rejected]}."))
        mapping = self._tag_mapping()
        if c_role not in mapping or r_role not in mapping:
            bad = c_role if c_role not in mapping else r_role
            raise KeyError(bad)
        out.prompt = aligned
        out.response = [
            {"role": mapping[c_role], "content": _field(chosen, content_tag, self.chosen_keys)},
            {"role": mapping[r_role], "content": _field(rejected, content_tag, self.rejected_keys)},
        ]
        return True

    def _finish(
        self, row: dict[str, Any], out: Aligned, aligned: list[dict[str, Any]], broken: bool, accept: Any
    ) -> None:
        kto = self._kto_col
        if broken:
            out.warnings.append(("skipped", "Skipping this abnormal example."))
            out.prompt, out.response = [], []
        elif kto and isinstance(_col(row, kto, self.top), bool):
            out.kto_tag = _col(row, kto, self.top)
            out.prompt = aligned[:-1]
            response = aligned[-1:]
            if out.kto_tag:
                out.response = [*response, {"role": ASSISTANT, "content": ""}]
            else:
                out.response = [{"role": ASSISTANT, "content": ""}, *response]
        elif self._ranked and self._pair(row, out, aligned, accept):
            pass
        elif aligned:  # the last turn answers (else both stay empty)
            out.response = [aligned.pop()]
            out.prompt = aligned

    def _sharegpt(self, row: dict[str, Any]) -> Aligned:
        role_tag, content_tag = self._role_tag, self._content_tag
        mapping = self._mapping
        accept = self._accept
        even = accept[1]
        messages = _col(row, self._messages_col, self.top)
        system, messages = self._leading_system(row, messages, openai=False)
        out = Aligned([], [], system, "", None, None, None)
        aligned: list[dict[str, Any]] = []
        broken = False
        msg_keys = self.msg_keys
        for turn_idx, message in enumerate(messages):
            try:
                role = message[role_tag]
            except (KeyError, TypeError):
                role = _field(message, role_tag, msg_keys)
            if role not in accept[turn_idx % 2]:
                out.warnings.append(("role-order", f"Invalid role tag in {messages}."))
                broken = True
                break
            try:
                content = message[content_tag]
            except (KeyError, TypeError):
                content = _field(message, content_tag, msg_keys)
            aligned.append({"role": mapping[role], "content": content})
        if (len(aligned) % 2 == 0) == self._ranked:  # odd without ranking, even with it
            out.warnings.append(("turn-count", f"Invalid message count in {messages}."))
            broken = True
        self._finish(row, out, aligned, broken, even)
        tools_col = self._tools_col
        out.tools = _col(row, tools_col, self.top) if tools_col else ""
        self._media_fields(row, out)
        return out

    def _openai(self, row: dict[str, Any]) -> Aligned:
        a = self.attr
        role_tag, content_tag = a.tag("role_tag"), a.tag("content_tag")
        mapping = self._tag_mapping()
        messages = _col(row, a.col("messages"), self.top)
        system, messages = self._leading_system(row, messages, openai=True)
        out = Aligned([], [], system, "", None, None, None)
        aligned: list[dict[str, Any]] = []
        tool_responses: list[Any] = []
        broken = False
        for message in messages:
            role = _field(message, role_tag, self.msg_keys)
            content = _field(message, content_tag, self.msg_keys)
            if role in (a.tag("assistant_tag"), a.tag("function_tag")):
                tool_calls = message.get("tool_calls") if isinstance(message, dict) else None
                if tool_calls:
                    content = json.dumps([tool["function"] for tool in tool_calls], ensure_ascii=False)
                    role = a.tag("function_tag")
            if role == a.tag("observation_tag"):
                tool_responses.append(content)
                continue
            if tool_responses:
                aligned.append(
                    {
                        "role": OBSERVATION,
                        "content": "\n</tool_response>\n<tool_response>\n".join(tool_responses),
                    }
                )
                tool_responses = []
            aligned.append({"role": mapping[role], "content": content})
        accept = ((USER, OBSERVATION), (ASSISTANT, FUNCTION))
        for turn_idx, message in enumerate(aligned):
            if message["role"] not in accept[turn_idx % 2]:
                out.warnings.append(("role-order", f"Invalid role tag in {messages}."))
                broken = True
                break
        if (not a.ranking and len(aligned) % 2 != 0) or (a.ranking and len(aligned) % 2 == 0):
            out.warnings.append(("turn-count", f"Invalid message count in {messages}."))
            broken = True
        self._finish(row, out, aligned, broken, accept[-1])
        tools = row.get(a.col("tools"), "") if a.col("tools") else ""
        if isinstance(tools, dict | list):
            tools = json.dumps(tools, ensure_ascii=False)
        short = "detailed thinking off"
        if not system:
            if not tools:
                system = short
        elif not tools:
            if "detailed thinking on" not in system and "detailed thinking off" not in system:
                system += "\n" + short
        else:
            system += "\n"
        out.system = system
        out.tools = tools
        self._media_fields(row, out)
        return out

    def align(self, row: dict[str, Any]) -> Aligned:
        """LF's aligned record for ``row``; raises what LF's converter would raise."""
        return self.convert(row)


def crash_message(exc: BaseException) -> str:
    """How Python would print the exception LF's converter raised."""
    if isinstance(exc, KeyError):
        return f"KeyError: {exc.args[0]!r}" if exc.args else "KeyError"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------------
# Opening an entry end to end


@dataclass
class OpenedDataset:
    """One registry entry, loaded: its attributes, rows and aligner (``rows`` is None for non-file data)."""

    name: str
    attr: EntryAttr
    files: list[str]
    loaded: LoadedRows
    aligner: RowAligner


def open_entry(
    name: str, entry: Any, dataset_dir: str, media_dir: str | None, registry_path: str
) -> OpenedDataset:
    """Parse, resolve, load and type one local entry; :class:`LoadProblem` wherever LF would abort."""
    attr = EntryAttr.from_entry(name, entry, registry_path)
    if attr.load_from != "file":
        raise LoadProblem(
            "entry-not-local",
            f"{name!r} loads from {attr.load_from} ({attr.dataset_name}); not checked offline",
        )
    files = resolve_data_files(attr, dataset_dir)
    if attr.split != "train":
        raise LoadProblem(
            "entry-split",
            f"Unknown split \"{attr.split}\". Should be one of ['train'].",
            hint='local files only have the split "train"; remove split',
            file=registry_path,
            path=f"$.{name}.split",
        )
    if attr.num_samples is not None and not isinstance(attr.num_samples, int):
        raise LoadProblem(
            "entry-num-samples",
            f"num_samples must be an integer, got {json.dumps(attr.num_samples)} (LF: TypeError)",
            file=registry_path,
            path=f"$.{name}.num_samples",
        )
    loaded = load_rows(files, RowLayout.of(attr))
    aligner = RowAligner(attr, loaded.schema, media_dir if media_dir is not None else dataset_dir)
    return OpenedDataset(name, attr, files, loaded, aligner)


def read_registry(dataset_dir: str) -> tuple[str, dict[str, Any]]:
    """(path, parsed dict) of ``dataset_dir/dataset_info.json``; :class:`UsageError` if unusable."""
    path = os.path.join(dataset_dir, DATA_CONFIG)
    if not os.path.isdir(dataset_dir):
        raise UsageError(f"{dataset_dir}: no such folder")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise UsageError(
            f"{path}: not found", hint="dataset_dir must hold LLaMA-Factory's dataset_info.json"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise LoadProblem(
            "registry-invalid",
            f"Cannot open {path} due to {exc}.",
            hint="fix dataset_info.json (it must be one JSON object of entries)",
            file=path,
        ) from exc
    if not isinstance(data, dict):
        raise LoadProblem(
            "registry-invalid",
            f"the top level of {path} is a {type(data).__name__}, LLaMA-Factory expects an object of entries",
            hint='write {"name": {"file_name": ...}, ...}',
            file=path,
        )
    return path, data


def read_registry_or_fail(dataset_dir: str) -> tuple[str, dict[str, Any]]:
    """:func:`read_registry` for importing: an unusable registry is an :class:`InputError`."""
    try:
        return read_registry(dataset_dir)
    except LoadProblem as exc:
        raise InputError(exc.message, hint=exc.hint) from exc


# ---------------------------------------------------------------------------------------------------
# The ``llamafactory`` importer


_ROLES: dict[Any, Role] = {
    USER: Role.USER,
    ASSISTANT: Role.ASSISTANT,
    FUNCTION: Role.FUNCTION,
    OBSERVATION: Role.OBSERVATION,
}


@dataclass(frozen=True)
class LfDataOptions:
    """Options of the ``llamafactory`` importer: which entry, which stage's keep rule, media_dir."""

    dataset: str | None = None
    stage: str | None = None  # None: from the entry (ranking -> rm, kto_tag -> kto, else sft)
    media_dir: str | None = None


def _locate_entry(paths: Sequence[str], options: Any) -> tuple[str, str]:
    """(dataset_dir, entry name) from an input path (folder, dataset_info.json or data file)."""
    if not paths:
        raise UsageError("give the LLaMA-Factory dataset folder (the one holding dataset_info.json)")
    target = os.path.abspath(paths[0])
    wanted = getattr(options, "dataset", None)
    if os.path.isdir(target):
        dataset_dir, data_file = target, None
    elif os.path.basename(target) == DATA_CONFIG:
        dataset_dir, data_file = os.path.dirname(target), None
    else:
        dataset_dir, data_file = os.path.dirname(target), target
    _, registry = read_registry_or_fail(dataset_dir)
    if wanted:
        if wanted not in registry:
            raise UsageError(f"Undefined dataset {wanted} in {DATA_CONFIG}.")
        return dataset_dir, wanted
    local = [n for n, e in registry.items() if isinstance(e, dict) and "file_name" in e]
    if data_file is not None:
        matches = [
            n
            for n in local
            if isinstance(registry[n]["file_name"], str)
            and os.path.abspath(os.path.join(dataset_dir, registry[n]["file_name"])) == data_file
        ]
        if len(matches) == 1:
            return dataset_dir, matches[0]
        local = matches or local
    if len(local) == 1:
        return dataset_dir, local[0]
    raise UsageError(
        "name the dataset_info.json entry to read (--dataset NAME)",
        hint="entries with local files: " + ", ".join(local[:20]),
    )


def _media_items(
    aligned: Aligned, media_dir: str, file: str, local: int
) -> dict[str, tuple[Media, ...]] | None:
    """Media of an aligned record: paths as written, ``base`` = media_dir where LF's join found the file."""
    out: dict[str, tuple[Media, ...]] = {}
    for column, kind in MEDIA_COLUMNS:
        items = aligned.medias(column) or []
        raw = aligned.raw_medias(column)
        raw_list = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
        media = []
        for j, item in enumerate(items):
            original = raw_list[j] if j < len(raw_list) else item
            if not isinstance(item, str) or not isinstance(original, str):
                return None
            media.append(
                Media(
                    kind=kind,
                    path=original,
                    base=media_dir if item != original else None,
                    origin=f"{file}:$[{local}].{column}[{j}]",
                )
            )
        out[column] = tuple(media)
    return out


def aligned_to_sample(aligned: Aligned, source: SourceRef, media_dir: str, local: int) -> Sample | None:
    """The common-model sample for an aligned record LF keeps, or None if it cannot be expressed."""
    turns: list[Turn] = []
    for message in aligned.prompt:
        role = _ROLES.get(message.get("role"))
        if role is None or not isinstance(message.get("content"), str):
            return None
        turns.append(Turn(role, message["content"]))
    chosen = rejected = None
    kto = None
    if len(aligned.response) >= 2 and aligned.kto_tag is None:
        answers = []
        for message in aligned.response[:2]:
            role = _ROLES.get(message.get("role"))
            if role is None or not isinstance(message.get("content"), str):
                return None
            answers.append(Turn(role, message["content"]))
        chosen, rejected = answers
    elif aligned.kto_tag is not None:
        kto = bool(aligned.kto_tag)
        judged = aligned.response[0] if aligned.kto_tag else aligned.response[-1]
        role = _ROLES.get(judged.get("role"))
        if role is None or not isinstance(judged.get("content"), str):
            return None
        turns.append(Turn(role, judged["content"]))
    else:
        for message in aligned.response:
            role = _ROLES.get(message.get("role"))
            if role is None or not isinstance(message.get("content"), str):
                return None
            turns.append(Turn(role, message["content"]))
    system = aligned.system if isinstance(aligned.system, str) and aligned.system else None
    tools = aligned.tools if isinstance(aligned.tools, str) and aligned.tools else None
    media = _media_items(aligned, media_dir, source.file, local)
    if media is None:
        return None
    return Sample(
        turns=tuple(turns),
        source=source,
        system=system,
        tools=tools,
        chosen=chosen,
        rejected=rejected,
        kto_label=kto,
        **media,
    )


def read(paths: Sequence[str], options: Any, findings: Findings, name: str) -> Dataset:
    """The ``llamafactory`` importer: an existing LF dataset (through its entry) as common-model samples.

    Every row LF would reject, drop or fail on is left out with the finding :mod:`mmconvert.validate`
    gives it; a dataset LF cannot load at all yields no samples and one error finding.
    """
    from mmconvert.options import PlaceholderTokens
    from mmconvert.validate import SampleJudge, ValidateOptions

    dataset_dir, entry_name = _locate_entry(paths, options)
    registry_path, registry = read_registry_or_fail(dataset_dir)
    media_dir = getattr(options, "media_dir", None)
    stage = getattr(options, "stage", None)
    tokens = getattr(options, "tokens", None) or PlaceholderTokens()
    try:
        opened = open_entry(entry_name, registry[entry_name], dataset_dir, media_dir, registry_path)
    except LoadProblem as exc:
        findings.add(exc.finding(name))
        return Dataset(name=name, samples=iter(()), source_files=())
    attr = opened.attr
    if not stage:
        stage = "rm" if attr.ranking is True else "kto" if attr.col("kto_tag") else "sft"
    kinds = frozenset(kind for column, kind in MEDIA_COLUMNS if attr.col(column))
    judge = SampleJudge(
        ValidateOptions(stage=stage, tokens=tokens, check="none", count_placeholders=False), name
    )

    def samples() -> Iterator[Sample]:
        loaded = opened.loaded
        for index, row in enumerate(loaded.rows):
            file, local = loaded.locate(index)
            source = SourceRef(file=file, index=index, path=f"$[{local}]")
            try:
                aligned = opened.aligner.align(row)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                findings.add(
                    Finding.at(
                        source,
                        "lf-load-crash",
                        Severity.ERROR,
                        f"LF's converter raises here and cannot load the dataset: {crash_message(exc)}",
                        dataset=name,
                    )
                )
                return
            problems = judge.judge(aligned, source)
            if problems:
                findings.extend(problems)
                if any(p.severity is Severity.ERROR for p in problems):
                    continue
            sample = aligned_to_sample(aligned, source, opened.aligner.media_dir, local)
            if sample is None:
                findings.add(
                    Finding.at(
                        source,
                        "lf-not-expressible",
                        Severity.ERROR,
                        "this row cannot be expressed in the common model (embedded media bytes or "
                        "non-text content)",
                        dataset=name,
                    )
                )
                continue
            yield sample

    return Dataset(
        name=name,
        samples=samples(),
        source_files=tuple(opened.files),
        media_kinds=kinds,
        ranking=attr.ranking is True,
        kto=bool(attr.col("kto_tag")),
        description=f"LLaMA-Factory dataset {entry_name!r} from {registry_path}",
    )
