"""Hostile inputs for ``mmconvert coco2lf``: each case asserts the exit code, one exact line of the
message, and that nothing under the test folder was created or changed."""

from __future__ import annotations

import codecs
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    assert_clean_failure,
    coco_bytes,
    image_bytes,
    one_caption,
    one_image,
    run_cli,
    snapshot,
)

BASE_ARGS = ["coco2lf", "in/captions.json", "-i", "images", "-o", "out", "--name", "t"]
GOOD = coco_bytes()
WIDTH_AT = GOOD.index(b'"width": 8') + len(b'"width": ')  # where NaN/Infinity go
CTRL_AT = one_caption(caption="aCTRLb").index(b"CTRL")


@dataclass(frozen=True)
class Case:
    id: str
    captions: bytes | None  # in/captions.json (None: not created)
    code: int
    line: str  # one exact line of stderr ({tmp} is the test folder)
    args: tuple[str, ...] = ()
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None


def make_tree(root: Path, captions: bytes | None) -> None:
    """in/captions.json, images/{a.png,b.jpg,sub/}, outside.png, secret/ and symlinks into it."""
    (root / "in").mkdir()
    if captions is not None:
        (root / "in" / "captions.json").write_bytes(captions)
    images = root / "images"
    (images / "sub").mkdir(parents=True)
    (images / "a.png").write_bytes(image_bytes())
    (images / "b.jpg").write_bytes(image_bytes("JPEG"))
    (root / "outside.png").write_bytes(image_bytes())
    (root / "secret").mkdir()
    (root / "secret" / "s.png").write_bytes(image_bytes())
    (images / "link.png").symlink_to("../secret/s.png")
    (images / "linked").symlink_to("../secret")


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _existing_out(text: str | bytes, name: str = "dataset_info.json") -> Callable[..., None]:
    def setup(root: Path, _mp: pytest.MonkeyPatch) -> None:
        (root / "out").mkdir()
        data = text.encode() if isinstance(text, str) else text
        (root / "out" / name).write_bytes(data)

    return setup


def _out_is_file(root: Path, _mp: pytest.MonkeyPatch) -> None:
    (root / "out").write_text("not a folder\n")


def _dir_at(rel: str) -> Callable[..., None]:
    def setup(root: Path, _mp: pytest.MonkeyPatch) -> None:
        (root / rel).mkdir(parents=True)

    return setup


