"""mmconvert.io: memory-mapped JSON input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.errors import InputError
from mmconvert.io import UTF8_BOM, MappedJson, leading_items


def test_raw_items_stay_valid_after_release(tmp_path: Path) -> None:
    """Released pages come back from the file: raw items decoded before a release still read right."""
    items = [{"id": i, "caption": f"caption {i} " + "x" * 300} for i in range(2000)]
    path = tmp_path / "a.json"
    path.write_bytes(UTF8_BOM + msgspec.json.encode({"annotations": items}))
    mapped = MappedJson(path)
    assert isinstance(mapped.data, memoryview)
    top = msgspec.json.decode(mapped.data, type=dict[str, list[msgspec.Raw]])
    mapped.release()
    assert [msgspec.json.decode(raw) for raw in top["annotations"]] == items


@pytest.mark.parametrize(
    ("content", "first"), [(b"", b""), (b" \n\t\r" * 3000, b""), (b" " * 5000 + b"{}", b"{"), (b"[1]", b"[")]
)
def test_first_byte(tmp_path: Path, content: bytes, first: bytes) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(content)
    assert MappedJson(path).first_byte() == first


def test_fifo_is_read_not_mapped(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child writes and leaves
        with open(fifo, "wb") as fh:
            fh.write(b'{"a": 1}')
        os._exit(0)
    mapped = MappedJson(fifo)
    os.waitpid(pid, 0)
    assert bytes(mapped.data) == b'{"a": 1}'


def test_folder_and_utf16_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        MappedJson(tmp_path)
    path = tmp_path / "u16.json"
    path.write_bytes('{"a": 1}'.encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        MappedJson(path)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(_json, max_size=12),
    count=st.integers(1, 14),
    pretty=st.booleans(),
    pad=st.integers(0, 70_000),
)
def test_leading_items_equal_a_parse(items: list[object], count: int, pretty: bool, pad: int) -> None:
    """The scanner finds exactly the first items a parser finds: strings full of brackets, commas,
    quotes and escapes, nesting, whitespace, and items that start beyond the first block it reads."""
    text = json.dumps(items, indent=2 if pretty else None, ensure_ascii=pretty)
    if pad % 7 == 0:
        text = "[" + " " * pad + text[1:]  # push the items past the first 64 kB
    found = leading_items(text.encode(), count)
    assert [msgspec.json.decode(item) for item in found] == items[:count]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.text(), st.text(), st.text(max_size=12), st.booleans()), min_size=0, max_size=8
    ),
    split=st.integers(0, 8),
    lines=st.booleans(),
)
def test_template_records_equal_encoded_records(
    rows: list[tuple[str, str, str, bool]], split: int, lines: bool
) -> None:
    """Records filled into a RecordTemplate, mixed in any order with records the writer encodes
    itself, give exactly what json.dumps gives for all of them."""
    import io

    from mmconvert.io import SLOT, JsonArrayWriter, JsonLinesWriter

    out = io.BytesIO()
    writer = JsonLinesWriter(out) if lines else JsonArrayWriter(out)
    shape = {
        "messages": [{"role": "user", "content": SLOT}, {"role": "x", "content": SLOT}],
        "images": [SLOT],
    }
    fill = writer.template(shape).filler3()
    records = [
        {"messages": [{"role": "user", "content": a}, {"role": "x", "content": b}], "images": [c]}
        for a, b, c, _ in rows
    ]
    mixed = [
        fill(msgspec.json.encode(a), msgspec.json.encode(b), msgspec.json.encode(c)) if pre else record
        for (a, b, c, pre), record in zip(rows, records, strict=True)
    ]
    writer.write_chunk(mixed[:split])
    writer.write_chunk(mixed[split:])
    writer.close()
    if lines:
        expected = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    else:
        expected = json.dumps(records, indent=2, ensure_ascii=False)
    assert out.getvalue() == expected.encode()
