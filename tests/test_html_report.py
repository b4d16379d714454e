"""``--html``: one self-contained page (nothing loaded from elsewhere, bounded size), findings grouped by
code with their examples as chats, placeholder tags highlighted, and detection boxes drawn in the
coordinate space each ``--bbox-format`` means (checked against the COCO boxes in original pixels)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.findings import Severity
from mmconvert.html_report import BOX_FORMATS, BoxSpace, meaning

from .conftest import FIXTURES, THIRDPARTY
from .standins import lf_data_folder

CAPTIONS = FIXTURES / "coco_captions" / "annotations" / "captions_val2017.json"
INSTANCES = THIRDPARTY / "coco_mini_val2017" / "annotations" / "instances_val2017.json"
MAX_PAGE_BYTES = 20 * 1024 * 1024


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


class _Page(HTMLParser):
    """The parts of the page the tests look at: images, box overlays and their rects, marks, finding codes."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.overlays: list[dict[str, Any]] = []
        self.marks: list[str] = []
        self.codes: list[str] = []
        self.tags: set[str] = set()
        self._in_mark = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(a)
        elif tag == "svg" and a.get("class") == "boxes":
            self.overlays.append({"view_box": a["viewbox"], "format": a["data-format"], "rects": []})
        elif tag == "rect" and self.overlays:
            self.overlays[-1]["rects"].append([float(a[k] or 0) for k in ("x", "y", "width", "height")])
        elif tag == "mark":
            self._in_mark = True
        elif tag == "section" and "finding-group" in (a.get("class") or ""):
            self.codes.append(a["data-code"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._in_mark = False

    def handle_data(self, data: str) -> None:
        if self._in_mark:
            self.marks.append(data)


def _page(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(text)
    return text, parser


def _detection_page(tmp_path: Path, fmt: str) -> tuple[str, _Page]:
    page = tmp_path / f"{fmt}.html"
    result = _run(
        "coco2lf",
        str(INSTANCES),
        "--bbox-format",
        fmt,
        "-o",
        str(tmp_path / fmt),
        "--on-error",
        "skip",
        "--html",
        str(page),
        "-q",
    )
    assert result.exit_code == 0, result.output
    return _page(page)


def test_page_is_self_contained_and_bounded(tmp_path: Path) -> None:
    text, page = _detection_page(tmp_path, "qwen2.5-vl")
    assert len(text.encode("utf-8")) < MAX_PAGE_BYTES
    assert not {"script", "link", "iframe", "object", "embed"} & page.tags
    assert all((img["src"] or "").startswith("data:image/") for img in page.images)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "url(" not in text
    thumbs = [img for img in page.images if img.get("class") == "thumb"]
    assert len(thumbs) == 3  # the 3 bundled images; the 76 missing ones are drawn as "missing file" boxes
    assert text.count('class="nothumb state-missing"') >= 8  # the media-missing examples
    plots = [img for img in page.images if "plot" in (img.get("class") or "")]
    assert {p["class"] for p in plots} >= {"plot plot-turns", "plot plot-tokens", "plot plot-classes"}


def test_findings_grouped_by_code_with_counts_meaning_and_fix(tmp_path: Path) -> None:
    text, page = _detection_page(tmp_path, "qwen2.5-vl")
    assert page.codes == ["media-missing", "coco-crowd-skipped"]  # errors first, then warnings
    assert 'error <code>media-missing</code> <span class="count">(76)</span>' in text
    assert meaning("media-missing", Severity.ERROR) in text
    assert "<b>Fix:</b> check --images-dir / --media-dir, or use --on-error skip to drop such samples" in text
    assert "… and 63 more (every finding is in --report)." in text  # 8 as chats, 5 listed
    assert page.marks.count("<image>") >= 3 + 8  # the prompts of the examples


def test_placeholder_tags_are_highlighted_where_they_sit(tmp_path: Path) -> None:
    folder = lf_data_folder(tmp_path)
    page_path = tmp_path / "page.html"
    result = _run("stats", str(folder), "--dataset", "mllm_demo", "--html", str(page_path), "-q")
    assert result.exit_code == 0, result.output
    text, page = _page(page_path)
    # mllm_demo's first chat: "<image>Who are they?" and later "What are they doing?<image>"
    assert '<mark class="ph ph-image" title="image placeholder">&lt;image&gt;</mark>Who are they?' in text
    assert (
        'What are they doing?<mark class="ph ph-image" title="image placeholder">&lt;image&gt;</mark>' in text
    )
    assert (
        len([img for img in page.images if img.get("class") == "thumb"]) == 6 + 2
    )  # 6 samples' first images


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_boxes_are_drawn_where_the_format_puts_them(tmp_path: Path, fmt: str) -> None:
    """Whatever the format, each drawn box covers the COCO box's place in the image: its position divided
    by the overlay's coordinate space equals the COCO box divided by the image size, up to the format's
    rounding."""
    _, page = _detection_page(tmp_path, fmt)
    raw = json.loads(INSTANCES.read_text(encoding="utf-8"))
    bundled = {p.name for p in (INSTANCES.parent.parent / "val2017").iterdir()}
    images = [i for i in raw["images"] if i["file_name"] in bundled]
    assert len(page.overlays) == len(images) == 3
    for image, overlay in zip(images, page.overlays, strict=True):
        assert overlay["format"] == fmt
        _, _, vw, vh = (float(v) for v in overlay["view_box"].split())
        assert (vw, vh) == BoxSpace(fmt).view_box(image["width"], image["height"])
        boxes = [a["bbox"] for a in raw["annotations"] if a["image_id"] == image["id"] and not a["iscrowd"]]
        assert len(overlay["rects"]) == len(boxes)
        tolerance = {"qwen2.5-vl": 1 / min(vw, vh), "qwen3-vl": 0.001, "norm": 0.0001}.get(fmt, 1e-6) + 1e-6
        for (x, y, w, h), (bx, by, bw, bh) in zip(overlay["rects"], boxes, strict=True):
            W, H = image["width"], image["height"]
            expected = (bx / W, by / H, (bx + bw) / W, (by + bh) / H)
            drawn = (x / vw, y / vh, (x + w) / vw, (y + h) / vh)
            for got, want in zip(drawn, expected, strict=True):
                assert abs(got - min(want, 1.0)) <= 2 * tolerance, (fmt, image["id"], drawn, expected)


def test_a_wrong_format_shows(tmp_path: Path) -> None:
    """qwen3-vl numbers (0-1000) drawn as qwen2.5-vl pixels land outside a 640-wide image's space."""
    _, page = _detection_page(tmp_path, "qwen3-vl")
    right = max(x + w for overlay in page.overlays for x, _, w, _ in overlay["rects"])
    assert right > 900
    tw, _ = BoxSpace("qwen2.5-vl").view_box(640, 480)
    assert right > tw  # as qwen2.5-vl pixels this box would leave the image


def test_thumbnail_budget_leaves_thumbnails_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmconvert.html_report as html_report

    monkeypatch.setattr(html_report, "THUMBNAIL_BUDGET", 1)
    page_path = tmp_path / "page.html"
    result = _run("coco2lf", str(CAPTIONS), "-o", str(tmp_path / "out"), "--html", str(page_path), "-q")
    assert result.exit_code == 0, result.output
    text, page = _page(page_path)
    assert len({img["src"] for img in page.images if img.get("class") == "thumb"}) == 1  # one of the 3 files
    assert "thumbnail(s) left out to keep the page small." in text


def test_html_usage_errors(tmp_path: Path) -> None:
    result = _run("coco2lf", str(CAPTIONS), "-o", str(tmp_path / "out"), "--html", str(tmp_path))
    assert result.exit_code == 2
    assert f"Error: Invalid value for '--html': File '{tmp_path}' is a directory." in result.stderr
    assert not (tmp_path / "out").exists()


def test_validate_page_shows_the_samples_its_findings_name(tmp_path: Path) -> None:
    page_path = tmp_path / "page.html"
    lf_data = THIRDPARTY / "llamafactory" / "data"
    result = _run("validate", str(lf_data), "--dataset", "mllm_demo", "--html", str(page_path), "-q")
    assert result.exit_code == 1  # mllm_demo_data/ is not bundled: every image is missing
    text, page = _page(page_path)
    assert page.codes[:2] == ["media-missing", "no-valid-samples"]
    section = text.split('data-code="media-missing"', 1)[1].split("</section>", 1)[0]
    # 8 findings (two for the chats with the same image twice) on 6 samples: each sample shown once
    assert section.count('class="finding-example"') == 6
    assert section.count('class="nothumb state-missing"') == 8
    assert "mllm_demo: 0 of 6 samples will train (6 rejected or dropped)" in text
