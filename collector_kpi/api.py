"""The small public API: load a scheme, load a month, score it."""

from __future__ import annotations

from .aggregate import account_rows, load_month, month_sums
from .checks import ValidationReport, other_month_issues, reject_issues, warning_issues
from .scheme import Scheme, load_scheme
from .scoring import Scorecard, score_month
from .sources import MonthData

__all__ = ["load_month", "load_scheme", "score", "validate"]


def score(scheme: Scheme, data: MonthData) -> Scorecard:
    """Score every collector and team of a loaded month."""
    return score_month(scheme, month_sums(scheme, data), data.month)


def validate(scheme: Scheme, month: str, paths: dict[str, str | None] | None = None) -> ValidationReport:
    """Check a month's files: every row accounted for, every problem an Issue."""
    data = load_month(scheme, month, paths, every_column=True)
    stats, rejects = account_rows(data)
    issues = reject_issues(rejects) + warning_issues(data) + other_month_issues(stats, month)
    report = ValidationReport(month, stats, issues)
    report.rejects = rejects
    return report
