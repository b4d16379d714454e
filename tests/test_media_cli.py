"""--check tiers, --quarantine, --on-error skip, the token budget and the log, through the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from .conftest import run_cli as _run


def _coco(root: Path) -> Path:
    """Three images (good, truncated, big) with two captions each; the big one claims a wrong size."""
    images = root / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (100, 80), (1, 2, 3)).save(images / "good.jpg")
    buffer = io.BytesIO()
    Image.effect_noise((200, 150), 60).convert("RGB").save(buffer, "JPEG")
    (images / "cut.jpg").write_bytes(buffer.getvalue()[:-400])
    Image.new("RGB", (1000, 1000)).save(images / "big.png")
    entries = [("good.jpg", 100, 80), ("cut.jpg", 200, 150), ("big.png", 1000, 999)]
    doc = {
        "images": [
            {"id": i + 1, "file_name": name, "width": w, "height": h}
            for i, (name, w, h) in enumerate(entries)
        ],
        "annotations": [
            {"id": 10 * (i + 1) + k, "image_id": i + 1, "caption": f"caption {k}"}
            for i in range(3)
            for k in range(2)
        ],
    }
    ann = root / "captions.json"
    ann.write_text(json.dumps(doc), encoding="utf-8")
    return ann


def _args(ann: Path, *extra: str) -> list[str]:
    return ["coco2lf", str(ann), "--images-dir", str(ann.parent / "images"), "-o", "out", *extra]


def test_default_exists_tier_accepts_the_truncated_file(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, out, err = _run(_args(ann), tmp_path)
    assert code == 0, err
    assert out.startswith("Wrote 6 samples")


def test_decode_tier_names_the_truncated_file(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, out, err = _run(_args(ann, "--check", "decode", "--jobs", "1"), tmp_path)
    assert code == 1
    assert out == ""
    assert "error media-truncated (2):" in err
    cut = ann.parent / "images" / "cut.jpg"
    assert f"image file {cut} is truncated (Pillow: image file is truncated" in err
    assert "warning media-size-mismatch (1):" in err
    assert f"image file {ann.parent / 'images' / 'big.png'} is 1000x1000 but the source says 1000x999" in err
    assert err.splitlines()[-1] == "Error: 2 error(s) in the data; nothing was written"
    assert not (tmp_path / "out").exists()


def test_header_tier_does_not_see_truncation(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, err = _run(_args(ann, "--check", "header"), tmp_path)
    assert code == 0, err
    assert "media-truncated" not in err


def test_quarantine_and_skip(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, out, err = _run(
        _args(ann, "--check", "decode", "--on-error", "skip", "--quarantine", "bad.tsv"), tmp_path
    )
    assert code == 0, err
    assert out.endswith("; skipped 2 sample(s) with errors (listed above)\n")
    rows = (tmp_path / "bad.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "path\treason\tmessage"
    assert len(rows) == 2
    path, reason, message = rows[1].split("\t")
    assert (path, reason) == (str(ann.parent / "images" / "cut.jpg"), "media-truncated")
    assert "is truncated" in message
    written = json.loads((tmp_path / "out" / "coco_captions.json").read_text(encoding="utf-8"))
    assert len(written) == 4


def test_quarantine_is_written_when_the_run_fails(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, _ = _run(_args(ann, "--check", "decode", "--quarantine", "bad.tsv"), tmp_path)
    assert code == 1
    assert "media-truncated" in (tmp_path / "bad.tsv").read_text(encoding="utf-8")


def test_token_budget_warns_with_sizes_from_the_source(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, err = _run(_args(ann, "--template", "qwen2_vl", "--cutoff-len", "700"), tmp_path)
    assert code == 0, err
    assert "warning image-tokens-over-cutoff (2):" in err
    # the size the source claims (1000x999) is used at tier exists: 729 + 2 tokens
    assert "the image(s) alone expand to 731 tokens (1000x999 -> 729, +2 each)" in err


def test_token_budget_reads_headers_when_sizes_are_unknown(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    doc = json.loads(ann.read_text(encoding="utf-8"))
    for image in doc["images"]:
        del image["width"], image["height"]
    ann.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = _run(_args(ann, "--template", "qwen2_vl", "--cutoff-len", "700"), tmp_path)
    assert code == 0, err
    assert "the image(s) alone expand to 731 tokens (1000x1000 -> 729, +2 each)" in err


def test_cutoff_len_needs_a_template(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, err = _run(_args(ann, "--cutoff-len", "700"), tmp_path)
    assert code == 2
    assert "--cutoff-len needs --template" in err


def test_log_file_records_every_check(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, err = _run(
        _args(ann, "--check", "decode", "--on-error", "skip", "--log-file", "run.log"), tmp_path
    )
    assert code == 0, err
    log = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert f"decode {ann.parent / 'images' / 'cut.jpg'}: truncated: is truncated" in log
    assert f"decode {ann.parent / 'images' / 'good.jpg'}: ok JPEG 100x80 RGB" in log
    assert "media: 3 file(s) checked at tier decode, 1 bad" in log
    assert "mmconvert:" not in err  # no -v: the log stays out of stderr


def test_verbose_logs_to_stderr(tmp_path: Path) -> None:
    ann = _coco(tmp_path)
    code, _, err = _run(_args(ann, "--check", "header", "-v"), tmp_path)
    assert code == 0, err
    assert "mmconvert: media: 3 file(s) checked at tier header, 0 bad" in err
