"""The small public API: load a scheme, load a month, score it."""

from __future__ import annotations

import polars as pl

from .aggregate import account_rows, load_month, month_sums
from .checks import ValidationReport, other_month_issues, reject_issues, warning_issues
from .errors import KpiError
from .identities import identity_issues
from .scheme import Scheme, load_scheme
from .scoring import Scorecard, score_month
from .sources import MonthData, PathsArg, month_bounds, period_months

__all__ = ["load_month", "load_scheme", "score", "validate"]


def score(scheme: Scheme, data: MonthData) -> Scorecard:
    """Score every collector and team of a loaded month."""
    read: list[dict[str, str]] = []
    trailing = trailing_reference(scheme, data.months[0], read)
    sums = month_sums(scheme, data)
    card = score_month(scheme, sums, data.month, trailing)
    card.warnings = identity_issues(data, sums)
    card.references = read
    return card


def trailing_reference(scheme: Scheme, month: str, read: list[dict[str, str]] | None = None) -> dict[str, pl.DataFrame]:
    """Per metric adjusted against trailing months: their pooled num / den per segment.

    The earlier months are found through the scheme's input paths; the files read are added
    to ``read`` (month, table, path).
    """
    wanted = {
        m: rule.adjust
        for m, rule in scheme.metrics.items()
        if rule.adjust is not None and rule.adjust.reference == "trailing"
    }
    if not wanted:
        return {}
    longest = max(adjust.months or 0 for adjust in wanted.values())
    cells: dict[str, list[pl.DataFrame]] = {m: [] for m in wanted}
    for back in range(1, longest + 1):
        previous = shift_month(month, -back)
        try:
            data = load_month(scheme, previous)
            sums = month_sums(scheme, data)
        except KpiError as exc:
            raise KpiError(f"trailing reference needs {previous}: {exc.message}") from exc
        if read is not None:
            read += [
                {"month": previous, "table": t, "path": f} for t, table in data.tables.items() for f in table.files
            ]
        for metric_id, adjust in wanted.items():
            if back <= (adjust.months or 0) and metric_id in sums.cells:
                cells[metric_id].append(sums.cells[metric_id])
    out = {}
    for metric_id, adjust in wanted.items():
        segments = list(adjust.segments)
        out[metric_id] = (
            pl.concat(cells[metric_id]).group_by(segments).agg(pl.col("num").sum(), pl.col("den").sum()).sort(segments)
        )
    return out


def shift_month(month: str, delta: int) -> str:
    """``YYYY-MM`` moved by ``delta`` months."""
    start, _ = month_bounds(month)
    index = start.year * 12 + start.month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def validate(scheme: Scheme, month: str, paths: dict[str, PathsArg] | None = None) -> ValidationReport:
    """Check a month's files: every row accounted for, every problem an Issue."""
    data = load_month(scheme, month, paths, every_column=True)
    stats, rejects, cell_rejects, repeats = account_rows(data)
    issues = reject_issues(rejects) + reject_issues(cell_rejects, "cell") + repeats
    issues += warning_issues(data) + other_month_issues(data, stats, month)
    report = ValidationReport(month, stats, issues)
    report.rejects = rejects
    report.cell_rejects = cell_rejects
    return report


def previous_period(period: str) -> str:
    """The period of the same length just before: 2025-03 → 2025-02, 2025Q2 → 2025-01..2025-03."""
    months = period_months(period)
    first, last = shift_month(months[0], -len(months)), shift_month(months[-1], -len(months))
    return first if first == last else f"{first}..{last}"
