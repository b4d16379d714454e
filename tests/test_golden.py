"""Golden folders: ``tests/golden/<format>/<case>/`` holds ``input/`` (or ``input = "..."`` in
``case.toml`` pointing at another case's input), ``case.toml`` (CLI ``args``, ``exit_code``) and
``expected/``: the files the command writes under its output folder plus ``_console.txt`` (stdout then
stderr, with the temp folder replaced by ``<tmp>``).  ``pytest --update-golden`` rewrites ``expected/``.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.parent for p in GOLDEN.glob("*/*/case.toml"))


def _outputs(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "input"
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path, tmp_path: Path, update_golden: bool) -> None:
    spec = tomllib.loads((case / "case.toml").read_text(encoding="utf-8"))
    source = (case / spec.get("input", "input")).resolve()
    work = tmp_path / "work"
    work.mkdir()
    if source.exists():
        shutil.copytree(source, work / "input")
    env = {str(k): str(v) for k, v in spec.get("env", {}).items()}
    old = os.getcwd()
    os.chdir(work)
    try:
        result = CliRunner(env=env).invoke(cli, spec["args"], catch_exceptions=False)
    finally:
        os.chdir(old)
    console = (result.stdout + "--- stderr ---\n" + result.stderr).replace(str(work), "<tmp>")
    produced = _outputs(work)
    produced["_console.txt"] = console.encode("utf-8")
    expected_dir = case / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in produced.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    assert result.exit_code == spec.get("exit_code", 0), console
    expected = _outputs(expected_dir) if expected_dir.exists() else {}
    assert sorted(produced) == sorted(expected), "different files written (run --update-golden?)"
    for rel, data in expected.items():
        assert produced[rel].decode("utf-8") == data.decode("utf-8"), rel
