"""The streamed writer's bytes equal a tiny reference converter's (``json.load`` + ``json.dumps``).

mmconvert writes JSON arrays in chunks (msgspec encode, ``msgspec.json.format(indent=2)``, spliced) and
JSONL with msgspec; the reference below does what a user's script would: load everything with the
standard library, build every record, dump once.  Both must agree byte for byte, on the COCO fixture
and on captions full of strings that encoders treat differently (non-ASCII, control characters,
U+2028/U+2029, quotes, backslashes, astral characters), across chunk boundaries.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.converters import llamafactory
from mmconvert.options import DEFAULT_CAPTION_PROMPT
from tests.conftest import FIXTURES

TRICKY = [
    "Ünïcödé café, 東京の猫, Ελληνικά, עברית, emoji 🐈‍⬛ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    'quotes " and \\ backslashes \\" and \\\\n literal',
    "controls \x00\x01\x07\x08\t\x0b\x0c\x0e\x1b\x1f and DEL \x7f",
    "line\nbreaks\r\nand\rreturns",
    "separators \u2028 and \u2029 inside, NEL \x85, nbsp \xa0, zero width \u200b\ufeff",
    "</script><!-- & 'single' `back` {braces} [brackets] / slash",
    "  leading and trailing spaces, then a tab\t",
    "\u2028 starts and ends with a line separator \u2028",
    "a literal tag would be an error, so only < and > alone, and <imag e>",
    "surrogate-free astral 😀🎉 and combining e\u0301",
]


def _reference(annotation: Path, images_dir: Path, out_dir: Path, jsonl: bool) -> bytes:
    """What a hand-written converter produces for clean data: the expected bytes."""
    with open(annotation, encoding="utf-8") as f:
        coco = json.load(f)
    files = {img["id"]: img["file_name"] for img in coco["images"]}
    records = [
        {
            "messages": [
                {"role": "user", "content": "<image>" + DEFAULT_CAPTION_PROMPT},
                {"role": "assistant", "content": ann["caption"].strip()},
            ],
            "images": [os.path.relpath(images_dir / files[ann["image_id"]], out_dir).replace(os.sep, "/")],
        }
        for ann in coco["annotations"]
    ]
    if jsonl:
        lines = (json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
        return "".join(lines).encode("utf-8")
    return json.dumps(records, indent=2, ensure_ascii=False).encode("utf-8")


def _convert(annotation: Path, images_dir: Path, out_dir: Path, jsonl: bool) -> bytes:
    fmt = "jsonl" if jsonl else "json"
    args = ["coco2lf", str(annotation), "--images-dir", str(images_dir), "-o", str(out_dir)]
    result = CliRunner().invoke(cli, [*args, "--name", "caps", "--format", fmt])
    assert result.exit_code == 0, result.output
    return (out_dir / f"caps.{fmt}").read_bytes()


def _tricky_coco(folder: Path) -> tuple[Path, Path]:
    images = folder / "images"
    (images / "sub dir").mkdir(parents=True)
    names = ["a.jpg", "ünï cödé.jpg", "sub dir/quote'\"s.jpg", "back\\slash.jpg", "x" * 120 + ".jpg"]
    for name in names:
        (images / name).write_bytes(b"\xff\xd8\xff")
    data = {
        "info": {"description": "tricky strings"},
        "images": [{"id": 10 + k, "file_name": n, "width": 4, "height": 3} for k, n in enumerate(names)],
        "annotations": [
            {"id": 1000 - i, "image_id": 10 + i % len(names), "caption": TRICKY[i % len(TRICKY)] + f" #{i}"}
            for i in range(47)
        ],
    }
    annotation = folder / "captions_tricky.json"
    annotation.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return annotation, images


@pytest.mark.parametrize("jsonl", [False, True], ids=["json", "jsonl"])
def test_fixture_output_equals_reference(tmp_path: Path, jsonl: bool) -> None:
    source = FIXTURES / "coco_captions"
    annotation = source / "annotations" / "captions_val2017.json"
    images = source / "val2017"
    out = tmp_path / "out"
    assert _convert(annotation, images, out, jsonl) == _reference(annotation, images, out, jsonl)


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
@pytest.mark.parametrize("jsonl", [False, True], ids=["json", "jsonl"])
def test_tricky_strings_equal_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jsonl: bool, chunk: int
) -> None:
    monkeypatch.setattr(llamafactory, "_CHUNK", chunk)
    annotation, images = _tricky_coco(tmp_path / "src")
    out = tmp_path / "data" / "nested"
    expected = _reference(annotation, images, out, jsonl)
    assert _convert(annotation, images, out, jsonl) == expected
    # and the reference really contains the hard cases, raw (not \\u-escaped)
    text = expected.decode("utf-8")
    assert "\u2028" in text and "東京" in text and "\\u0000" in text and '\\"' in text


def test_reference_is_sensitive(tmp_path: Path) -> None:
    """The comparison can fail: an ASCII-escaped dump differs from mmconvert's UTF-8 output."""
    annotation, images = _tricky_coco(tmp_path / "src")
    out = tmp_path / "out"
    produced = _convert(annotation, images, out, False)
    shutil.rmtree(out)
    with open(annotation, encoding="utf-8") as f:
        assert json.dumps(json.load(f), indent=2).encode() != produced
