"""dataset_info.json merges: other entries byte-for-byte, conflicts refused, corrupt files untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmconvert.dataset_info import merged_text, parse_registry, write_entry
from mmconvert.errors import OutputConflict

from .conftest import THIRDPARTY

ENTRY = {"file_name": "x.json", "formatting": "sharegpt", "columns": {"messages": "messages"}}


def test_merge_into_lf_registry_keeps_every_other_byte(tmp_path: Path) -> None:
    original = (THIRDPARTY / "llamafactory" / "data" / "dataset_info.json").read_text(encoding="utf-8")
    shutil.copy(THIRDPARTY / "llamafactory" / "data" / "dataset_info.json", tmp_path)
    write_entry(tmp_path, "mine", ENTRY, force=False)
    new = (tmp_path / "dataset_info.json").read_text(encoding="utf-8")
    data = json.loads(new)
    old = json.loads(original)
    assert list(data) == [*old, "mine"]
    assert data["mine"] == ENTRY
    # Everything up to the last entry's end is unchanged, byte for byte.
    last_end = max(end for _, _, end in parse_registry(original, "x").spans.values())
    assert new[:last_end] == original[:last_end]
    assert new[last_end:].startswith(',\n  "mine": {\n    "file_name": "x.json",')
    # Replacing with --force touches only that entry's value.
    write_entry(tmp_path, "mine", {**ENTRY, "file_name": "y.json"}, force=True)
    again = (tmp_path / "dataset_info.json").read_text(encoding="utf-8")
    assert again == new.replace('"file_name": "x.json"', '"file_name": "y.json"')


def test_replace_middle_entry_keeps_neighbours() -> None:
    text = '{\n    "a": {"file_name": "a.json"},\n    "b": {"file_name": "b.json"},\n    "c": 1\n}\n'
    out = merged_text(text, "b", {"file_name": "new.json"}, force=True, where="d")
    assert out == (
        '{\n    "a": {"file_name": "a.json"},\n    "b": {\n        "file_name": "new.json"\n    },\n'
        '    "c": 1\n}\n'
    )


def test_existing_entry_without_force_is_refused() -> None:
    with pytest.raises(OutputConflict, match="already has an entry 'a'"):
        merged_text('{"a": {}}', "a", ENTRY, force=False, where="d")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "the top level is a list"),
        ('{"a": ', "not valid JSON"),
        ("null", "the top level is a NoneType"),
    ],
)
def test_corrupt_registry_is_never_overwritten(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "dataset_info.json").write_text(text, encoding="utf-8")
    with pytest.raises(OutputConflict, match=message):
        write_entry(tmp_path, "mine", ENTRY, force=True)
    assert (tmp_path / "dataset_info.json").read_text(encoding="utf-8") == text


def test_empty_object_and_compact_files() -> None:
    assert merged_text("{}", "n", {"k": 1}, False, "d") == '{\n  "n": {\n    "k": 1\n  }\n}'
    assert merged_text('{"a": 1}', "n", {"k": 1}, False, "d") == '{"a": 1, "n": {"k": 1}}'
