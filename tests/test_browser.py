"""The ``--html`` page in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium) opens the page from a bundled COCO fixture offline and finds no console error, every
image loaded (thumbnails and plots: ``naturalWidth > 0``), box overlays lying exactly over their detection
thumbnails, and takes a screenshot.  Skipped when the browser, its driver or selenium is missing
(``.ci/run`` installs them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli

from .conftest import THIRDPARTY

pytestmark = pytest.mark.browser

INSTANCES = THIRDPARTY / "coco_mini_val2017" / "annotations" / "instances_val2017.json"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
)


def _find(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver", "chromium-driver")
    if chromium is None or driver_path is None:
        pytest.skip("no chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def detection_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of a COCO detection conversion (3 images bundled, 76 missing on purpose)."""
    folder = tmp_path_factory.mktemp("page")
    page = folder / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "coco2lf",
            str(INSTANCES),
            "-o",
            str(folder / "out"),
            "--on-error",
            "skip",
            "--template",
            "qwen2_vl",
            "--html",
            str(page),
            "-q",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return page


_IMAGES = """return Array.from(document.images).map(i => ({
    cls: i.className, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}));"""

_OVERLAYS = """return Array.from(document.querySelectorAll('.chat.detection .frame')).map(f => {
    const img = f.querySelector('img.thumb').getBoundingClientRect();
    const svg = f.querySelector('svg.boxes');
    const box = svg.getBoundingClientRect();
    return {img: [img.left, img.top, img.width, img.height], svg: [box.left, box.top, box.width, box.height],
            rects: svg.querySelectorAll('rect').length,
            drawn: Array.from(svg.querySelectorAll('rect')).filter(r => r.getBBox().width > 0).length};
});"""


def test_page_in_chromium(browser: Any, detection_page: Path, tmp_path: Path) -> None:
    browser.get(detection_page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.title == "mmconvert coco2lf"

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []

    images = browser.execute_script(_IMAGES)
    thumbs = [i for i in images if i["cls"] == "thumb"]
    plots = [i for i in images if i["cls"].startswith("plot")]
    assert len(thumbs) == 3 and len(plots) >= 6
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in images), images

    overlays = browser.execute_script(_OVERLAYS)
    assert len(overlays) == 3  # one per detection example with its image
    for overlay in overlays:
        assert overlay["rects"] > 0 and overlay["drawn"] == overlay["rects"]
        # the overlay lies exactly over its thumbnail, so the boxes are drawn on the image
        for got, want in zip(overlay["svg"], overlay["img"], strict=True):
            assert abs(got - want) < 0.5, overlay

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
