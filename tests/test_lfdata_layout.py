"""Typed loading (:class:`mmconvert.converters.lfdata.RowLayout`) gives what the untyped decode and the
Arrow typing pass give: the same rows (message objects in their own key order), the same columns and
message keys in the schema, and the same load problem where there is one.

Rows are drawn close to the layouts the entries declare (so that many files fit and are decoded typed)
with the usual ways of not fitting: a missing or extra column, a null or a bare string for a list, a
message without a tag or with another key, numbers where text is expected.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.converters.lfdata import (
    EntryAttr,
    LoadProblem,
    RowLayout,
    _decode_json_file,
    load_rows,
)

SHAREGPT = {
    "file_name": "d.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images", "system": "system"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}
SHAREGPT_DEFAULT_TAGS = {
    "file_name": "d.json",
    "formatting": "sharegpt",
    "columns": {"messages": "conversations", "images": "images"},
}
RANKING = {
    "file_name": "d.json",
    "formatting": "sharegpt",
    "ranking": True,
    "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
}
ALPACA = {
    "file_name": "d.json",
    "columns": {"prompt": "instruction", "response": "output", "images": "images"},
}
ENTRIES = [SHAREGPT, SHAREGPT_DEFAULT_TAGS, RANKING, ALPACA]

_text = st.sampled_from(["hi", "<image>What?", "", "x"])
_odd = st.sampled_from([None, 1, 2.5, True, ["x"], {"a": 1}])


def _rarely(draw: st.DrawFn, noisy: bool, one_in: int) -> bool:
    return noisy and draw(st.integers(0, one_in - 1)) == 0


@st.composite
def _message(draw: st.DrawFn, role: str, content: str, noisy: bool) -> Any:
    if _rarely(draw, noisy, 20):
        return draw(_odd)
    message: dict[str, Any] = {role: draw(st.sampled_from(["user", "assistant", "human", "gpt"]))}
    message[content] = draw(_text) if not _rarely(draw, noisy, 10) else draw(_odd)
    if draw(st.integers(0, 9)) == 0:
        message[content] = None  # null fills: no conflict with text
    if _rarely(draw, noisy, 10):
        message.pop(draw(st.sampled_from([role, content])))
    if _rarely(draw, noisy, 15):
        message["loss"] = True
    if draw(st.booleans()):  # the tags in the other order
        message = dict(reversed(list(message.items())))
    return message


@st.composite
def _row(draw: st.DrawFn, entry: dict[str, Any], noisy: bool) -> Any:
    if _rarely(draw, noisy, 30):
        return draw(_odd)
    attr = EntryAttr.from_entry("d", entry, "dataset_info.json")
    role, content = attr.tag("role_tag"), attr.tag("content_tag")
    row: dict[str, Any] = {}
    for attribute in ("messages", "chosen", "rejected", "prompt", "response", "system", "images"):
        name = attr.col(attribute)
        if not name or (attr.formatting == "alpaca" and attribute == "messages"):
            continue
        if _rarely(draw, noisy, 15):
            continue  # missing column
        if _rarely(draw, noisy, 15):
            row[name] = draw(_odd)
        elif draw(st.integers(0, 9)) == 0:
            row[name] = None
        elif attribute == "messages":
            row[name] = draw(st.lists(_message(role, content, noisy), max_size=3))
        elif attribute in ("chosen", "rejected"):
            row[name] = draw(_message(role, content, noisy))
        elif attribute == "images":
            paths = [[], ["a.png"], ["a.png", "b.png"]]
            row[name] = draw(st.sampled_from([*paths, "a.png", [None], [1]] if noisy else paths))
        else:
            row[name] = draw(_text)
    if _rarely(draw, noisy, 15):
        row["id"] = draw(st.integers(0, 9))
    if draw(st.booleans()):
        row = dict(reversed(list(row.items())))
    return row


@st.composite
def _case(draw: st.DrawFn) -> tuple[dict[str, Any], list[Any]]:
    entry = draw(st.sampled_from(ENTRIES))
    noisy = draw(st.booleans())  # else every row fits the layout
    return entry, draw(st.lists(_row(entry, noisy), min_size=1, max_size=5))


def _outcome(path: str, layout: RowLayout | None, messages: str | None) -> Any:
    try:
        loaded = load_rows([path], layout)
    except LoadProblem as exc:
        return ("load problem", exc.code, exc.message, exc.index, exc.path)
    schema = loaded.schema
    return (
        loaded.rows,
        [repr(row.get(messages)) for row in loaded.rows],  # message objects keep their key order
        sorted(schema.columns),
        {c: (schema.keys_of(c), schema.keys_of(c, list_items=True)) for c in schema.columns},
    )


@settings(max_examples=300, deadline=None)
@given(case=_case())
def test_typed_loading_equals_untyped(case: tuple[dict[str, Any], list[Any]]) -> None:
    entry, rows = case
    attr = EntryAttr.from_entry("d", entry, "dataset_info.json")
    layout = RowLayout.of(attr)
    assert layout is not None
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(rows, fh)
        messages = attr.col("messages")
        assert _outcome(path, layout, messages) == _outcome(path, None, messages)


def test_a_fitting_file_is_decoded_typed_and_an_unfitting_one_is_not(tmp_path: Any) -> None:
    layout = RowLayout.of(EntryAttr.from_entry("d", SHAREGPT, "dataset_info.json"))
    assert layout is not None
    good = {"messages": [{"content": "<image>Hi", "role": "user"}], "images": ["a.png"], "system": None}
    path = tmp_path / "d.json"
    path.write_text(json.dumps([good, good]))
    rows, typed = _decode_json_file(str(path), layout)
    assert typed and rows == [good, good]
    assert list(rows[0]["messages"][0]) == ["content", "role"]
    for bad in (
        {**good, "id": 1},  # a column the entry does not read
        {"messages": good["messages"], "images": good["images"]},  # a column missing
        {**good, "images": "a.png"},  # a path, not a list of paths
        {**good, "messages": [{"role": "user", "content": "Hi", "loss": True}]},  # another key
    ):
        path.write_text(json.dumps([good, bad]))
        rows, typed = _decode_json_file(str(path), layout)
        assert not typed and rows == [good, bad]


@pytest.mark.parametrize(
    "entry",
    [
        {"file_name": "d.json", "formatting": "nope"},  # LF has no such converter
        {"file_name": "d.json", "columns": {"prompt": "a b"}},  # not a field name msgspec can use
        {"file_name": "d.json", "columns": {"prompt": "x", "query": "x"}},  # two attributes, one column
        {"file_name": "d.json", "formatting": "sharegpt", "tags": {"content_tag": "value"}},  # no role_tag
    ],
)
def test_entries_without_a_typed_layout(entry: dict[str, Any]) -> None:
    assert RowLayout.of(EntryAttr.from_entry("d", entry, "dataset_info.json")) is None
