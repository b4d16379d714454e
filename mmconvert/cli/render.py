"""Rendering findings, errors and results as text for the terminal (stderr), bounded in length."""

from __future__ import annotations

from collections import defaultdict

import click

from mmconvert.errors import MmconvertError, ValidationFailed
from mmconvert.findings import Finding, Findings, Severity

EXAMPLES_PER_CODE = 3
MAX_CODES = 12
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def render_findings(findings: Findings, examples: int = EXAMPLES_PER_CODE, quiet: bool = False) -> None:
    """Print findings grouped by severity and code: count, first examples, the fix once."""
    groups: dict[tuple[Severity, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.severity is Severity.INFO:
            continue
        if quiet and finding.severity is not Severity.ERROR:
            continue
        groups[(finding.severity, finding.code)].append(finding)
    keys = sorted(groups, key=lambda k: (_ORDER[k[0]], -len(groups[k]), k[1]))
    for severity, code in keys[:MAX_CODES]:
        items = groups[(severity, code)]
        click.echo(f"{severity} {code} ({len(items)}):", err=True)
        for finding in items[:examples]:
            where = finding.location()
            click.echo(f"  {where}: {finding.message}" if where else f"  {finding.message}", err=True)
        if len(items) > examples:
            click.echo(f"  ... and {len(items) - examples} more", err=True)
        hint = items[0].hint
        if hint:
            click.echo(f"  fix: {hint}", err=True)
    if len(keys) > MAX_CODES:
        click.echo(f"... and {len(keys) - MAX_CODES} more kinds of finding (see --report)", err=True)


def render_error(exc: MmconvertError) -> None:
    if isinstance(exc, ValidationFailed):
        for note in exc.notes:
            click.echo(note, err=True)
        render_findings(exc.findings)
    click.echo(f"Error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


def render_findings_by_dataset(
    findings: Findings, datasets: list[str], examples: int = EXAMPLES_PER_CODE, quiet: bool = False
) -> None:
    """Print findings grouped by dataset (registry order), then by code: count, first examples, the fix.

    Findings without a dataset come first.  Infos are left out (they are in the report).
    """
    by_dataset: dict[str | None, Findings] = defaultdict(Findings)
    for finding in findings:
        by_dataset[finding.dataset].add(finding)
    order: list[str | None] = [None, *datasets]
    order += [name for name in by_dataset if name not in order]
    for name in order:
        group = by_dataset.get(name)
        if group is None:
            continue
        shown = [
            f for f in group if f.severity is Severity.ERROR or (not quiet and f.severity is Severity.WARNING)
        ]
        if not shown:
            continue
        if name is not None:
            click.echo(f"== {name}: {group.errors} error(s), {group.warnings} warning(s)", err=True)
        render_findings(group, examples=examples, quiet=quiet)
