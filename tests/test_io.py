"""mmconvert.io: memory-mapped JSON input."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from mmconvert.errors import InputError
from mmconvert.io import UTF8_BOM, MappedJson


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
