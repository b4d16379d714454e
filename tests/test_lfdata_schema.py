"""The column-wise Arrow typing of :func:`mmconvert.converters.lfdata.infer_schema` gives what typing the
rows one by one gives: the same schema when the types join, a conflict when not.

Rows are drawn from a few keys and small JSON values, so that the values of a column often disagree
(``1`` and ``"1"``, a list and a string, structs with other fields) and just as often join (``null``
fills, ``int`` with ``float``, structs that merge).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.converters.lfdata import (
    LoadedRows,
    LoadProblem,
    Schema,
    TypeConflict,
    _column_type,
    _infer_schema_rows,
    infer_schema,
)

_scalars = st.sampled_from([None, None, 0, 1, 2.5, True, False, "", "a"])
_keys = st.sampled_from(["a", "b", "c"])
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6,
)
_rows = st.lists(st.dictionaries(_keys, _values, max_size=3), min_size=1, max_size=6)


def _loaded(rows: list[Any]) -> LoadedRows:
    return LoadedRows(rows, ["x.json"], [0], Schema({}))


def _row_by_row(rows: list[Any]) -> dict[str, Any] | None:
    """The schema typing row by row gives, or None when it finds a conflict."""
    try:
        return _infer_schema_rows(_loaded(rows)).columns
    except LoadProblem as exc:
        assert exc.code == "arrow-mixed-types"
        return None


@settings(max_examples=400, deadline=None)
@given(rows=_rows)
def test_column_wise_typing_equals_row_by_row(rows: list[Any]) -> None:
    expected = _row_by_row(rows)
    try:
        columns = _column_type(rows)[1]
    except TypeConflict:
        columns = None
    assert columns == expected  # key order may differ: the schema is only read as key sets


@settings(max_examples=200, deadline=None)
@given(rows=_rows)
def test_infer_schema_reports_what_row_by_row_reports(rows: list[Any]) -> None:
    try:
        expected: Any = _infer_schema_rows(_loaded(rows)).columns
    except LoadProblem as exc:
        expected = (exc.code, exc.message, exc.index, exc.path)
    try:
        got: Any = infer_schema(_loaded(rows)).columns
    except LoadProblem as exc:
        got = (exc.code, exc.message, exc.index, exc.path)
    assert got == expected


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"a": 1}, {"a": "1"}], "Column(/a) changed from number to string in row 1"),
        ([{"a": [1]}, {"a": None}, {"a": ["x"]}], "Column(/a/[]) changed from number to string in row 2"),
        ([{"a": {"b": 1}}, {"a": {"c": [1]}}, {"a": {"c": 2}}], "Column(/a/c) changed from array"),
        ([{"a": 1}, ["not an object"], {"a": "1"}], "row 1 is a JSON list, not an object"),
    ],
)
def test_the_first_breaking_row_is_named(rows: list[Any], message: str) -> None:
    with pytest.raises(LoadProblem) as caught:
        infer_schema(_loaded(rows))
    assert message in caught.value.message


def test_joined_types() -> None:
    rows = [
        {"m": [{"role": "user", "content": None}], "n": 1},
        {"m": [], "n": 2.5, "s": None},
        {"m": [{"role": "assistant", "content": "x", "loss": True}], "n": None},
    ]
    columns = infer_schema(_loaded(rows)).columns
    assert columns == {
        "m": ("L", ("D", {"role": str, "content": str, "loss": bool})),
        "n": float,
        "s": type(None),
    }


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": 1}, {"b": "x"}],  # structs of one size, other keys
        [{"a": 1, "b": None}, {"b": "x", "a": 2.5}],  # one size, keys in another order
        [{"a": [{"r": "u"}, {"c": "v"}]}, {"a": None}],  # list items of one size, other keys; a null row
        [{}, {}],
    ],
)
def test_structs_of_one_size(rows: list[Any]) -> None:
    assert infer_schema(_loaded(rows)).columns == _row_by_row(rows)
