"""Month over month: previous score and rank, the change, and who moved up or down.

Both inputs are output-contract frames (``Scorecard.table(level)``) of the same level.
Rows are matched by ``collector_id`` (``team_id`` for teams), never by display name:
common Chinese names repeat.

``movement`` is plain text, kept short enough for a table cell:

- ``▲3`` / ``▼2``: ranked in both months, moved up / down that many places;
- ``=``: ranked in both months at the same rank;
- ``new``: ranked now, not ranked (or not present) before;
- ``—``: present now but not ranked this month (the reason is in ``ineligible_reason``);
- ``left``: present before, absent now; these rows are appended after the current ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

__all__ = [
    "COMPARE_COLUMNS",
    "LEFT",
    "NEW",
    "SAME",
    "UNRANKED",
    "compare",
    "key_column",
    "metric_deltas",
    "movement_text",
]

NEW = "new"
LEFT = "left"
SAME = "="
UNRANKED = "—"
COMPARE_COLUMNS = ("previous_score", "previous_rank", "score_change", "rank_change", "movement")


def key_column(level: str) -> str:
    """The column rows are matched on: ``collector_id`` or ``team_id``."""
    if level not in ("collector", "team"):
        raise ValueError(f"unknown level {level!r}: expected 'collector' or 'team'")
    return "collector_id" if level == "collector" else "team_id"


def movement_text(rank: int | None, previous_rank: int | None) -> str:
    """``▲3``, ``▼2``, ``=``, ``new`` or ``—`` for one row (``left`` rows are made by :func:`compare`)."""
    if rank is None:
        return UNRANKED
    if previous_rank is None:
        return NEW
    change = previous_rank - rank
    if change > 0:
        return f"▲{change}"
    if change < 0:
        return f"▼{-change}"
    return SAME


def compare(current: pl.DataFrame, previous: pl.DataFrame, level: str = "collector") -> pl.DataFrame:
    """``current`` with the previous month's score and rank, the change and the movement.

    Adds ``previous_score``, ``previous_rank``, ``score_change`` (score − previous score,
    null when either is null), ``rank_change`` (previous rank − rank: positive means moved
    up; null unless ranked in both months) and ``movement``. Current rows keep their order;
    rows only in ``previous`` follow, in their previous order, with ``movement = "left"``,
    their identity columns filled from ``previous`` and everything else of this month null.
    """
    key = key_column(level)
    for name, frame in (("current", current), ("previous", previous)):
        missing = [c for c in (key, "rank", "score") if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")
        if frame[key].is_duplicated().any():
            raise ValueError(f"{name} frame has duplicate {key} values")
    clash = [c for c in COMPARE_COLUMNS if c in current.columns]
    if clash:
        raise ValueError(f"current frame already has column(s) {', '.join(clash)}")

    before = previous.select(
        pl.col(key),
        pl.col("score").cast(pl.Float64).alias("previous_score"),
        pl.col("rank").cast(pl.Int64).alias("previous_rank"),
        pl.lit(True).alias("_present_before"),
    )
    joined = current.join(before, on=key, how="left", nulls_equal=False, maintain_order="left")
    rank = pl.col("rank").cast(pl.Int64)
    change = pl.col("previous_rank") - rank
    movement = (
        pl.when(rank.is_null())
        .then(pl.lit(UNRANKED))
        .when(pl.col("previous_rank").is_null())
        .then(pl.lit(NEW))
        .when(change > 0)
        .then(pl.lit("▲") + change.cast(pl.String))
        .when(change < 0)
        .then(pl.lit("▼") + (-change).cast(pl.String))
        .otherwise(pl.lit(SAME))
    )
    joined = joined.with_columns(
        score_change=pl.col("score").cast(pl.Float64) - pl.col("previous_score"),
        rank_change=change,
        movement=movement,
    ).drop("_present_before")

    gone = previous.join(current.select(key), on=key, how="anti", maintain_order="left")
    if gone.height:
        identity = [c for c in _identity_columns(level) if c in gone.columns and c in joined.columns]
        left_rows = gone.select(
            *identity,
            pl.col("score").cast(pl.Float64).alias("previous_score"),
            pl.col("rank").cast(pl.Int64).alias("previous_rank"),
            pl.lit(None, dtype=pl.Float64).alias("score_change"),
            pl.lit(None, dtype=pl.Int64).alias("rank_change"),
            pl.lit(LEFT).alias("movement"),
        )
        # Every other column of this month is null for a collector who is no longer here.
        left_rows = left_rows.with_columns(
            pl.lit(None, dtype=joined.schema[c]).alias(c) for c in joined.columns if c not in left_rows.columns
        ).select(joined.columns)
        left_rows = left_rows.cast({c: joined.schema[c] for c in identity})
        joined = pl.concat([joined, left_rows], how="vertical")
    return joined


def _identity_columns(level: str) -> tuple[str, ...]:
    return ("collector_id", "collector_name", "team_id") if level == "collector" else ("team_id",)


def metric_deltas(
    current_row: Mapping[str, Any] | None,
    previous_row: Mapping[str, Any] | None,
    metric_ids: Iterable[str],
) -> pl.DataFrame:
    """One collector's (or team's) metrics this month and last, with the change.

    Rows are ``metric_ids`` in the given order; columns ``metric``, ``value``,
    ``previous_value``, ``value_change``, ``points`` (the 0–100 score), ``previous_points``
    and ``points_change``. A change is null where either side has no value. Either row may
    be ``None`` (a collector who is new, or who left).
    """
    records: list[dict[str, Any]] = []
    for metric_id in metric_ids:
        value = _number(current_row, metric_id)
        before = _number(previous_row, metric_id)
        points = _number(current_row, f"{metric_id}_score")
        previous_points = _number(previous_row, f"{metric_id}_score")
        records.append(
            {
                "metric": metric_id,
                "value": value,
                "previous_value": before,
                "value_change": None if value is None or before is None else value - before,
                "points": points,
                "previous_points": previous_points,
                "points_change": None if points is None or previous_points is None else points - previous_points,
            }
        )
    schema = {
        "metric": pl.String,
        "value": pl.Float64,
        "previous_value": pl.Float64,
        "value_change": pl.Float64,
        "points": pl.Float64,
        "previous_points": pl.Float64,
        "points_change": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema)


def _number(row: Mapping[str, Any] | None, column: str) -> float | None:
    if row is None:
        return None
    value = row.get(column)
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) else number
