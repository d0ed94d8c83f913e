"""Each construct of the definition language, on tiny tables computed by hand.

Every definition is evaluated three ways that must agree with the hand-computed sums: the
polars form (compile_polars), a plain loop over dict rows written here (with SQL's
three-valued logic), and the SQL form (compile_sql) run in DuckDB.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl
import pytest
import yaml

from collector_kpi.catalog import parse_catalog
from collector_kpi.compile_polars import collector_sums
from collector_kpi.compile_sql import sums_query, to_sql
from collector_kpi.definitions import Aggregate
from collector_kpi.where import And, Column, Compare, Diff, Flag, InList, IsNull, Literal, Not, Or, Param

# Money in cents, as the reading gives it.
CASES = pl.DataFrame(
    {
        "case_id": ["a1", "a2", "a3", "b1", "b2"],
        "collector_id": ["A", "A", "A", "B", "B"],
        "assigned_date": [date(2025, 3, 1), date(2025, 3, 1), date(2025, 2, 1), date(2025, 3, 10), date(2025, 3, 20)],
        "settled_date": [date(2025, 3, 11), None, date(2025, 3, 31), date(2025, 4, 2), date(2025, 3, 25)],
        "overdue_amount": [100_000, 200_000, 50_000, 80_000, 30_000],
        "recovered_amount": [50_000, 0, 50_000, 0, 30_000],
        "waived_amount": [0, None, 10_000, 0, None],
        "dpd_bucket": ["M1", "M2", "M1", None, "M3"],
    },
    schema_overrides={"overdue_amount": pl.Int64, "recovered_amount": pl.Int64, "waived_amount": pl.Int64},
)


def _at(day: int, hour: int, minute: int = 0, micro: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, 0, micro)


CONTACTS = pl.DataFrame(
    {
        "contact_id": ["k1", "k2", "k3", "k4", "k5", "k7"],
        "case_id": ["a1", "a1", "a2", "x9", "b1", "b2"],
        "collector_id": ["A", "A", "A", "A", "B", "A"],
        "channel": ["call", "call", "sms", "call", "visit", "call"],
        "outcome": ["connected", "no_answer", "replied", "connected", "completed", "busy"],
        "contacted_at": [_at(2, 10), _at(3, 10), _at(4, 9), _at(5, 10), _at(6, 9), _at(7, 10)],
        # k2: 24 h and half a second later (late); k4: 24 h exactly (on time)
        "logged_at": [_at(2, 11), _at(4, 10, 0, 500_000), None, _at(6, 10), _at(6, 9, 30), _at(7, 12)],
        "ptp": [True, False, None, None, None, False],
        "qa_score": [90.0, None, None, 70.5, None, None],
    },
    schema_overrides={"contacted_at": pl.Datetime("us"), "logged_at": pl.Datetime("us")},
)

ROSTER = pl.DataFrame(
    {"collector_id": ["A", "B"], "target_amount": [500_000, None]}, schema_overrides={"target_amount": pl.Int64}
)
TABLES = {"cases": CASES, "contacts": CONTACTS, "roster": ROSTER}
PARAMS: dict[str, Any] = {"month_end": date(2025, 3, 31), "sla_days": 10, "followup_hours": 24, "min_amount": 300}
PARAM_TYPES = {"month_end": "date", "sla_days": "int", "followup_hours": "number", "min_amount": "money"}


def definition(table: str, unit: str, **parts: Any) -> dict[str, Aggregate]:
    """One metric written in the language, loaded; its aggregates by role."""
    metric = {"zh": "测", "en": "Test", "definition": "a test", "unit": unit, "better": "higher", "table": table}
    text = yaml.safe_dump(
        {
            "params": {name: {"type": kind, "doc": name} for name, kind in PARAM_TYPES.items()},
            "metrics": {"m": metric | parts},
        },
        allow_unicode=True,
    )
    loaded = parse_catalog(text).metrics["m"]
    out = {"num": loaded.numerator}
    if loaded.denominator is not None:
        out["den"] = loaded.denominator
    return out


# --- the second implementation: plain Python over dict rows -----------------------


def _value(operand: Any, other: Any, row: dict[str, Any]) -> Any:
    if isinstance(operand, Column):
        return row[operand.name]
    if isinstance(operand, Diff):
        start, end = row[operand.start.name], row[operand.end.name]
        if start is None or end is None:
            return None
        return (end - start).days if operand.unit == "days" else end - start
    value = operand.value if isinstance(operand, Literal) else PARAMS[operand.name]
    if isinstance(other, Diff) and other.unit == "hours":
        return timedelta(hours=value)
    if isinstance(other, Column) and other.kind == "money":
        return round(value * 100)
    return value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _holds(condition: Any, row: dict[str, Any]) -> bool | None:
    """True, False, or None for unknown (SQL's logic)."""
    if isinstance(condition, Compare):
        left, right = _value(condition.left, condition.right, row), _value(condition.right, condition.left, row)
        return None if left is None or right is None else _COMPARE[condition.op](left, right)
    if isinstance(condition, InList):
        value = row[condition.column.name]
        listed = [_value(v, condition.column, row) for v in condition.values]
        return None if value is None else (value in listed) != condition.negated
    if isinstance(condition, IsNull):
        return (row[condition.column.name] is None) != condition.negated
    if isinstance(condition, Flag):
        flag: bool | None = row[condition.column.name]
        return flag
    if isinstance(condition, Not):
        inner = _holds(condition.part, row)
        return None if inner is None else not inner
    results = [_holds(part, row) for part in condition.parts]
    decisive = isinstance(condition, Or)  # True decides an or, False an and
    if decisive in results:
        return decisive
    return None if None in results else not decisive


def _row_number(operand: Any, row: dict[str, Any]) -> int | None:
    value = _value(operand, None, row)
    if value is None or isinstance(operand, Diff):
        return value  # type: ignore[no-any-return]
    if operand.kind == "score":
        return int(math.copysign(math.floor(abs(value) * 100 + 0.5), value))
    return int(value)


def _by_loop(aggregate: Aggregate) -> dict[str, int | None]:
    rows = TABLES[aggregate.table].to_dicts()
    covering = set()
    if aggregate.covered_by:
        covering = {(r["collector_id"], r["case_id"]) for r in TABLES[aggregate.covered_by].to_dicts()}
    out: dict[str, int | None] = {}
    for collector in sorted({r["collector_id"] for r in rows}):
        counted = []
        for row in rows:
            if row["collector_id"] != collector:
                continue
            if aggregate.where is not None and _holds(aggregate.where, row) is not True:
                continue
            if aggregate.covered_by and (row["collector_id"], row["case_id"]) not in covering:
                continue
            counted.append(row)
        if aggregate.kind == "count":
            values = [[_value(o, None, r) for o in aggregate.operands] for r in counted]
            out[collector] = sum(1 for v in values if None not in v)
        elif aggregate.kind == "count_distinct":
            out[collector] = len({_value(aggregate.operands[0], None, r) for r in counted} - {None})
        else:
            numbers = [n for o in aggregate.operands for r in counted if (n := _row_number(o, r)) is not None]
            out[collector] = sum(numbers) if numbers or aggregate.kind == "sum" else None
    return out


# --- the polars and SQL forms ---------------------------------------------------------


def _by_polars(aggregate: Aggregate) -> dict[str, int | None]:
    frames = {name: frame.lazy() for name, frame in TABLES.items()}
    sums = collector_sums({"x": aggregate}, frames, PARAMS)
    return dict(sums.iter_rows())


_SQL_TYPES = {
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMP",
}


def in_duckdb(tables: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-process database holding the tables (channel and outcome codes as text)."""
    connection = duckdb.connect()
    for name, frame in tables.items():
        frame = frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
        columns = ", ".join(f'"{c}" {_SQL_TYPES[dtype.base_type()]}' for c, dtype in frame.schema.items())
        connection.execute(f'CREATE TABLE "{name}" ({columns})')
        slots = ", ".join("?" for _ in frame.columns)
        connection.executemany(f'INSERT INTO "{name}" VALUES ({slots})', frame.rows())
    return connection


def _by_duckdb(aggregate: Aggregate) -> dict[str, int | None]:
    connection = in_duckdb(TABLES)
    sql = to_sql(sums_query({"x": aggregate}, aggregate.table, PARAMS), "duckdb")
    return dict(sorted(connection.execute(sql).fetchall()))


def agree(aggregate: Aggregate, expected: dict[str, int | None]) -> None:
    assert _by_loop(aggregate) == expected, "the plain loop"
    assert _by_polars(aggregate) == expected, "the polars form"
    assert _by_duckdb(aggregate) == expected, "the SQL form in DuckDB"


def count_where(where: str, table: str = "cases") -> Aggregate:
    return definition(table, "count", numerator={"count": "rows", "where": where})["num"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("dpd_bucket = 'M1'", {"A": 2, "B": 0}),
        ("dpd_bucket != 'M1'", {"A": 1, "B": 1}),  # b1's bucket is missing: unknown, not counted
        ("recovered_amount < 500", {"A": 1, "B": 2}),  # money is written in units, compared in cents
        ("recovered_amount <= 500", {"A": 3, "B": 2}),
        ("overdue_amount > 800", {"A": 2, "B": 0}),
        ("overdue_amount >= 800", {"A": 2, "B": 1}),
        ("800 <= overdue_amount", {"A": 2, "B": 1}),
        ("recovered_amount >= min_amount", {"A": 2, "B": 1}),  # a money param: 300 → 30000 cents
        ("settled_date <= month_end", {"A": 2, "B": 1}),  # b1 settled in April
    ],
)
def test_comparisons(where: str, expected: dict[str, int]) -> None:
    agree(count_where(where), expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("dpd_bucket in ('M2', 'M3')", {"A": 1, "B": 1}),
        ("dpd_bucket not in ('M2', 'M3')", {"A": 2, "B": 0}),  # b1's missing bucket is in no list
        ("settled_date is null", {"A": 1, "B": 0}),
        ("settled_date is not null", {"A": 2, "B": 2}),
    ],
)
def test_in_lists_and_is_null(where: str, expected: dict[str, int]) -> None:
    agree(count_where(where), expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("dpd_bucket = 'M1' and recovered_amount > 0", {"A": 2, "B": 0}),
        ("dpd_bucket = 'M3' or settled_date is null", {"A": 1, "B": 1}),
        ("not (dpd_bucket = 'M1')", {"A": 1, "B": 1}),
        # a2: false or unknown = unknown; b1: unknown or false = unknown
        ("dpd_bucket = 'M1' or waived_amount > 0", {"A": 2, "B": 0}),
        # false where a1's waiver is 0 or a2's bucket is M2 (whatever the other side), as for b1, b2
        ("not (dpd_bucket = 'M1' and waived_amount > 0)", {"A": 2, "B": 2}),
    ],
)
def test_and_or_not(where: str, expected: dict[str, int]) -> None:
    agree(count_where(where), expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # a1 10 days, a3 58, b1 23, b2 5 (a2 not settled); sla_days = 10
        ("days(assigned_date, settled_date) <= sla_days", {"A": 1, "B": 1}),
        ("days(assigned_date, settled_date) < sla_days", {"A": 0, "B": 1}),
    ],
)
def test_days_between_two_dates_against_a_param(where: str, expected: dict[str, int]) -> None:
    agree(count_where(where), expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # A: k1 1 h, k2 24 h 0.5 s, k4 24 h, k7 2 h (k3 not logged); B: k5 0.5 h; followup_hours = 24
        ("hours(contacted_at, logged_at) <= followup_hours", {"A": 3, "B": 1}),
        ("hours(contacted_at, logged_at) > followup_hours", {"A": 1, "B": 0}),
    ],
)
def test_hours_between_two_datetimes_against_a_param(where: str, expected: dict[str, int]) -> None:
    agree(count_where(where, "contacts"), expected)


def test_a_yes_no_column_alone_and_negated() -> None:
    agree(count_where("ptp", "contacts"), {"A": 1, "B": 0})
    agree(count_where("not ptp", "contacts"), {"A": 2, "B": 0})  # k2, k7 (k3, k4 have none)


def test_sum_in_cents_with_and_without_where() -> None:
    agree(definition("cases", "money", numerator={"sum": "recovered_amount"})["num"], {"A": 100_000, "B": 30_000})
    settled = {"sum": "overdue_amount", "where": "settled_date <= month_end"}
    agree(definition("cases", "money", numerator=settled)["num"], {"A": 150_000, "B": 30_000})


def test_sum_of_two_columns_counts_a_missing_value_as_nothing() -> None:
    both = {"sum": ["recovered_amount", "waived_amount"]}
    agree(definition("cases", "money", numerator=both)["num"], {"A": 110_000, "B": 30_000})


def test_mean_of_days_is_a_sum_of_whole_days_over_a_count() -> None:
    value = {"mean": "days(assigned_date, settled_date)", "where": "settled_date <= month_end"}
    sums = definition("cases", "days", value=value)
    agree(sums["num"], {"A": 10 + 58, "B": 5})
    agree(sums["den"], {"A": 2, "B": 1})


def test_mean_of_a_rating_sums_hundredths() -> None:
    sums = definition("contacts", "points", value={"mean": "qa_score", "where": "channel = 'call'"})
    agree(sums["num"], {"A": 9000 + 7050, "B": 0})
    agree(sums["den"], {"A": 2, "B": 0})


def test_count_of_a_column_counts_its_values() -> None:
    agree(definition("contacts", "count", numerator={"count": "logged_at"})["num"], {"A": 4, "B": 1})


def test_count_distinct() -> None:
    agree(definition("contacts", "count", numerator={"count_distinct": "case_id"})["num"], {"A": 4, "B": 1})
    calls = {"count_distinct": "case_id", "where": "channel = 'call'"}
    agree(definition("contacts", "count", numerator=calls)["num"], {"A": 3, "B": 0})  # a1, x9, b2


def test_covered_by_needs_a_contact_by_the_same_collector_on_the_case() -> None:
    # A: a1 and a2 contacted, a3 not; B: b1 contacted, b2 only by A
    covered = definition("cases", "count", numerator={"count": "rows", "covered_by": "contacts"})["num"]
    agree(covered, {"A": 2, "B": 1})


def test_a_lookup_with_no_value_has_none() -> None:
    target = {"lookup": "target_amount", "table": "roster"}
    sums = definition("cases", "rate", numerator={"sum": "recovered_amount"}, denominator=target)
    agree(sums["den"], {"A": 500_000, "B": None})


def test_the_sql_form_reads_as_sql() -> None:
    sql = to_sql(sums_query({"x": count_where("dpd_bucket in ('M2', 'M3')")}, "cases", PARAMS))
    assert "IN ('M2', 'M3')" in sql
    assert sql.startswith('SELECT "cases"."collector_id"')


def test_names_resolve_to_columns_and_params() -> None:
    condition = count_where("settled_date <= month_end and dpd_bucket is null").where
    assert isinstance(condition, And)
    compare, null = condition.parts
    assert isinstance(compare, Compare) and isinstance(compare.right, Param)
    assert isinstance(null, IsNull) and null.column == Column("dpd_bucket", "text")
    either = count_where("dpd_bucket = 'M1' or not settled_date is null").where
    assert isinstance(either, Or) and isinstance(either.parts[1], Not)
