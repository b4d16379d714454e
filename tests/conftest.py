"""Shared test helpers: where the third-party data is, the golden-file switch, the LF oracle.

Real third-party files that the tests use are bundled under ``fixtures/thirdparty`` (``THIRDPARTY``;
sources and licenses in ``fixtures/README.md``).  Files that may not be bundled (non-commercial or of
unclear license) stay in ``../shared/data``; only tests marked ``shared_data`` read them, through the
``shared_data`` fixture, and they are skipped when that folder is absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MMCONVERT_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
FIXTURES = ROOT / "fixtures"
#: Real third-party files bundled with the repository, in their upstream layout.
THIRDPARTY = FIXTURES / "thirdparty"
ORACLE = SHARED / "lf-oracle" / "lf_oracle.py"
LF_VENV = Path(os.environ.get("LF_VENV", "/tmp/lf-venv"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/**/expected from the current output (review the diff)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` tests run only when asked for: without ``-m`` they are skipped; any ``-m`` expression
    (``-m slow``, ``-m lf_oracle``) decides by itself.

    A test that reads ``../shared/data`` (the ``shared_data`` fixture) must say so with the
    ``shared_data`` marker: every other test runs from a clone alone."""
    unmarked = [
        item.nodeid
        for item in items
        if "shared_data" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("shared_data") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the shared_data fixture without @pytest.mark.shared_data (bundle the files "
            "under fixtures/thirdparty instead, or mark the test): " + ", ".join(unmarked)
        )
    if config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``, for the ``shared_data``-marked tests on files that are not bundled."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared_data: {SHARED_DATA} not found (real files that are not bundled)")
    return SHARED_DATA


def run_oracle(
    dataset_dir: Path,
    dataset: str,
    stage: str = "sft",
    template: str = "qwen2_vl",
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """Ask the real LLaMA-Factory 0.9.5 about a dataset folder; skips when its venv is absent."""
    python = LF_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"LF oracle venv not found at {LF_VENV} (run ../shared/lf-oracle/setup.sh)")
    if not ORACLE.exists():
        pytest.skip(f"LF oracle script not found at {ORACLE} (it comes with ../shared)")
    cmd = [
        str(python),
        str(ORACLE),
        "--dataset-dir",
        str(dataset_dir),
        "--dataset",
        dataset,
        "--stage",
        stage,
        "--template",
        template,
        "--per-sample",
        *(extra or []),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=dataset_dir, timeout=900)
    if proc.returncode not in (0, 1):
        raise AssertionError(f"oracle failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def run_cli(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Invoke the ``mmconvert`` CLI in ``cwd`` with click's CliRunner: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from mmconvert.cli import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def mmconvert_exe() -> list[str]:
    """The installed console script, else ``python -m mmconvert``."""
    exe = Path(sys.executable).parent / "mmconvert"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mmconvert"]
