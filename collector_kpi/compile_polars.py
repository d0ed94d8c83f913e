"""Metric definitions → polars expressions over a table's canonical rows.

Rows are those sources.py gives: money in integer cents (Int64), ratings as 0–100 floats,
dates as Date and date-times as Datetime. Every aggregate becomes an Int64 per group: money
in cents, ratings in hundredths (rounded half away from zero), ``days()`` in whole days, so
sums are exact and independent of row order. A condition that is unknown (a missing value)
does not count the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import reduce

import polars as pl

from .definitions import Aggregate, MetricDef
from .where import And, Column, Compare, Condition, Diff, Flag, InList, IsNull, Literal, Not, Operand, Or

ParamValues = Mapping[str, date | int | float]

# Where a cross-table form needs a per-row flag, the rows carry it under this name.
COVERED = "_covered_by_{table}"


def param_value(name: str, params: ParamValues) -> date | int | float:
    """A param's value; a clear error where the caller gave none."""
    if name not in params:
        raise KeyError(f"the definitions read the param {name!r}, and no value was given for it")
    return params[name]


def _scaled_number(value: object, column: Operand) -> object:
    """A number compared with a money column, in cents (the rows hold cents)."""
    if isinstance(column, Column) and column.kind == "money" and isinstance(value, int | float):
        return round(value * 100)
    return value


def _side(operand: Operand, other: Operand, params: ParamValues) -> pl.Expr:
    if isinstance(operand, Column):
        return pl.col(operand.name)
    if isinstance(operand, Diff):
        span = pl.col(operand.end.name) - pl.col(operand.start.name)
        return span.dt.total_days() if operand.unit == "days" else span
    value = operand.value if isinstance(operand, Literal) else param_value(operand.name, params)
    if isinstance(other, Diff) and other.unit == "hours":
        # Compared as durations: whole seconds would drop the fraction of a second.
        return pl.lit(timedelta(hours=float(value)))  # type: ignore[arg-type]
    return pl.lit(_scaled_number(value, other))


_OPS = {
    "=": pl.Expr.__eq__,
    "!=": pl.Expr.__ne__,
    "<": pl.Expr.__lt__,
    "<=": pl.Expr.__le__,
    ">": pl.Expr.__gt__,
    ">=": pl.Expr.__ge__,
}


def condition_expr(condition: Condition, params: ParamValues) -> pl.Expr:
    """A row condition: true, false, or null where a value it reads is missing."""
    match condition:
        case Compare(op, left, right):
            result: pl.Expr = _OPS[op](_side(left, right, params), _side(right, left, params))
            return result
        case InList(column, values, negated):
            listed = [_scaled_number(v.value, column) for v in values]
            # An unknown value stays unknown (is_in alone would say false).
            found = pl.when(pl.col(column.name).is_not_null()).then(pl.col(column.name).is_in(listed))
            return ~found if negated else found
        case IsNull(column, negated):
            return pl.col(column.name).is_not_null() if negated else pl.col(column.name).is_null()
        case Flag(column):
            return pl.col(column.name)
        case And(parts):
            return reduce(lambda a, b: a & b, (condition_expr(p, params) for p in parts))
        case Or(parts):
            return reduce(lambda a, b: a | b, (condition_expr(p, params) for p in parts))
        case Not(part):
            return ~condition_expr(part, params)
    raise TypeError(f"not a condition: {condition!r}")


def operand_value(operand: Column | Diff) -> pl.Expr:
    """What a sum adds per row: cents, hundredths, whole numbers or whole days."""
    if isinstance(operand, Diff):
        return (pl.col(operand.end.name) - pl.col(operand.start.name)).dt.total_days().cast(pl.Int64)
    column = pl.col(operand.name)
    if operand.kind == "score":
        return (column * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)
    return column.cast(pl.Int64)


def _distinct_value(operand: Column | Diff) -> pl.Expr:
    """What count_distinct tells apart: the value as read (or the whole days of a span)."""
    return operand_value(operand) if isinstance(operand, Diff) else pl.col(operand.name)


def _present(operand: Column | Diff) -> pl.Expr:
    names = [operand.start.name, operand.end.name] if isinstance(operand, Diff) else [operand.name]
    return pl.all_horizontal(pl.col(n).is_not_null() for n in names)


def row_condition(aggregate: Aggregate, params: ParamValues) -> pl.Expr | None:
    """Whether a row counts for the aggregate (None: every row does)."""
    parts = [condition_expr(aggregate.where, params)] if aggregate.where is not None else []
    if aggregate.covered_by is not None:
        parts.append(pl.col(COVERED.format(table=aggregate.covered_by)))
    return reduce(lambda a, b: a & b, parts) if parts else None


def aggregate_expr(aggregate: Aggregate, params: ParamValues) -> pl.Expr:
    """The aggregate over a group of the table's rows, as an Int64 (a lookup: null if no value)."""
    condition = row_condition(aggregate, params)
    if aggregate.kind == "count":
        parts = [*([condition] if condition is not None else []), *map(_present, aggregate.operands)]
        if not parts:
            return pl.len().cast(pl.Int64)
        return reduce(lambda a, b: a & b, parts).sum().cast(pl.Int64)
    read = _distinct_value if aggregate.kind == "count_distinct" else operand_value
    values = [read(o) for o in aggregate.operands]
    if condition is not None:
        values = [pl.when(condition).then(v) for v in values]
    if aggregate.kind == "count_distinct":
        return values[0].drop_nulls().n_unique().cast(pl.Int64)
    if aggregate.kind == "lookup":
        # No value on any of the collector's rows is no value, not 0.
        return pl.when(values[0].is_not_null().any()).then(values[0].sum()).cast(pl.Int64)
    return reduce(lambda a, b: a + b, (v.sum() for v in values)).cast(pl.Int64)


