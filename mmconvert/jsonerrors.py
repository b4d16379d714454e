"""Why JSON input cannot be decoded, and where, in mmconvert's own words.

msgspec says *that* a text is not JSON or not of the expected type, but its wording and what it reports
change between releases (0.23 stopped saying where invalid UTF-8 is).  Every message about undecodable
input is therefore built here, from the bytes themselves, never from a decoder's exception text:

* :func:`locate` finds the first problem in a JSON text: invalid UTF-8 (the exact byte, from Python's
  codec), then the syntax (the position from Python's ``json`` scanner; the reason said in fixed
  phrases by what is found there), then what the standard library accepts but JSON does not
  (``NaN``, lone surrogate escapes).  Positions are the line, the column (characters) and the byte
  offset in the file.
* :func:`type_mismatch` finds the first value that does not fit a msgspec type, by walking the
  untyped value against the type, and names it as ``Expected `int`, got `str```, at its JSON path.

Only failure paths call these; decoding itself stays msgspec's.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple

import msgspec

TRUNCATED = "the JSON ends early (truncated file?)"
TOO_DEEP = "the JSON is nested too deeply to read (arrays/objects inside each other hundreds of levels deep)"


class JsonProblem(NamedTuple):
    """The first problem in a JSON text: what it is, and where (1-based line and column, byte offset)."""

    reason: str
    offset: int
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.reason} at line {self.line}, column {self.column} (byte offset {self.offset})"


def locate(
    data: bytes | memoryview | msgspec.Raw, start: int = 0, end: int | None = None
) -> JsonProblem | None:
    """The first problem in the JSON value ``data[start:end]`` (whitespace around it allowed), placed in
    ``data`` (a whole file, or one JSON Lines line: see :func:`in_line`); ``None`` if there is none."""
    whole = data if isinstance(data, bytes) else bytes(data)
    raw = whole if start == 0 and end is None else whole[start:end]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _at(whole, start + exc.start, f"not valid UTF-8: byte 0x{raw[exc.start]:02x}")
    found = _syntax(text)
    if found is None:
        return None
    pos, reason = found
    return _at(whole, start + len(text[:pos].encode("utf-8")), reason)


def in_line(problem: JsonProblem, line: int, line_offset: int | None = None) -> JsonProblem:
    """``problem``, found in one line of a JSON Lines file, placed in the file: line number ``line``
    starting at byte ``line_offset`` (when known)."""
    offset = problem.offset + line_offset if line_offset is not None else problem.offset
    return problem._replace(line=line, offset=offset)


def describe(data: bytes | memoryview, exc: BaseException | None = None) -> str:
    """One line saying why ``data`` could not be decoded: :func:`locate`'s finding, ``TOO_DEEP`` for a
    recursion error, or (when the text is valid JSON and the failure was about types) a type mismatch
    without a known type."""
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    problem = locate(data)
    if problem is not None:
        return str(problem)
    return "the JSON cannot be decoded"


def has_more_values(data: bytes | memoryview) -> bool:
    """Whether ``data`` starts with a complete JSON value followed by more non-whitespace text."""
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
        start = len(text) - len(text.lstrip(_WS))
        _value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return bool(text[end:].strip(_WS))


_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


class _NotJson(ValueError):
    """A token Python's scanner takes but JSON (and msgspec) does not: ``NaN``, ``1e400``."""

    def __init__(self, token: str, reason: str) -> None:
        super().__init__(token)
        self.token, self.reason = token, reason


def _no_constant(name: str) -> Any:
    raise _NotJson(name, f"`{name}` is not JSON (write null or a string)")


