"""Findings: one problem in one place, with a stable code, a severity, the message and the fix.

Passes and importers add findings to a :class:`Findings` collector instead of raising, so a run can
report every problem at once.  Nothing here prints.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from typing import Any

import msgspec

from mmconvert.model import SourceRef


class Severity(enum.StrEnum):
    """``error``: LF would reject, abort on or silently drop the sample (or the data is wrong);
    ``warning``: suspicious but accepted; ``info``: what was decided, for the report."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Finding(msgspec.Struct, frozen=True, omit_defaults=True):
    """One problem.  ``path`` is a JSON path inside ``file`` (``$.annotations[3].caption``)."""

    code: str
    severity: Severity
    message: str
    file: str | None = None
    index: int | None = None
    path: str | None = None
    hint: str | None = None
    ids: dict[str, int | str] | None = None
    dataset: str | None = None

    @classmethod
    def at(
        cls,
        source: SourceRef,
        code: str,
        severity: Severity,
        message: str,
        hint: str | None = None,
        subpath: str = "",
        dataset: str | None = None,
    ) -> Finding:
        """A finding about the sample ``source`` names, optionally deeper (``subpath='.caption'``)."""
        return cls(
            code=code,
            severity=severity,
            message=message,
            file=source.file,
            index=source.index,
            path=source.path + subpath,
            hint=hint,
            ids=dict(source.ids) or None,
            dataset=dataset,
        )

    def location(self) -> str:
        """``file:$.path (id=…)``, or whatever part of it is known."""
        where = self.file or ""
        if self.path:
            where = f"{where}:{self.path}" if where else self.path
        if self.ids:
            where += " (" + ", ".join(f"{k}={v}" for k, v in self.ids.items()) + ")"
        return where


class Findings:
    """Collects findings; counts them by severity and code; remembers which samples have errors."""

    def __init__(self) -> None:
        self._items: list[Finding] = []
        self.skipped = 0
        self.by_severity: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()

    def add(self, finding: Finding) -> None:
        self._items.append(finding)
        self.by_severity[finding.severity] += 1
        self.by_code[finding.code] += 1

    def skip(self, finding: Finding) -> None:
        """Add a finding for a sample the importer could not build (counted as skipped)."""
        self.add(finding)
        self.skipped += 1

    def extend(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> int:
        return self.by_severity[Severity.ERROR]

    @property
    def warnings(self) -> int:
        return self.by_severity[Severity.WARNING]

    def to_list(self) -> list[Finding]:
        return list(self._items)

    def summary(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "warnings": self.warnings,
            "by_code": dict(sorted(self.by_code.items())),
        }