def _unreadable_input(root: Path, mp: pytest.MonkeyPatch) -> None:
    """Tests run as root, where chmod 000 does not stop reads: make the read itself fail the way the
    OS reports a permission problem."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "captions.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    mp.setattr(Path, "read_bytes", read_bytes)
    real_open = Path.open

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "captions.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    mp.setattr(Path, "open", open_)


def _prompts_file(root: Path, _mp: pytest.MonkeyPatch) -> None:
    (root / "prompts.txt").write_text("\n  \n")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but holds almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _image_file(name: str, data: bytes) -> Callable[..., None]:
    def setup(root: Path, _mp: pytest.MonkeyPatch) -> None:
        (root / "images" / name).write_bytes(data)

    return setup


def _truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (64, 64))
    return data[: len(data) // 2]


CASES: list[Case] = [
    # --- the input file is not a COCO JSON object (exit 2)
    Case(
        "not-json",
        b"hello world\n",
        2,
        "Error: in/captions.json: the file is not a JSON object; a COCO annotation file is a JSON "
        "object with `images` and `annotations`",
    ),
    Case(
        "truncated",
        GOOD[:40],
        2,
        "Error: in/captions.json: a string is not closed before the end of the file (truncated file?) "
        "at line 1, column 36 (byte offset 35)",
    ),
    Case(
        "empty-file",
        b"",
        2,
        "Error: in/captions.json: the file is empty; a COCO annotation file is a JSON object with "
        "`images` and `annotations`",
    ),
    Case(
        "whitespace-only",
        b" \n\t\n",
        2,
        "Error: in/captions.json: the file is empty; a COCO annotation file is a JSON object with "
        "`images` and `annotations`",
    ),
    Case(
        "top-null",
        b"null",
        2,
        "Error: in/captions.json: the file is not a JSON object; a COCO annotation file is a JSON "
        "object with `images` and `annotations`",
    ),
    Case(
        "top-number",
        b"42",
        2,
        "Error: in/captions.json: the file is not a JSON object; a COCO annotation file is a JSON "
        "object with `images` and `annotations`",
    ),
    Case(
        "top-string",
        b'"captions"',
        2,
        "Error: in/captions.json: the file is not a JSON object; a COCO annotation file is a JSON "
        "object with `images` and `annotations`",
    ),
    Case(
        "results-list",
        json.dumps([{"image_id": 1, "caption": "a cat", "score": 0.9}]).encode(),
        2,
        "Error: in/captions.json: the top level is a list: this looks like a COCO *results* file "
        "(model predictions keyed by image_id, as written for evaluation), not an annotation file",
    ),
    Case(
        "missing-images",
        json.dumps({"annotations": []}).encode(),
        2,
        "Error: in/captions.json: no `images` key: not a COCO annotation file",
    ),
    Case(
        "missing-annotations",
        json.dumps({"images": []}).encode(),
        2,
        "Error: in/captions.json: no `annotations` key: not a COCO annotation file",
    ),
    Case(
        "images-object",
        coco_bytes(images={"1": "a.png"}),
        2,
        "Error: in/captions.json: `images` must be a list (Expected `array`, got `object`)",
    ),
    Case(
        "images-null",
        coco_bytes(images=None).replace(b'"images": [', b'"images": null, "x": [', 1),
        2,
        "Error: in/captions.json: `images` must be a list (Expected `array`, got `null`)",
    ),
    Case(
        "annotations-number",
        coco_bytes(annotations=5),
        2,
        "Error: in/captions.json: `annotations` must be a list (Expected `array`, got `int`)",
    ),
    Case(
        "nan",
        GOOD.replace(b'"width": 8', b'"width": NaN'),
        2,
        "Error: in/captions.json: `NaN` is not JSON (write null or a string) "
        f"at line 1, column {WIDTH_AT + 1} (byte offset {WIDTH_AT})",
    ),
    Case(
        "infinity",
        GOOD.replace(b'"width": 8', b'"width": Infinity'),
        2,
        "Error: in/captions.json: `Infinity` is not JSON (write null or a string) "
        f"at line 1, column {WIDTH_AT + 1} (byte offset {WIDTH_AT})",
    ),
    Case(
        "trailing-garbage",
        GOOD + b"}",
        2,
        "Error: in/captions.json: unexpected '}': more data after the end of the JSON value "
        f"at line 1, column {len(GOOD) + 1} (byte offset {len(GOOD)})",
    ),
    Case(
        "utf16-bom",
        codecs.BOM_UTF16_LE + GOOD.decode().encode("utf-16-le"),
        2,
        "Error: in/captions.json: looks like UTF-16, mmconvert reads UTF-8 JSON",
    ),
    Case(
        "utf16-no-bom",
        GOOD.decode().encode("utf-16-be"),
        2,
        "Error: in/captions.json: looks like UTF-16, mmconvert reads UTF-8 JSON",
    ),
    Case(
        "invalid-utf8-caption",
        one_caption(caption="cafBAD").replace(b"BAD", b"\xe9"),
        2,
        "Error: in/captions.json: not valid UTF-8: byte 0xe9 at line 1, column 128 (byte offset 127)",
    ),
    Case(
        "invalid-utf8-file-name",
        one_image(file_name="BAD.png").replace(b"BAD", b"\xff"),
        2,
        "Error: in/captions.json: not valid UTF-8: byte 0xff at line 1, column 37 (byte offset 36)",
    ),
    Case(
        "raw-control-char",
        one_caption(caption="aCTRLb").replace(b"CTRL", b"\x01"),
        2,
        "Error: in/captions.json: a raw control character (U+0001) inside a string; escape it "
        f"at line 1, column {CTRL_AT + 1} (byte offset {CTRL_AT})",
    ),
    Case(
        "deep-nesting-top",
        b'{"images": ' + _deep(100_000) + b', "annotations": []}',
        2,
        "Error: in/captions.json: the JSON is nested too deeply to read (arrays/objects inside each "
        "other hundreds of levels deep)",
    ),
    Case(
        "deep-nesting-in-caption",
        one_caption(caption="x").replace(b'"x"', _deep(5000)),
        2,
        "Error: in/captions.json: the JSON is nested too deeply to read (arrays/objects inside each "
        "other hundreds of levels deep)",
    ),
    Case(
        "input-is-folder",
        None,
        2,
        "Error: in/captions.json: is a folder, expected a JSON file",
        setup=_dir_at("in/captions.json"),
    ),
    Case("input-missing", None, 2, "Error: in/captions.json: cannot read: No such file or directory"),
    Case(
        "input-unreadable",
        GOOD,
        2,
        "Error: in/captions.json: cannot read: Permission denied",
        setup=_unreadable_input,
    ),
    # --- wrong types and broken references: findings naming file, record and JSON path (exit 1)
    Case(
        "number-out-of-range",
        GOOD.replace(b'"width": 8', b'"width": 1e400'),
        1,
        "  in/captions.json:$.images[0].width: Number out of range in this image entry",
    ),
    Case(
        "image-id-bool",
        one_image(id=True),
        1,
        "  in/captions.json:$.images[0].id: Expected `int | str`, got `bool` in this image entry",
    ),
    Case(
        "image-id-null",
        one_image(id=None),
        1,
        "  in/captions.json:$.images[0].id: Expected `int | str`, got `null` in this image entry",
    ),
    Case(
        "file-name-number",
        one_image(file_name=7),
        1,
        "  in/captions.json:$.images[0].file_name: Expected `str`, got `int` in this image entry",
    ),
    Case(
        "width-string",
        one_image(width="8"),
        1,
        "  in/captions.json:$.images[0].width: Expected `int | float | null`, got `str` in this image entry",
    ),
    Case(
        "image-item-list",
        coco_bytes(images=[["a.png"]]),
        1,
        "  in/captions.json:$.images[0]: Expected `object`, got `array` in this image entry",
    ),
    Case(
        "caption-number",
        one_caption(caption=3),
        1,
        "  in/captions.json:$.annotations[0].caption: Expected `str`, got `int` in this annotation entry",
    ),
    Case(
        "caption-null",
        one_caption(caption=None),
        1,
        "  in/captions.json:$.annotations[0].caption: Expected `str`, got `null` in this annotation entry",
    ),
    Case(
        "annotation-id-float",
        one_caption(id=1.5),
        1,
        "  in/captions.json:$.annotations[0].id: Expected `int | str`, got `float` in this annotation entry",
    ),
    Case(
        "image-id-ref-list",
        one_caption(image_id=[1]),
        1,
        "  in/captions.json:$.annotations[0].image_id: Expected `int | str`, got `array` in this "
        "annotation entry",
    ),
    Case(
        "annotation-item-string",
        coco_bytes(annotations=["A red square."]),
        1,
        "  in/captions.json:$.annotations[0]: Expected `object`, got `str` in this annotation entry",
    ),
    Case(
        "duplicate-image-id",
        coco_bytes(images=[{"id": 1, "file_name": "a.png"}, {"id": 1, "file_name": "b.jpg"}]),
        1,
        "  in/captions.json:$.images[1].id: image id 1 is listed twice; its annotations are ambiguous",
    ),
    Case(
        "duplicate-annotation-id",
        coco_bytes(
            annotations=[{"id": 1, "image_id": 1, "caption": "A."}, {"id": 1, "image_id": 1, "caption": "B."}]
        ),
        1,
        "  in/captions.json:$.annotations[1].id (annotation_id=1, image_id=1): annotation id 1 is used twice",
    ),
    Case(
        "dangling-image-id",
        one_caption(image_id=99),
        1,
        "  in/captions.json:$.annotations[0].image_id (annotation_id=1, image_id=99): annotation 1 "
        "refers to image id 99, which is not in `images`",
    ),
    Case(
        "empty-caption",
        one_caption(caption=" \n "),
        1,
        "  in/captions.json:$.annotations[0].caption (annotation_id=1, image_id=1): the caption is "
        "empty (or only whitespace)",
    ),
    Case(
        "empty-lists",
        coco_bytes(images=[], annotations=[]),
        1,
        '  no sample survived the checks; LLaMA-Factory would stop with "Cannot find valid samples"',
    ),
    # --- media paths (exit 1)
    Case(
        "file-name-dotdot",
        one_image(file_name="../outside.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path "
        "'../outside.png' points outside its folder {tmp}/images (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-absolute",
        one_image(file_name="/etc/hostname"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path "
        "'/etc/hostname' points outside its folder {tmp}/images (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-url",
        one_image(file_name="https://example.com/a.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): URLs and data: URIs are not "
        "supported by LLaMA-Factory (it opens local files only) (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-empty",
        one_image(file_name=""),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path is empty "
        "(in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-nul",
        one_image(file_name="a\x00.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path contains a "
        "NUL character (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-is-folder",
        one_image(file_name="sub"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file {tmp}/images/sub "
        "is a folder, not a file (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-symlink-out",
        one_image(file_name="link.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path 'link.png' is "
        "a symlink (or lies in a symlinked folder) that leads outside its folder {tmp}/images "
        "(in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "file-name-symlinked-folder",
        one_image(file_name="linked/s.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): the media path "
        "'linked/s.png' is a symlink (or lies in a symlinked folder) that leads outside its folder "
        "{tmp}/images (in/captions.json:$.images[0].file_name)",
    ),
    Case(
        "missing-image",
        one_image(file_name="gone.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file "
        "{tmp}/images/gone.png not found (in/captions.json:$.images[0].file_name)",
    ),
    # --- placeholder tags in the text (exit 1)
    Case(
        "placeholder-in-answer",
        one_caption(caption="It shows <image> twice."),
        1,
        "  in/captions.json:$.annotations[0].caption (annotation_id=1, image_id=1): the answer text "
        "contains the literal tag <image>, which LF counts as a media slot (the count check fails or "
        "an image lands in the labels)",
    ),
    Case(
        "two-tags-in-prompt",
        GOOD,
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): 2 <image> tags in the user "
        "turns but 1 images attached",
        args=("--prompt", "<image><image>Describe."),
    ),
    # --- options and the output folder (exit 2)
    Case(
        "name-dotdot",
        GOOD,
        2,
        "Error: --name '../x': use letters, digits, '_', '-' and '.', starting with a letter or digit",
        args=("--name", "../x"),
    ),
    Case(
        "name-slash",
        GOOD,
        2,
        "Error: --name 'a/b': use letters, digits, '_', '-' and '.', starting with a letter or digit",
        args=("--name", "a/b"),
    ),
    Case(
        "name-empty",
        GOOD,
        2,
        "Error: --name '': use letters, digits, '_', '-' and '.', starting with a letter or digit",
        args=("--name", ""),
    ),
    Case(
        "name-newline",
        GOOD,
        2,
        "Error: --name 'x\\n': use letters, digits, '_', '-' and '.', starting with a letter or digit",
        args=("--name", "x\n"),
    ),
    Case(
        "name-too-long",
        GOOD,
        2,
        f"Error: --name '{'n' * 300}': use letters, digits, '_', '-' and '.', starting with a letter "
        "or digit",
        args=("--name", "n" * 300),
    ),
    Case(
        "output-dir-is-file",
        GOOD,
        2,
        "Error: --output-dir out: exists and is not a folder",
        setup=_out_is_file,
    ),
    Case("output-exists", GOOD, 2, "Error: out/t.json exists already", setup=_existing_out("[]\n", "t.json")),
    Case(
        "output-is-folder",
        GOOD,
        2,
        "Error: out/t.json is a folder; refusing to replace it",
        setup=_dir_at("out/t.json"),
    ),
    Case(
        "dataset-info-corrupt",
        GOOD,
        2,
        "Error: out/dataset_info.json: not valid JSON (Expecting ',' delimiter: line 1 column 15 (char "
        "14)); refusing to change it",
        setup=_existing_out('{"a": {"b": 1}'),
    ),
    Case(
        "dataset-info-list",
        GOOD,
        2,
        "Error: out/dataset_info.json: the top level is a list, LLaMA-Factory expects an object of "
        "dataset entries; refusing to change it",
        setup=_existing_out('[{"ms_dataset_id": "x"}]\n'),
    ),
    Case(
        "dataset-info-not-utf8",
        GOOD,
        2,
        "Error: out/dataset_info.json: cannot read it ('utf-8' codec can't decode byte 0xe9 in position "
        "16: invalid continuation byte); refusing to change it",
        setup=_existing_out(b'{"a": {"file": "\xe9.json"}}'),
    ),
    Case(
        "dataset-info-is-folder",
        GOOD,
        2,
        "Error: out/dataset_info.json: cannot read it ([Errno 21] Is a directory: "
        "'out/dataset_info.json'); refusing to change it",
        setup=_dir_at("out/dataset_info.json"),
    ),
    Case(
        "entry-exists",
        GOOD,
        2,
        "Error: out/dataset_info.json already has an entry 't'",
        setup=_existing_out('{\n  "t": {"file_name": "t.json"}\n}\n'),
    ),
    Case(
        "images-dir-missing",
        GOOD,
        2,
        "Error: --images-dir {tmp}/nowhere: no such folder",
        args=("-i", "nowhere"),
    ),
    Case(
        "prompts-empty",
        GOOD,
        2,
        "Error: --prompts prompts.txt: the file has no prompt lines",
        args=("--prompts", "prompts.txt"),
        setup=_prompts_file,
    ),
    Case(
        "prompt-and-prompts",
        GOOD,
        2,
        "Error: use either --prompt or --prompts, not both",
        args=("--prompt", "x", "--prompts", "prompts.txt"),
        setup=_prompts_file,
    ),
    # --- detection / grounding: boxes need the image size (exit 1, never a division by zero)
    Case(
        "detection-absurd-width",
        coco_bytes(
            images=[{"id": 1, "file_name": "a.png", "width": 1e300, "height": 8}],
            annotations=[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}],
            categories=[{"id": 1, "name": "square"}],
        ),
        1,
        "  in/captions.json:$.images[0] (image_id=1): image 'a.png' has width 1e+300 and height 8",
        args=("--task", "detection"),
    ),
    Case(
        "grounding-no-image-size",
        coco_bytes(
            images=[{"id": 1, "file_name": "a.png"}],
            annotations=[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}],
            categories=[{"id": 1, "name": "square"}],
        ),
        1,
        "  in/captions.json:$.annotations[0].image_id (annotation_id=1, image_id=1): image 1 has no "
        "width/height in `images`; --bbox-format qwen2.5-vl needs them",
        args=("--task", "grounding"),
    ),
    # --- media files that open badly (exit 1); the default tier (exists) does not open files
    Case(
        "decompression-bomb-header",
        one_image(file_name="huge.png"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file {tmp}/images/huge.png "
        "is over Pillow's decompression-bomb limit; LLaMA-Factory's Image.open raises "
        "DecompressionBombError (30000x30000 = 900,000,000 pixels, limit 178,956,970) "
        "(in/captions.json:$.images[0].file_name)",
        args=("--check", "header"),
        setup=_image_file("huge.png", png_header_only(30000, 30000)),
    ),
    Case(
        "not-an-image",
        one_image(file_name="garbage.jpg"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file "
        "{tmp}/images/garbage.jpg is not an image Pillow can identify; LLaMA-Factory raises "
        "UnidentifiedImageError (in/captions.json:$.images[0].file_name)",
        args=("--check", "header"),
        setup=_image_file("garbage.jpg", b"not an image at all"),
    ),
    Case(
        "empty-image",
        one_image(file_name="empty.jpg"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file "
        "{tmp}/images/empty.jpg "
        "is empty (0 bytes) (in/captions.json:$.images[0].file_name)",
        args=("--check", "header"),
        setup=_image_file("empty.jpg", b""),
    ),
    Case(
        "truncated-image-decode",
        one_image(file_name="trunc.jpg"),
        1,
        "  in/captions.json:$.annotations[0] (annotation_id=1, image_id=1): image file "
        "{tmp}/images/trunc.jpg "
        "has a broken header (Truncated File Read) (in/captions.json:$.images[0].file_name)",
        args=("--check", "decode"),
        setup=_image_file("trunc.jpg", _truncated_jpeg()),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_coco2lf(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path, case.captions)
    if case.setup is not None:
        case.setup(tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    run = run_cli([*BASE_ARGS, *case.args], tmp_path, monkeypatch)
    assert_clean_failure(run, case.code, case.line)
    assert snapshot(tmp_path) == before, "the failed run created or changed files"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