def _finite(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _NotJson(token, f"the number `{token}` is out of range (beyond a 64-bit float)")
    return value


_STRICT = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _syntax(text: str) -> tuple[int, str] | None:
    """``(character position, reason)`` of the first syntax problem in ``text``, else ``None``."""
    try:
        _STRICT.decode(text)
    except json.JSONDecodeError as exc:
        return exc.pos, _reason(text, exc.pos, exc.msg)
    except _NotJson as exc:
        return _token_position(text, exc.token), exc.reason
    except RecursionError:
        return None
    match = _LONE_SURROGATE.search(text)
    if match is not None and _outside_string_count(text, match.start()) % 2 == 1:
        return match.start(), f"`{match.group(0)}` is half of a UTF-16 surrogate pair, not a character"
    return None


#: What Python's scanner expected, by the start of its message (its wording has been the same since
#: Python 3.1; a message not listed here falls back to naming the character found).
_EXPECTED = (
    ("Expecting ':'", "expected ':' after the key"),
    ("Expecting ','", "expected ',' or the end of the array or object"),
    ("Expecting property name", "expected a key in double quotes"),
    ("Expecting value", "expected a value"),
    ("Extra data", "more data after the end of the JSON value"),
)


def _reason(text: str, pos: int, scanner_message: str) -> str:
    """What is wrong at ``pos``, from what is there and what was expected."""
    rest = text[pos:]
    if not rest.strip(_WS):
        return TRUNCATED
    char = rest[0]
    if char == '"' and '"' not in rest[1:]:
        return "a string is not closed before the end of the file (truncated file?)"
    if _open_string(text, pos) is not None:
        if ord(char) < 0x20:
            return f"a raw control character ({_show(char)}) inside a string; escape it"
        if char == "\\":
            return f"an invalid escape `{text[pos : pos + 2]}` inside a string"
        return "a string is not closed"
    if char in "]}" and text[:pos].rstrip(_WS)[-1:] == ",":
        return f"a trailing comma before {char!r}"
    for start, expected in _EXPECTED:
        if scanner_message.startswith(start):
            return f"unexpected {_show(char)}: {expected}"
    return f"unexpected {_show(char)}"


def _open_string(text: str, pos: int) -> int | None:
    """Where the string that ``pos`` lies inside starts, if it lies inside one (a backwards scan of the
    line; JSON strings cannot span lines)."""
    line_start = text.rfind("\n", 0, pos) + 1
    inside: int | None = None
    i = line_start
    while i < pos:
        c = text[i]
        if inside is not None and c == "\\":
            i += 2
            continue
        if c == '"':
            inside = i if inside is None else None
        i += 1
    return inside


def _show(char: str) -> str:
    if char.isprintable() and char not in " \t":
        return repr(char)
    return f"U+{ord(char):04X}"


_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _outside_string_count(text: str, pos: int) -> int:
    """The number of unescaped quotes before ``pos`` (odd: ``pos`` is inside a string)."""
    count, i = 0, 0
    while True:
        i = text.find('"', i, pos)
        if i < 0:
            return count
        backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
        if backslashes % 2 == 0:
            count += 1
        i += 1


def _token_position(text: str, token: str) -> int:
    for match in re.finditer(re.escape(token), text):
        if _outside_string_count(text, match.start()) % 2 == 0:
            return match.start()
    return 0


def _at(whole: bytes, offset: int, reason: str) -> JsonProblem:
    line_start = whole.rfind(b"\n", 0, offset) + 1
    line = whole.count(b"\n", 0, offset) + 1
    column = len(whole[line_start:offset].decode("utf-8", "replace")) + 1
    return JsonProblem(reason, offset, line, column)


# --- types -----------------------------------------------------------------------------------------


class TypeProblem(NamedTuple):
    """The first value that does not fit the expected type: JSON path (``$[3].id``) and message."""

    path: str
    message: str

    def __str__(self) -> str:
        return self.message if self.path == "$" else f"{self.message} - at `{self.path}`"


def type_mismatch(raw: bytes | memoryview | msgspec.Raw, typ: Any, path: str = "$") -> TypeProblem | None:
    """The first value in the JSON ``raw`` that does not fit ``typ`` (a msgspec type), else ``None``.

    The message has the form ``Expected `str | null`, got `int``` and is built by mmconvert, so it does
    not change with the msgspec release."""
    try:  # Python's parser: it also takes what the type check must name (1e400 becomes inf)
        value = json.loads(bytes(memoryview(raw)))
    except (ValueError, RecursionError):
        return None
    return _walk(value, msgspec.inspect.type_info(typ), path)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "array"
    return "object"


def _name(info: msgspec.inspect.Type) -> str:
    mi = msgspec.inspect
    simple: tuple[tuple[type, str], ...] = (
        (mi.NoneType, "null"),
        (mi.BoolType, "bool"),
        (mi.IntType, "int"),
        (mi.FloatType, "float"),
        (mi.StrType, "str"),
        (mi.AnyType, "any"),
        (mi.RawType, "any"),
    )
    for kind, name in simple:
        if isinstance(info, kind):
            return name
    if isinstance(info, mi.UnionType):
        return " | ".join(_name(t) for t in info.types)
    if isinstance(info, mi.LiteralType):
        return " | ".join(json.dumps(v) for v in info.values)
    if isinstance(info, (mi.ListType, mi.TupleType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return "array"
    return "object"


def _fits(value: Any, info: msgspec.inspect.Type) -> bool:
    """Whether ``value``'s JSON kind fits ``info`` at this level (members are checked by the walk)."""
    mi = msgspec.inspect
    if isinstance(info, (mi.AnyType, mi.RawType)):
        return True
    if isinstance(info, mi.UnionType):
        return any(_fits(value, t) for t in info.types)
    kind = _json_kind(value)
    if isinstance(info, mi.LiteralType):
        return value in info.values
    if isinstance(info, mi.FloatType):
        return kind in ("int", "float")
    if isinstance(info, mi.IntType):
        return kind == "int"
    expected = _name(info)
    return kind == expected


_INT_RANGE = range(-(2**63), 2**64)  # what msgspec decodes into an `int` field


def _walk(value: Any, info: msgspec.inspect.Type, path: str) -> TypeProblem | None:
    mi = msgspec.inspect
    if isinstance(value, float) and not math.isfinite(value):
        return TypeProblem(path, "Number out of range")
    if not _fits(value, info):
        return TypeProblem(path, f"Expected `{_name(info)}`, got `{_json_kind(value)}`")
    if isinstance(info, mi.IntType) and value not in _INT_RANGE:
        return TypeProblem(path, "Number out of range")
    if isinstance(info, mi.UnionType):
        for member in info.types:
            if _fits(value, member):
                return _walk(value, member, path)
        return None
    if isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        for i, item in enumerate(value):
            found = _walk(item, info.item_type, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(info, mi.TupleType):
        if len(value) != len(info.item_types):
            return TypeProblem(path, f"Expected `array` of length {len(info.item_types)}")
        for i, (item, item_info) in enumerate(zip(value, info.item_types, strict=True)):
            found = _walk(item, item_info, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(info, mi.DictType):
        for key, item in value.items():
            found = _walk(item, info.value_type, f"{path}[{json.dumps(key)}]")
            if found is not None:
                return found
        return None
    if isinstance(info, (mi.StructType, mi.TypedDictType, mi.DataclassType)):
        for field in info.fields:
            if field.encode_name not in value:
                if field.required:
                    return TypeProblem(path, f"Object missing required field `{field.encode_name}`")
                continue
            found = _walk(value[field.encode_name], field.type, f"{path}.{field.encode_name}")
            if found is not None:
                return found
        return None
    return None
