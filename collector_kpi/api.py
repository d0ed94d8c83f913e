"""The small public API: load a scheme, load a month, score it."""

from __future__ import annotations

from .aggregate import load_month, month_sums
from .scheme import Scheme, load_scheme
from .scoring import Scorecard, score_month
from .sources import MonthData

__all__ = ["load_month", "load_scheme", "score"]


def score(scheme: Scheme, data: MonthData) -> Scorecard:
    """Score every collector and team of a loaded month."""
    return score_month(scheme, month_sums(scheme, data), data.month)
