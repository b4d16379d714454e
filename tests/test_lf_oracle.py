"""Ask the real LLaMA-Factory 0.9.5 whether it accepts what coco2lf writes (skipped without its venv)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli

from .conftest import FIXTURES, THIRDPARTY, run_oracle

pytestmark = pytest.mark.lf_oracle
TRICKY = Path(__file__).parent / "golden" / "coco" / "tricky" / "input"


def test_lf_accepts_every_coco_sample_written(tmp_path: Path) -> None:
    shutil.copytree(TRICKY, tmp_path / "tricky")
    out = tmp_path / "out"
    runs = [
        ["coco2lf", str(tmp_path / "tricky/annotations/captions_val2017.json"), "--name", "tricky"],
        ["coco2lf", str(FIXTURES / "coco_captions/annotations/captions_val2017.json"), "--name", "demo"],
        [
            "coco2lf",
            str(THIRDPARTY / "coco_mini_val2017/annotations/captions_val2017.json"),
            "--name",
            "mini",
            "--format",
            "jsonl",
        ],
    ]
    written = 0
    for args in runs:
        result = CliRunner().invoke(cli, [*args, "-o", str(out), "--on-error", "skip", "-q"])
        assert result.exit_code == 0, result.stderr
        written += int(result.stdout.split()[1])
    report = run_oracle(out, "tricky,demo,mini")
    assert report["load_errors"] == []
    assert report["rejected"] == []
    assert report["total"] == report["accepted"] == written == 4 + 15 + 15