def with_coverage(frames: Mapping[str, pl.LazyFrame], aggregates: list[Aggregate]) -> dict[str, pl.LazyFrame]:
    """The tables, each with the ``covered_by`` flags its aggregates read (true where the row's
    collector has a row for the same case in the other table)."""
    out = dict(frames)
    for aggregate in aggregates:
        other = aggregate.covered_by
        flag = COVERED.format(table=other)
        if other is None or flag in out[aggregate.table].collect_schema().names():
            continue
        keys = ["collector_id", "case_id"]
        if other in frames:
            pairs = frames[other].select(keys).unique().with_columns(pl.lit(True).alias(flag))
            joined = out[aggregate.table].join(pairs, on=keys, how="left")
            out[aggregate.table] = joined.with_columns(pl.col(flag).fill_null(False))
        else:
            out[aggregate.table] = out[aggregate.table].with_columns(pl.lit(False).alias(flag))
    return out


def collector_sums(
    sums: Mapping[str, Aggregate],
    frames: Mapping[str, pl.LazyFrame],
    params: ParamValues,
    keys: Sequence[str] = ("collector_id",),
) -> pl.DataFrame:
    """One row per collector seen in any table read, one Int64 column per named aggregate.

    With more ``keys`` (a segment column, the case id), one row per combination of them: the
    cells a case-mix adjustment or a shrinkage reads. A sum or count a group has no row for is
    0; a lookup with no value takes its default param (a monthly amount, once: a period of
    several months is not multiplied here), or stays null.
    """
    frames = with_coverage(frames, list(sums.values()))
    keys = list(keys)
    parts = []
    for table in dict.fromkeys(a.table for a in sums.values()):
        exprs = [aggregate_expr(a, params).alias(name) for name, a in sums.items() if a.table == table]
        parts.append(frames[table].group_by(keys).agg(exprs).collect())
    groups = pl.concat([p.select(keys) for p in parts]).unique()
    out = reduce(lambda acc, part: acc.join(part, on=keys, how="left", nulls_equal=True), parts, groups)
    filled = [pl.col(name).fill_null(pl.lit(_missing(a, params), dtype=pl.Int64)) for name, a in sums.items()]
    return out.with_columns(filled).select(*keys, *sums).sort(keys, nulls_last=True)


def _missing(aggregate: Aggregate, params: ParamValues) -> int | None:
    """What a group with no row (or no value) holds: 0, or a lookup's default (else none)."""
    if aggregate.kind != "lookup":
        return 0
    # A default param given no value (the scheme sets none) leaves the lookup empty.
    value = params.get(aggregate.default) if aggregate.default is not None else None
    return None if value is None else round(float(value) * aggregate.scale)  # type: ignore[arg-type]


def pooled(sums: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """Sums added up over groups of collectors (a team: ``keys=["team_id"]``; no keys: the
    floor), whose value is then computed as a collector's is: every metric pools this way.
    A lookup that no member has stays null."""
    columns = [c for c in sums.columns if c not in ("collector_id", *keys)]
    added = [pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in columns]
    if not keys:
        return sums.select(added)
    return sums.group_by(list(keys)).agg(added).sort(list(keys))


def metric_sums(metric: MetricDef) -> dict[str, Aggregate]:
    """The metric's aggregates by role: num, den, and fallback_num, fallback_den."""
    out = {"num": metric.numerator}
    if metric.denominator is not None:
        out["den"] = metric.denominator
    if metric.fallback is not None:
        out["fallback_num"] = metric.fallback.numerator
        if metric.fallback.denominator is not None:
            out["fallback_den"] = metric.fallback.denominator
    return out


def ratio_expr(num: pl.Expr, den: pl.Expr, num_scale: int, den_scale: int) -> pl.Expr:
    """Σ num / Σ den in natural units; null where the denominator is zero or missing."""
    den = den * (num_scale // den_scale) if num_scale > den_scale else den
    num = num * (den_scale // num_scale) if den_scale > num_scale else num
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


def value_expr(metric: MetricDef, names: Mapping[str, str]) -> pl.Expr:
    """A ratio metric's value from a frame of its sums (``names``: role → column, see
    ``metric_sums``), per collector, team or floor alike; the fallback where the ratio has none."""
    if metric.denominator is None:
        raise ValueError(f"{metric.id} is a sum, not a ratio")
    value = ratio_expr(pl.col(names["num"]), pl.col(names["den"]), metric.numerator.scale, metric.denominator.scale)
    fallback = metric.fallback
    if fallback is not None and fallback.denominator is not None:
        fb_num, fb_den = pl.col(names["fallback_num"]), pl.col(names["fallback_den"])
        value = pl.coalesce(value, ratio_expr(fb_num, fb_den, fallback.numerator.scale, fallback.denominator.scale))
    return value.alias(metric.id)
