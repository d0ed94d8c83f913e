"""Errors the tool raises, and the data-quality Issue model.

Every error a user can cause is a ``KpiError`` carrying a one-line message; only the
CLI turns it into an exit code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class KpiError(Exception):
    """A problem the user can fix; its message is shown as one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SchemeError(KpiError):
    """The scheme (YAML) is missing, malformed or invalid."""


class InputError(KpiError):
    """An input file is missing, unreadable or lacks a needed column."""


class NoDataError(InputError):
    """The selected month has no rows."""


class OutputError(KpiError):
    """An output cannot be written where it was asked for."""


@dataclass(frozen=True)
class Issue:
    """One data-quality finding: a stable slug, a message and where it was found."""

    type: str
    message: str
    severity: str = "error"  # "error" rejects rows or stops the run; "warning" does not
    table: str | None = None
    file: str | None = None
    column: str | None = None
    rows: tuple[int, ...] = ()
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = list(self.rows)
        return data
