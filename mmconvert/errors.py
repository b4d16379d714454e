"""The exception hierarchy the library raises and the CLI maps to exit codes.

``MmconvertError`` is the root; each subclass carries its exit code: 1 when the data has problems,
2 for bad usage, unreadable input or an output conflict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmconvert.findings import Findings


class MmconvertError(Exception):
    """Base of every error mmconvert raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        # keep the hint across processes (pickle would rebuild the error from its message alone)
        return type(self), (self.message, self.hint)


class UsageError(MmconvertError):
    """Options that cannot work together, a missing folder, a bad name."""


class InputError(MmconvertError):
    """An input file that cannot be read as the format it claims to be (not JSON, wrong top level)."""


class OutputConflict(MmconvertError):
    """The output file or ``dataset_info.json`` entry exists and ``--force`` was not given, or the
    existing ``dataset_info.json`` cannot be merged safely."""


class ValidationFailed(MmconvertError):
    """The data has error findings; nothing was written.  Carries every finding."""

    exit_code = 1

    def __init__(self, message: str, findings: Findings, notes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings
        self.notes = notes
