"""mmconvert's own account of undecodable JSON: exact texts, and agreement with msgspec on *whether*
a text decodes (the wording is ours, the verdict must be the decoder's)."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmconvert.jsonerrors import JsonProblem, has_more_values, in_line, locate, type_mismatch

CASES = [
    (b'["a\xe9b"]', "not valid UTF-8: byte 0xe9 at line 1, column 4 (byte offset 3)"),
    (b'["\xc3\xa9", \xff]', "not valid UTF-8: byte 0xff at line 1, column 7 (byte offset 7)"),
    (b'{"a": 1', "the JSON ends early (truncated file?) at line 1, column 8 (byte offset 7)"),
    (
        b'["abc',
        "a string is not closed before the end of the file (truncated file?) "
        "at line 1, column 2 (byte offset 1)",
    ),
    (b'{"a" 1}', "unexpected '1': expected ':' after the key at line 1, column 6 (byte offset 5)"),
    (b"{a: 1}", "unexpected 'a': expected a key in double quotes at line 1, column 2 (byte offset 1)"),
    (b"[1,2,]", "a trailing comma before ']' at line 1, column 6 (byte offset 5)"),
    (b'{"a": 1,}', "a trailing comma before '}' at line 1, column 9 (byte offset 8)"),
    (b"[1,,2]", "unexpected ',': expected a value at line 1, column 4 (byte offset 3)"),
    (
        b'{\n  "a": [1, 2\n  "b"]}',
        "unexpected '\"': expected ',' or the end of the array or object "
        "at line 3, column 3 (byte offset 17)",
    ),
    (
        b"[1] [2]",
        "unexpected '[': more data after the end of the JSON value at line 1, column 5 (byte offset 4)",
    ),
    (b'{"a": NaN}', "`NaN` is not JSON (write null or a string) at line 1, column 7 (byte offset 6)"),
    (
        b'{"NaN": -Infinity}',
        "`-Infinity` is not JSON (write null or a string) at line 1, column 9 (byte offset 8)",
    ),
    (
        b"[1e400]",
        "the number `1e400` is out of range (beyond a 64-bit float) at line 1, column 2 (byte offset 1)",
    ),
    (
        b'{"a": "x\ny"}',
        "a raw control character (U+000A) inside a string; escape it at line 1, column 9 (byte offset 8)",
    ),
    (b'["\\x"]', "an invalid escape `\\x` inside a string at line 1, column 3 (byte offset 2)"),
    (
        b'["\\ud800"]',
        "`\\ud800` is half of a UTF-16 surrogate pair, not a character at line 1, column 3 (byte offset 2)",
    ),
    (
        b'["\\udc00"]',
        "`\\udc00` is half of a UTF-16 surrogate pair, not a character at line 1, column 3 (byte offset 2)",
    ),
    (b"", "the JSON ends early (truncated file?) at line 1, column 1 (byte offset 0)"),
]


@pytest.mark.parametrize(("data", "text"), CASES, ids=[repr(c[0])[:30] for c in CASES])
def test_exact_text(data: bytes, text: str) -> None:
    problem = locate(data)
    assert problem is not None
    assert str(problem) == text
    with pytest.raises((msgspec.DecodeError, UnicodeDecodeError)):
        msgspec.json.decode(data)


@pytest.mark.parametrize(
    "data", [b"[]", b'{"a": [1, 2.5e3, "\\ud83d\\ude00", null, true]}', b" 1 ", b'"\xc3\xa9"']
)
def test_valid_json_has_no_problem(data: bytes) -> None:
    assert locate(data) is None
    msgspec.json.decode(data)


def test_position_inside_a_file_and_a_line() -> None:
    data = b'[\n  {"a": 1},\n  {"b": "\xe9"}\n]'
    start = data.index(b'{"b"')
    problem = locate(data, start, start + len(b'{"b": "\xe9"}'))
    assert problem == JsonProblem("not valid UTF-8: byte 0xe9", data.index(b"\xe9"), 3, 10)
    assert in_line(locate(b'{"a" 1}'), 7, 100) == JsonProblem(  # type: ignore[arg-type]
        "unexpected '1': expected ':' after the key", 105, 7, 6
    )


def test_more_values() -> None:
    assert has_more_values(b'{"a": 1}\n{"a": 2}\n')
    assert not has_more_values(b'{"a": 1}\n')
    assert not has_more_values(b'{"a": 1')


# --- agreement with msgspec on whether a text decodes ---------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
_junk = st.sampled_from(
    [
        b",",
        b"]",
        b"}",
        b"[",
        b"{",
        b'"',
        b":",
        b"\\",
        b"\xe9",
        b"\xff",
        b"\x01",
        b"\n",
        b" ",
        b"NaN",
        b"1e999",
        b"x",
    ]
)


@st.composite
def _texts(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(_values), ensure_ascii=draw(st.booleans())).encode()
    for _ in range(draw(st.integers(0, 2))):
        pos = draw(st.integers(0, len(text)))
        cut = draw(st.booleans())
        text = text[:pos] + text[pos + 1 :] if cut else text[:pos] + draw(_junk) + text[pos:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts())
def test_locate_agrees_with_msgspec(data: bytes) -> None:
    try:
        msgspec.json.decode(data)
        decodes = True
    except (msgspec.DecodeError, UnicodeDecodeError):
        decodes = False
    problem = locate(data)
    assert (problem is None) == decodes, (data, problem)
    if problem is not None:
        assert 0 <= problem.offset <= len(data)


class _Item(msgspec.Struct):
    id: int
    name: str | None = None
    tags: list[str] = []
    box: tuple[float, float] | None = None
    extra: dict[str, int] = {}


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "name", "tags", "box", "extra", "other"]),
        _values,
        max_size=5,
    )
)
def test_type_mismatch_agrees_with_msgspec(value: dict[str, object]) -> None:
    raw = json.dumps(value).encode()
    try:
        msgspec.json.decode(raw, type=_Item)
        fits = True
    except msgspec.ValidationError:
        fits = False
    problem = type_mismatch(raw, _Item)
    assert (problem is None) == fits, (raw, problem)


def test_type_mismatch_texts() -> None:
    assert str(type_mismatch(b'{"id": "7"}', _Item)) == "Expected `int`, got `str` - at `$.id`"
    assert (
        str(type_mismatch(b'{"id": 1, "name": 3}', _Item)) == "Expected `str | null`, got `int` - at `$.name`"
    )
    assert (
        str(type_mismatch(b'{"id": 1, "tags": ["a", 2]}', _Item))
        == "Expected `str`, got `int` - at `$.tags[1]`"
    )
    assert str(type_mismatch(b'{"id": 1, "box": [1]}', _Item)) == "Expected `array` of length 2 - at `$.box`"
    assert str(type_mismatch(b"{}", _Item)) == "Object missing required field `id`"
    assert str(type_mismatch(b'{"id": 1e400}', _Item)) == "Number out of range - at `$.id`"
    assert str(type_mismatch(b'{"id": 18446744073709551616}', _Item)) == "Number out of range - at `$.id`"
    assert str(type_mismatch(b"[1]", _Item)) == "Expected `object`, got `array`"
    assert type_mismatch(b'{"id": 1}', _Item) is None
