"""Packaging promises: the lower bounds in pyproject.toml are the versions CI tests as the lowest."""

from __future__ import annotations

import re
import tomllib

from .conftest import ROOT


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _lower_bounds() -> dict[str, tuple[int, ...]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = {}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement)
        assert match, f"{requirement!r}: every direct dependency needs a plain lower bound (name>=version)"
        bounds[match.group(1).lower()] = _release(match.group(2))
    return bounds


def _constraints() -> dict[str, tuple[int, ...]]:
    pins = {}
    for line in (ROOT / ".ci" / "constraints-lowest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = _release(version)
    return pins


def test_lowest_constraints_equal_the_lower_bounds() -> None:
    assert _constraints() == _lower_bounds()


def test_ci_runs_the_suite_on_the_lowest_versions_too() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'PIP_CONSTRAINT="$PWD/.ci/constraints-lowest.txt" eval "$INSTALL_CMD"' in script
    assert "run_suite newest" in script and "run_suite lowest" in script


def test_ci_installs_the_browser_for_the_browser_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = script.index("apt-get install -y -q chromium chromium-driver")
    assert install < script.index('echo "== newest dependency versions"')
