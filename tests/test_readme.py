"""The README's quick start works on a fresh venv, and CI runs exactly its test command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quickstart(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", README, re.S)
    assert match, f"README has no {marker} block"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    command = quickstart("quickstart-test")
    assert command == 'pip install ".[test]" && python -m pytest -q'
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- quickstart-test -->" in ci  # .ci/run extracts and evals that very block


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the tracked tree")
def test_quickstart_run_command_in_a_fresh_venv(tmp_path: Path) -> None:
    command = quickstart("quickstart-run")
    # A clean copy of the tracked tree (what a fresh clone holds), plus uncommitted edits of tracked files.
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    )
    if files.returncode != 0:
        pytest.skip("not a git checkout")
    repo = tmp_path / "repo"
    for rel in files.stdout.splitlines():
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        ["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Wrote 15 samples to data/coco_demo.json and entry 'coco_demo' in data/dataset_info.json" in (
        proc.stdout
    )
    rows = json.loads((repo / "data" / "coco_demo.json").read_text(encoding="utf-8"))
    assert len(rows) == 15
    assert all((repo / "data" / row["images"][0]).is_file() for row in rows)
