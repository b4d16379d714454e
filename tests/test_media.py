"""Media checks on real bad files made with Pillow: each named with the right reason at the right tier."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from mmconvert import media
from mmconvert.media import (
    MediaCache,
    Reason,
    check_file,
    check_media_files,
    write_quarantine,
)
from mmconvert.options import CheckTier

from .conftest import run_cli

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _noisy(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes(
        "RGB", (width, height), bytes(rng.randrange(256) for _ in range(width * height * 3))
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_zoo(folder: Path) -> Path:
    """One file per hostile case (see the table in ``EXPECTED``)."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = Image.new("RGB", (64, 48), (200, 30, 40))
    plain.save(folder / "good.jpg")
    plain.save(folder / "good.png")
    buffer = io.BytesIO()
    _noisy(128, 96).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    buffer = io.BytesIO()
    _noisy(128, 96).save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    start = png.index(b"IDAT") + 20
    png[start : start + 40] = bytes(b ^ 0xFF for b in png[start : start + 40])
    (folder / "corrupt.png").write_bytes(bytes(png))
    (folder / "empty.jpg").write_bytes(b"")
    plain.save(folder / "png_named.jpg", "PNG")
    (folder / "page.jpg").write_text("<html>Not found</html>", encoding="utf-8")
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + _png_chunk(b"IEND", b"")
    )
    Image.new("CMYK", (32, 32), (0, 50, 100, 0)).save(folder / "cmyk.jpg")
    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    Image.new("I;16", (16, 16)).save(folder / "deep.png")
    os.symlink("loop_b.jpg", folder / "loop_a.jpg")
    os.symlink("loop_a.jpg", folder / "loop_b.jpg")
    os.symlink("nowhere.jpg", folder / "dangling.jpg")
    (folder / "folder.jpg").mkdir()
    return folder


