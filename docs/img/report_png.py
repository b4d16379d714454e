"""Makes docs/img/report.png, the README's picture of an --html page, from a bundled COCO fixture.

Run from the repository root with Chromium, chromium-driver and selenium installed:
    python docs/img/report_png.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = "fixtures/thirdparty/coco_mini_val2017/annotations/instances_val2017.json"  # relative to ROOT


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "mmconvert", "coco2lf", INSTANCES, "-o", f"{tmp}/out", "--name", "coco_detection",
             "--on-error", "skip", "--template", "qwen2_vl", "--html", str(page), "-q"],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )  # fmt: skip
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,800",
                    f"--user-data-dir={tmp}/profile"):  # fmt: skip
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(page.as_uri())
            driver.execute_script("document.querySelector('h3.examples').scrollIntoView()")
            shot = Path(tmp) / "shot.png"
            driver.save_screenshot(str(shot))
        finally:
            driver.quit()
        image = Image.open(shot).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(ROOT / "docs/img/report.png", optimize=True)


if __name__ == "__main__":
    main()
