"""The JSON report (``--report FILE``): every finding plus counts; its shape is
``schemas/report.schema.json``.  Written atomically; nothing here prints."""

from __future__ import annotations

import os
from typing import Any

import msgspec

from mmconvert import __version__
from mmconvert.errors import UsageError
from mmconvert.findings import Findings
from mmconvert.io import atomic_output

REPORT_VERSION = 1


def build_report(
    command: str,
    findings: Findings,
    ok: bool,
    samples: dict[str, int] | None = None,
    output: dict[str, Any] | None = None,
    notes: tuple[str, ...] | list[str] = (),
    datasets: list[dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "tool": "mmconvert",
        "version": __version__,
        "command": command,
        "ok": ok,
        "summary": findings.summary(),
        "samples": samples or {},
        "output": output or {},
        "notes": list(notes),
        "findings": findings.to_list(),
    }
    if datasets is not None:
        report["datasets"] = datasets
    if settings is not None:
        report["settings"] = settings
    return report


def check_report_target(path: str | os.PathLike[str]) -> None:
    """Refuse a ``--report`` path that cannot be written, before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--report {os.fspath(path)}: is a folder")
    if not os.path.isdir(folder):
        raise UsageError(f"--report {os.fspath(path)}: the folder {folder} does not exist")


#: Findings checked against the schema before a report is written (the rest have the same shape).
CHECKED_FINDINGS = 100


def check_report(report: dict[str, Any]) -> None:
    """Check ``report`` against the shipped ``report.schema.json`` (its first findings only: they are all
    of one type) so that a report never leaves mmconvert in a shape its schema does not promise.

    A mismatch is mmconvert's bug: it raises :class:`ReportShapeError` naming the JSON path."""
    from mmconvert.schemas import validator

    head = msgspec.to_builtins({**report, "findings": report["findings"][:CHECKED_FINDINGS]})
    errors = sorted(validator("report").iter_errors(head), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ReportShapeError(f"the report does not match report.schema.json at {path}: {error.message}")


class ReportShapeError(RuntimeError):
    """The report about to be written breaks its own schema (a bug in mmconvert, not in the data)."""


def write_report(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    check_report(report)
    data = msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"
    try:
        with atomic_output(path) as fh:
            fh.write(data)
    except OSError as exc:
        raise UsageError(f"--report {os.fspath(path)}: cannot write it ({exc.strerror or exc})") from exc