# file -> {tier: problem reason, or "ok", or a note reason that must be present}
OK = "ok"
EXPECTED: dict[str, dict[CheckTier, str]] = {
    "good.jpg": {CheckTier.EXISTS: OK, CheckTier.HEADER: OK, CheckTier.DECODE: OK},
    "good.png": {CheckTier.EXISTS: OK, CheckTier.HEADER: OK, CheckTier.DECODE: OK},
    "truncated.jpg": {CheckTier.EXISTS: OK, CheckTier.HEADER: OK, CheckTier.DECODE: "truncated"},
    "corrupt.png": {CheckTier.EXISTS: OK, CheckTier.HEADER: OK, CheckTier.DECODE: "corrupt"},
    "empty.jpg": {CheckTier.EXISTS: OK, CheckTier.HEADER: "empty", CheckTier.DECODE: "empty"},
    "png_named.jpg": {
        CheckTier.EXISTS: OK,
        CheckTier.HEADER: "note:wrong-extension",
        CheckTier.DECODE: "note:wrong-extension",
    },
    "page.jpg": {CheckTier.EXISTS: OK, CheckTier.HEADER: "unidentified", CheckTier.DECODE: "unidentified"},
    "bomb.png": {
        CheckTier.EXISTS: OK,
        CheckTier.HEADER: "decompression-bomb",
        CheckTier.DECODE: "decompression-bomb",
    },
    "cmyk.jpg": {CheckTier.EXISTS: OK, CheckTier.HEADER: "note:cmyk", CheckTier.DECODE: "note:cmyk"},
    "animated.gif": {
        CheckTier.EXISTS: OK,
        CheckTier.HEADER: "note:animated",
        CheckTier.DECODE: "note:animated",
    },
    "deep.png": {
        CheckTier.EXISTS: OK,
        CheckTier.HEADER: "note:high-bit-depth",
        CheckTier.DECODE: "note:high-bit-depth",
    },
    "loop_a.jpg": {CheckTier.EXISTS: "not-file", CheckTier.HEADER: "not-file", CheckTier.DECODE: "not-file"},
    "dangling.jpg": {CheckTier.EXISTS: "missing", CheckTier.HEADER: "missing", CheckTier.DECODE: "missing"},
    "folder.jpg": {CheckTier.EXISTS: "not-file", CheckTier.HEADER: "not-file", CheckTier.DECODE: "not-file"},
    "absent.jpg": {CheckTier.EXISTS: "missing", CheckTier.HEADER: "missing", CheckTier.DECODE: "missing"},
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.mark.parametrize("tier", [CheckTier.EXISTS, CheckTier.HEADER, CheckTier.DECODE])
def test_each_hostile_file_gets_its_reason_at_its_tier(zoo: Path, tier: CheckTier) -> None:
    paths = [str(zoo / name) for name in EXPECTED]
    results = check_media_files(paths, tier, jobs=1)
    assert list(results) == paths
    for name, tiers in EXPECTED.items():
        check = results[str(zoo / name)]
        want = tiers[tier]
        got_notes = {reason.value for reason, _ in check.notes}
        if want == OK:
            assert check.ok and not got_notes, (name, check)
        elif want.startswith("note:"):
            assert check.ok, (name, check)
            assert want[5:] in got_notes, (name, check)
        else:
            assert check.problem is not None and check.problem.value == want, (name, check)
            assert check.message


def test_messages_say_what_is_wrong(zoo: Path) -> None:
    results = check_media_files([str(zoo / n) for n in EXPECTED], CheckTier.DECODE, jobs=1)

    def message(name: str) -> str:
        return results[str(zoo / name)].message or ""

    assert message("loop_a.jpg") == "is a symlink loop"
    assert message("dangling.jpg") == "is a broken symlink (its target does not exist)"
    assert message("folder.jpg") == "is a folder, not a file"
    assert message("empty.jpg") == "is empty (0 bytes)"
    assert message("page.jpg") == (
        "is not an image Pillow can identify; LLaMA-Factory raises UnidentifiedImageError "
        "(it looks like HTML, XML or JSON text)"
    )
    assert message("truncated.jpg").startswith("is truncated (Pillow: image file is truncated")
    assert message("corrupt.png").startswith("cannot be decoded (Pillow: ")
    assert "DecompressionBombError" in message("bomb.png")
    notes = dict(results[str(zoo / "png_named.jpg")].notes)
    assert notes[Reason.WRONG_EXTENSION] == "is a PNG file named .jpg"
    notes = dict(results[str(zoo / "animated.gif")].notes)
    assert notes[Reason.ANIMATED] == "is animated (3 frames); LLaMA-Factory uses the first frame only"


def test_header_reads_sizes_and_modes(zoo: Path) -> None:
    results = check_media_files([str(zoo / "good.jpg"), str(zoo / "cmyk.jpg")], "header", jobs=1)
    good, cmyk = results.values()
    assert (good.format, good.width, good.height, good.mode) == ("JPEG", 64, 48, "RGB")
    assert (cmyk.format, cmyk.width, cmyk.height, cmyk.mode) == ("JPEG", 32, 32, "CMYK")
    assert good.size == (zoo / "good.jpg").stat().st_size


def test_unreadable_file(zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.jpg"
    Image.new("RGB", (8, 8)).save(locked)
    locked.chmod(0)
    try:
        if IS_ROOT:
            # root reads chmod 000 files, and so would LLaMA-Factory running as root: no false alarm ...
            assert check_file(str(locked), "image", CheckTier.HEADER).ok

            # ... and the reason mapping is checked with the error a normal user would get.
            def denied(*args: object, **kwargs: object) -> object:
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(media.os, "open", denied)
        check = check_file(str(locked), "image", CheckTier.HEADER)
        assert check.problem is Reason.UNREADABLE
        assert check.message == "cannot be read (permission denied)"
    finally:
        locked.chmod(0o644)


def test_pool_gives_the_same_answers(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "POOL_THRESHOLD", 0)
    monkeypatch.setattr(media, "CHUNK", 3)
    paths = [str(zoo / name) for name in EXPECTED]
    serial = check_media_files(paths, "decode", jobs=1)
    parallel = check_media_files(paths, "decode", jobs=2)
    assert parallel == serial


def test_each_file_checked_once_and_cached_by_size_and_mtime(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    Image.new("RGB", (10, 10)).save(image)
    cache = MediaCache()
    first = check_media_files([str(image)] * 5, "header", jobs=1, cache=cache)
    assert len(first) == 1
    assert cache.get(str(image), CheckTier.HEADER) is first[str(image)]
    # a header-tier result does not answer a decode question
    assert cache.get(str(image), CheckTier.DECODE) is None
    Image.new("RGB", (20, 10)).save(image)  # new size and mtime: the cached answer is stale
    assert cache.get(str(image), CheckTier.HEADER) is None
    second = check_media_files([str(image)], "header", jobs=1, cache=cache)
    assert second[str(image)].width == 20


def test_symlink_outside_the_dataset_is_a_warning(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.new("RGB", (4, 4)).save(outside / "real.jpg")
    root = tmp_path / "dataset"
    root.mkdir()
    os.symlink(outside / "real.jpg", root / "link.jpg")
    Image.new("RGB", (4, 4)).save(root / "inside.jpg")
    os.symlink(root / "inside.jpg", root / "link_inside.jpg")
    results = check_media_files(
        [str(root / "link.jpg"), str(root / "link_inside.jpg")], "exists", root=str(root)
    )
    link, inside = results.values()
    assert link.ok and [reason for reason, _ in link.notes] == [Reason.SYMLINK_OUTSIDE]
    assert inside.ok and not inside.notes


def test_video_without_pyav_is_skipped_with_a_note(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    try:
        import av  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("PyAV is installed here")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (check,) = check_media_files([str(video)], "decode").values()
    assert check.ok
    assert check.notes[0][0] is Reason.CHECK_SKIPPED
    assert "PyAV is not installed" in check.notes[0][1]


def test_quarantine_file_is_tsv(tmp_path: Path) -> None:
    target = tmp_path / "bad.tsv"
    count = write_quarantine(str(target), [("/d/a\tb.jpg", "media-truncated", "is truncated")])
    assert count == 1
    assert target.read_text(encoding="utf-8") == (
        'path\treason\tmessage\n"/d/a\tb.jpg"\tmedia-truncated\tis truncated\n'
    )


def _jpeg(image: Image.Image, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kw)
    return buffer.getvalue()


def _png(image: Image.Image, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **kw)
    return buffer.getvalue()


def _header_cases() -> list[tuple[str, bytes]]:
    rgb = _noisy(37, 23, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [Image.new("RGB", (9, 7), (i, 0, 0)) for i in range(4)]
    return [
        ("baseline", _jpeg(rgb)),
        ("progressive", _jpeg(rgb, progressive=True)),
        ("grey", _jpeg(rgb.convert("L"))),
        ("cmyk", _jpeg(rgb.convert("CMYK"))),
        ("exif", _jpeg(rgb, exif=exif.tobytes())),
        ("icc", _jpeg(rgb, icc_profile=b"\0" * 3000)),
        ("png-rgb", _png(rgb)),
        ("png-rgba", _png(rgb.convert("RGBA"))),
        ("png-palette", _png(rgb.convert("P"))),
        ("png-grey", _png(rgb.convert("L"))),
        ("png-1bit", _png(rgb.convert("1"))),
        ("png-16bit", _png(Image.new("I;16", (5, 6)))),
        ("apng", _png(frames[0], save_all=True, append_images=frames[1:])),
    ]


@pytest.mark.parametrize(("name", "data"), _header_cases())
def test_fast_header_agrees_with_pillow(tmp_path: Path, name: str, data: bytes) -> None:
    """The JPEG/PNG fast path must say what Pillow says (format, size, mode, frames)."""
    path = tmp_path / f"{name}.img"
    path.write_bytes(data)
    fast = media._fast_header(data[: media.HEAD_BYTES])
    assert fast is not None, name
    fmt, width, height, mode, frames, _ = fast
    with Image.open(path) as image:
        assert (fmt, width, height, mode) == (image.format, *image.size, image.mode)
        assert frames == getattr(image, "n_frames", 1)


def test_passes_check_each_file_once_across_windows(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Samples stream through in small windows, in order; each file is checked once; the pool is used."""
    from mmconvert import passes
    from mmconvert.findings import Findings
    from mmconvert.model import Dataset, Media, MediaKind, Role, Sample, SourceRef, Turn
    from mmconvert.options import OnError, PassOptions

    monkeypatch.setattr(passes, "WINDOW_SAMPLES", 2)
    monkeypatch.setattr(media, "POOL_THRESHOLD", 0)
    names = ["good.jpg", "truncated.jpg", "good.jpg", "cmyk.jpg", "truncated.jpg", "good.png", "good.jpg"]
    samples = [
        Sample(
            turns=(Turn(Role.USER, "<image>Describe."), Turn(Role.ASSISTANT, "A thing.")),
            source=SourceRef("chat.json", i, f"$[{i}]"),
            images=(Media(MediaKind.IMAGE, name, base=str(zoo)),),
        )
        for i, name in enumerate(names)
    ]
    findings = Findings()
    stats = passes.PassStats()
    options = PassOptions(check=CheckTier.DECODE, on_error=OnError.SKIP, jobs=2)
    checked: list[int] = []
    original = passes.MediaResolver.finish

    def spy(self: passes.MediaResolver) -> None:
        checked.append(self._checker.checked)
        original(self)

    monkeypatch.setattr(passes.MediaResolver, "finish", spy)
    out = list(passes.run_passes(Dataset("demo", iter(samples)), options, findings, stats).samples)
    assert [s.source.index for s in out] == [0, 2, 3, 5, 6]
    assert checked == [4]  # four distinct files
    codes = [(f.index, f.code) for f in findings]
    assert codes == [(1, "media-truncated"), (3, "media-cmyk"), (4, "media-truncated")]
    assert out[0].images[0].resolved == str(zoo / "good.jpg")


def test_a_fifo_named_like_an_image_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for tier in ("exists", "header", "decode"):
        (check,) = check_media_files([str(fifo)], tier, jobs=1).values()
        assert check.problem is Reason.NOT_FILE
        assert check.message == "is not a regular file (a device, socket or fifo)"


def _no_pyav() -> None:
    try:
        import av  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return
    pytest.skip("PyAV is installed here")


def _video_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    rows = [{"messages": [{"role": "user", "content": "<video>Hi"}, {"role": "assistant", "content": "Yo"}]}]
    rows[0]["videos"] = ["clip.mp4"]  # type: ignore[assignment]
    (folder / "v.json").write_text(json.dumps(rows), encoding="utf-8")
    entry = {
        "file_name": "v.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "videos": "videos"},
    }
    entry["tags"] = {  # type: ignore[assignment]
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
        "observation_tag": "observation",
        "function_tag": "function_call",
        "system_tag": "system",
    }
    (folder / "dataset_info.json").write_text(json.dumps({"v": entry}), encoding="utf-8")
    return folder


def test_decode_without_pyav_says_so_on_the_terminal(tmp_path: Path) -> None:
    """--check decode that cannot open videos is a warning on stderr, for validate and convert alike."""
    _no_pyav()
    folder = _video_folder(tmp_path)
    line = (
        "was only checked to exist, like every video and audio file: PyAV is not installed "
        "(pip install 'mmconvert[video]')"
    )
    code, _out, err = run_cli(["validate", str(folder), "--check", "decode"], tmp_path)
    assert code == 0
    assert "warning media-check-skipped (1):" in err
    assert f"video file {str(folder / 'clip.mp4')!r} {line}" in err
    code, _out, err = run_cli(
        ["convert", str(folder / "v.json"), "--from", "sharegpt", "--media-dir", str(folder), "-o", "out"],
        tmp_path,
    )
    assert code == 0 and "media-check-skipped" not in err  # only asked for at --check decode
    code, _out, err = run_cli(
        [
            *("convert", str(folder / "v.json"), "--from", "sharegpt"),
            *("--media-dir", str(folder), "-o", "out2", "--check", "decode"),
        ],
        tmp_path,
    )
    assert code == 0
    assert f"video file {folder / 'clip.mp4'} {line}" in err
