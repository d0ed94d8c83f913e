"""Metric definitions → SQL, as SQLGlot expressions rendered for an engine's dialect.

The tables are expected with the canonical columns and types sources.py gives (money as
BIGINT cents, ratings as DOUBLE 0–100, DATE and TIMESTAMP), holding only the usable rows of
the period. Each aggregate is the same sum the polars form gives (compile_polars.py):
money in cents, ratings in hundredths, ``days()`` in whole days, a BIGINT per collector.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import reduce

import sqlglot.expressions as exp

from .compile_polars import ParamValues, param_value
from .definitions import Aggregate
from .where import And, Column, Compare, Condition, Diff, Flag, InList, IsNull, Literal, Not, Operand, Or

_MICROSECONDS_PER_HOUR = 3_600_000_000

_OPS: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def literal(value: object) -> exp.Expr:
    """A Python value as an SQL literal (a date as a DATE)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    return exp.Literal.string(str(value))


def _column(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _span(diff: Diff, table: str) -> exp.Expr:
    end, start = _column(diff.end.name, table), _column(diff.start.name, table)
    if diff.unit == "days":
        return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))
    # Compared in microseconds: a whole number of hours or seconds would drop a fraction.
    return exp.TimestampDiff(this=end, expression=start, unit=exp.var("MICROSECOND"))


def _side(operand: Operand, other: Operand, params: ParamValues, table: str) -> exp.Expr:
    if isinstance(operand, Column):
        return _column(operand.name, table)
    if isinstance(operand, Diff):
        return _span(operand, table)
    value = operand.value if isinstance(operand, Literal) else param_value(operand.name, params)
    if isinstance(other, Diff) and other.unit == "hours":
        return literal(round(float(value) * _MICROSECONDS_PER_HOUR))  # type: ignore[arg-type]
    if isinstance(other, Column) and other.kind == "money" and isinstance(value, int | float):
        return literal(round(value * 100))  # the rows hold cents
    return literal(value)


def condition_sql(condition: Condition, params: ParamValues, table: str) -> exp.Expr:
    """A row condition in SQL's three-valued logic (unknown where a value is missing)."""
    match condition:
        case Compare(op, left, right):
            return _OPS[op](this=_side(left, right, params, table), expression=_side(right, left, params, table))
        case InList(column, values, negated):
            listed = [_side(v, column, params, table) for v in values]
            found = exp.In(this=_column(column.name, table), expressions=listed)
            return exp.Not(this=exp.Paren(this=found)) if negated else found
        case IsNull(column, negated):
            null = exp.Is(this=_column(column.name, table), expression=exp.Null())
            return exp.Not(this=exp.Paren(this=null)) if negated else null
        case Flag(column):
            return _column(column.name, table)
        case And(parts):
            return exp.and_(*(exp.Paren(this=condition_sql(p, params, table)) for p in parts))
        case Or(parts):
            return exp.or_(*(exp.Paren(this=condition_sql(p, params, table)) for p in parts))
        case Not(part):
            return exp.Not(this=exp.Paren(this=condition_sql(part, params, table)))
    raise TypeError(f"not a condition: {condition!r}")


def operand_sql(operand: Column | Diff, table: str) -> exp.Expr:
    """What a sum adds per row: cents, hundredths, whole numbers or whole days."""
    if isinstance(operand, Diff):
        return _span(operand, table)
    column = _column(operand.name, table)
    if operand.kind == "score":
        # NOTE: DuckDB's ROUND of a DOUBLE rounds halves away from zero, as the polars form does.
        hundredths = exp.Round(this=exp.Mul(this=column, expression=exp.Literal.number(100)))
        return exp.cast(hundredths, exp.DataType.Type.BIGINT)
    return exp.cast(column, exp.DataType.Type.BIGINT)


def _raw(operand: Column | Diff, table: str) -> exp.Expr:
    """The value as read (a span: its whole days), for what counts tell apart."""
    return _span(operand, table) if isinstance(operand, Diff) else _column(operand.name, table)


def _covered(aggregate: Aggregate, table: str) -> exp.Expr:
    """EXISTS a row of the other table with the row's collector and case."""
    other = aggregate.covered_by
    assert other is not None
    alias = "covering"
    match = exp.and_(
        *(exp.EQ(this=_column(key, alias), expression=_column(key, table)) for key in ("collector_id", "case_id"))
    )
    rows = exp.select(exp.Literal.number(1)).from_(exp.to_table(other, alias=alias, quoted=True)).where(match)
    return exp.Exists(this=rows)


def row_condition_sql(aggregate: Aggregate, params: ParamValues, table: str) -> exp.Expr | None:
    """Whether a row counts for the aggregate (None: every row does)."""
    parts: list[exp.Expr] = []
    if aggregate.where is not None:
        parts.append(exp.Paren(this=condition_sql(aggregate.where, params, table)))
    if aggregate.covered_by is not None:
        parts.append(_covered(aggregate, table))
    return exp.and_(*parts) if parts else None


def aggregate_sql(aggregate: Aggregate, params: ParamValues, table: str | None = None) -> exp.Expr:
    """The aggregate over a group of the table's rows, as a BIGINT (a lookup: NULL if no value)."""
    table = table or aggregate.table
    condition = row_condition_sql(aggregate, params, table)
    if aggregate.kind == "count" and not aggregate.operands:
        values: list[exp.Expr] = [exp.Literal.number(1)]
    elif aggregate.kind in ("count", "count_distinct"):
        values = [_raw(o, table) for o in aggregate.operands]
    else:
        values = [operand_sql(o, table) for o in aggregate.operands]
    if condition is not None:
        values = [exp.Case(ifs=[exp.If(this=condition, true=v)]) for v in values]
    if aggregate.kind == "count":
        # COUNT skips NULL: a value that is missing (a span missing a date) or not counted.
        return exp.cast(exp.Count(this=values[0]), exp.DataType.Type.BIGINT)
    if aggregate.kind == "count_distinct":
        return exp.cast(exp.Count(this=exp.Distinct(expressions=values)), exp.DataType.Type.BIGINT)
    if aggregate.kind == "lookup":
        return exp.cast(exp.Sum(this=values[0]), exp.DataType.Type.BIGINT)
    sums: list[exp.Expr] = [exp.Coalesce(this=exp.Sum(this=v), expressions=[exp.Literal.number(0)]) for v in values]
    return exp.cast(reduce(lambda a, b: exp.Add(this=a, expression=b), sums), exp.DataType.Type.BIGINT)


def sums_query(sums: Mapping[str, Aggregate], table: str, params: ParamValues) -> exp.Select:
    """SELECT collector_id and each named aggregate of ``table`` FROM it, GROUP BY collector."""
    chosen = [
        exp.alias_(aggregate_sql(a, params, table), name, quoted=True) for name, a in sums.items() if a.table == table
    ]
    return (
        exp.select(_column("collector_id", table), *chosen)
        .from_(exp.to_table(table, quoted=True))
        .group_by(_column("collector_id", table))
    )


def to_sql(query: exp.Expr, dialect: str = "duckdb") -> str:
    """The SQL text of a compiled query for one engine."""
    return query.sql(dialect=dialect)
