"""Named data-quality checks: rejected rows by reason, and warnings for suspicious data.

Each check is a small named unit turning the month's canonical frames into ``Issue``
values (type slug, message, table, file, column, example rows, count); the report is
the list of them. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from .aggregate import TableStats, collect_all, with_month
from .errors import Issue
from .sources import CANONICAL, DURATION_FORMATS, MonthData

EXAMPLES = 5

# The label after "column: " in a reject reason → its stable slug.
REJECT_SLUGS = {
    "missing value": "missing-value",
    "not a number": "not-a-number",
    "not a whole number": "not-a-number",
    "not a date": "bad-date",
    "not a date and time": "bad-datetime",
    "not a month": "bad-month",
    "not yes/no": "bad-boolean",
    "negative": "negative-value",
    "outside 0–100": "out-of-range",
    "unknown channel": "unknown-channel",
    "unknown outcome": "unknown-outcome",
    "not an outcome of this channel": "outcome-channel-mismatch",
    "before assigned_date": "date-order",
    "before contacted_at": "date-order",
    "not inbound/outbound": "unknown-direction",
} | {f"not a duration in {fmt}": "bad-duration" for fmt in DURATION_FORMATS}


@dataclass
class ValidationReport:
    """What `kpi validate` found: row accounting per table and every issue."""

    month: str
    tables: dict[str, TableStats]
    issues: list[Issue] = field(default_factory=list)
    rejects: pl.DataFrame = field(default_factory=pl.DataFrame)
    cell_rejects: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def valid(self) -> bool:
        return not any(issue.severity == "error" for issue in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "valid": self.valid,
            "tables": [stats.to_dict() for stats in self.tables.values()],
            "issues": [issue.to_dict() for issue in self.issues],
        }


def reject_issues(rejects: pl.DataFrame, what: str = "row") -> list[Issue]:
    """One error issue per (table, file, reason), with the first row numbers as examples;
    ``what``: the rejects are rows, or cells (of rows used otherwise)."""
    if rejects.is_empty():
        return []
    ordered = rejects.sort("table", "_file", "_row")
    firsts = ordered.group_by("table", "_file", "_reject", maintain_order=True).agg(
        pl.len().alias("count"), pl.col("_row").head(EXAMPLES).alias("rows"), pl.first("*").name.prefix("first_")
    )
    issues = []
    for group in firsts.sort("table", "_file", "_reject").iter_rows(named=True):
        table, file, reason, count, rows = (
            group["table"], group["_file"], group["_reject"], group["count"], group["rows"]
        )  # fmt: skip
        column, _, label = reason.partition(": ")
        example = group.get(f"first_{column}")
        expected = _expected(column, label, table, group.get("first__expected"))
        shown = f" (row {rows[0]}: {example!r}{expected})" if example is not None else ""
        issues.append(
            Issue(
                type=REJECT_SLUGS.get(label, "rejected-row"),
                message=f"{count:,} {what}(s) rejected: {reason}{shown}",
                severity="error",
                table=table,
                file=file,
                column=column,
                rows=tuple(rows),
                count=count,
            )
        )
    return issues


def _expected(column: str, label: str, table: str = "<table>", formats: str | None = None) -> str:
    """What a value that failed to parse should have looked like (``formats``: those its
    column is read with, in words, where known)."""
    from .sources import DATE_FORMATS, DATETIME_FORMATS

    if formats and label in ("not a date", "not a date and time"):
        return f"; expected {formats}"
    if label == "not a date":
        dates = ", ".join(f for f in DATE_FORMATS if "%H" not in f)
        return (
            f"; expected a date like {dates} (a time after it is allowed) or the format set in inputs.{table}.formats"
        )
    if label == "not a date and time":
        return f"; expected e.g. {DATETIME_FORMATS[0]} or the format set in inputs.{table}.formats"
    if label in ("not a number", "not a whole number"):
        return "; expected a number such as 1234.56"
    return ""


def listing(rejects: pl.DataFrame, cell_rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejected rows, then the rejected cells, one line each: table, source file, row,
    whether the row or the cell alone was rejected, its column, the reason, the value as
    read, then all the row's values as read."""
    parts = [
        frame.select(
            "table",
            pl.col("_file").alias("source_file"),
            pl.col("_row").alias("row"),
            pl.lit(what).alias("rejected"),
            pl.col("_reject").str.split(": ").list.first().alias("column"),
            pl.col("_reject").alias("reason"),
            pl.exclude("table", "_file", "_row", "_reject", "_expected"),
        )
        for what, frame in (("row", rejects), ("cell", cell_rejects))
        if not frame.is_empty() or what == "row"
    ]
    listed = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    values = listed.columns[6:]
    picked = [pl.when(pl.col("column") == c).then(pl.col(c).cast(pl.String)) for c in values]
    value = pl.coalesce(picked) if picked else pl.lit(None, dtype=pl.String)
    return listed.with_columns(value.alias("value")).select(*listed.columns[:6], "value", *values)


def describe_reject(row: dict[str, Any]) -> str:
    """`file row N: column: reason (value '…'; expected …)` for one rejected row."""
    reason = row["_reject"]
    column, _, label = reason.partition(": ")
    value = row.get(column)
    expected = _expected(column, label, row["table"], row.get("_expected"))
    shown = f" (value {value!r}{expected})" if value is not None else ""
    return f"{row['_file']} row {row['_row']}: {reason}{shown}"


@dataclass(frozen=True)
class Check:
    """A warning check: offending rows of one table, and how to describe them."""

    slug: str
    table: str
    needs: tuple[str, ...]
    message: str
    rows: Callable[[MonthData, pl.LazyFrame], pl.LazyFrame]
    column: str | None = None
    other_tables: tuple[str, ...] = ()


def _used(data: MonthData, table: str) -> pl.LazyFrame:
    from .sources import month_filter

    info = data.tables[table]
    condition = month_filter(table, info.columns, data.months, data.start, data.end)
    frame = info.frame.filter(pl.col("_ok"))
    return frame.filter(condition) if condition is not None else frame


def _future(columns: list[str]) -> Callable[[MonthData, pl.LazyFrame], pl.LazyFrame]:
    def rows(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
        today = date.today()
        present = set(frame.collect_schema().names())
        condition = pl.lit(False)
        for column in columns:
            if column not in present:  # an optional column the export does not carry
                continue
            value = pl.col(column)
            day = value.dt.date() if CANONICAL_TYPES.get(column) == "datetime" else value
            condition = condition | (day > today).fill_null(False)
        return frame.filter(condition)

    return rows


CANONICAL_TYPES = {c: t for table in CANONICAL.values() for c, t in table.items()}


def _contacts_without_case(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
    cases = _used(data, "cases").select("case_id").unique()
    return frame.join(cases, on="case_id", how="anti")


def _collector_without_cases(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
    holders = _used(data, "cases").select("collector_id").unique()
    return frame.join(holders, on="collector_id", how="anti")


def _several_teams(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.filter(pl.col("team_id").n_unique().over("collector_id") > 1)


def _letter_case(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
    collector = pl.col("collector_id")
    return frame.filter(collector.n_unique().over(collector.str.to_lowercase()) > 1)


def _several_names(data: MonthData, frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.filter(pl.col("collector_name").drop_nulls().n_unique().over("collector_id") > 1)


CHECKS: tuple[Check, ...] = (
    Check(
        "contact-without-case",
        "contacts",
        ("case_id",),
        "contacts for cases not in the cases table",
        _contacts_without_case,
        "case_id",
        ("cases",),
    ),
    *(
        Check(
            "collector-without-cases",
            table,
            ("collector_id",),
            "collector ids that hold no case in the cases table (a typo? such a collector is listed, not ranked)",
            _collector_without_cases,
            "collector_id",
            ("cases",),
        )
        for table in ("contacts", "reviews")
    ),
    Check(
        "recovered-exceeds-overdue",
        "cases",
        ("recovered_amount", "overdue_amount"),
        "recovered_amount is larger than overdue_amount",
        lambda d, f: f.filter(pl.col("recovered_amount") > pl.col("overdue_amount")),
        "recovered_amount",
    ),
    Check(
        "assigned-after-month",
        "cases",
        ("assigned_date",),
        "assigned_date is after the month",
        lambda d, f: f.filter(pl.col("assigned_date") > d.end),
        "assigned_date",
    ),
    Check(
        "settled-after-month",
        "cases",
        ("settled_date",),
        "settled_date is after the month (not counted as settled)",
        lambda d, f: f.filter(pl.col("settled_date") > d.end),
        "settled_date",
    ),
    Check(
        "future-date",
        "cases",
        ("assigned_date",),
        "dates in the future",
        _future(["assigned_date", "settled_date", "first_payment_date"]),
    ),
    Check(
        "future-date",
        "contacts",
        ("contacted_at",),
        "dates in the future",
        _future(["contacted_at", "logged_at"]),
    ),
    Check(
        "collector-in-several-teams",
        "cases",
        ("collector_id", "team_id"),
        "collectors in several teams (each team counts its own case rows; the collector is shown under the "
        "roster's team, else the one holding most of their cases)",
        _several_teams,
        "team_id",
    ),
    Check(
        "id-letter-case",
        "cases",
        ("collector_id",),
        "collector ids that differ only in letter case (c1 and C1 are scored as two collectors)",
        _letter_case,
        "collector_id",
    ),
    Check(
        "collector-several-names",
        "cases",
        ("collector_id", "collector_name"),
        "a collector id written with several names (one collector, shown under one of them)",
        _several_names,
        "collector_name",
    ),
)


def warning_issues(data: MonthData) -> list[Issue]:
    """Run every applicable warning check in one collect."""
    runnable: list[Check] = []
    queries: list[pl.LazyFrame] = []
    for check in CHECKS:
        if check.table not in data.tables or any(t not in data.tables for t in check.other_tables):
            continue
        columns = data.tables[check.table].columns
        if not all(c in columns for c in check.needs):
            continue
        if check.other_tables and "case_id" not in data.tables["cases"].columns:
            continue
        frame = check.rows(data, _used(data, check.table))
        queries.append(
            frame.select(
                pl.len().alias("count"),
                pl.col("_file").head(EXAMPLES).implode().alias("files"),
                pl.col("_row").head(EXAMPLES).implode().alias("rows"),
            )
        )
        runnable.append(check)
    issues: list[Issue] = []
    for check, result in zip(runnable, collect_all(queries, data), strict=True):
        count, files, rows = result.row(0)
        if count:
            issues.append(
                Issue(
                    type=check.slug,
                    message=f"{count:,} row(s): {check.message}",
                    severity="warning",
                    table=check.table,
                    file=files[0] if len(set(files)) == 1 else None,
                    column=check.column,
                    rows=tuple(rows),
                    count=count,
                )
            )
    return issues


def other_month_issues(data: MonthData, stats: dict[str, TableStats], month: str) -> list[Issue]:
    """Rows of other months, or blank rows, in a file are fine, but worth a word: one
    warning per table and file, with the first rows as examples."""
    skipped = (
        ("other-month", "other_month", f"row(s) dated outside {month} were skipped"),
        ("blank-rows", "blank", "blank row(s) (nothing in any column read) were skipped"),
    )
    found = [(kind, table, what) for kind, field, what in skipped for table, s in stats.items() if getattr(s, field)]
    queries = []
    for kind, table, _ in found:
        in_month = pl.col("_in_month")
        rows = with_month(data, table).filter(~in_month if kind == "other-month" else in_month.is_null())
        queries.append(
            rows.group_by("_file").agg(pl.len().alias("count"), pl.col("_row").sort().head(EXAMPLES).alias("rows"))
        )
    issues = []
    for (kind, table, what), result in zip(found, collect_all(queries, data), strict=True):
        order = data.tables[table].files
        for file, count, rows in sorted(result.iter_rows(), key=lambda r: order.index(r[0]) if r[0] in order else 0):
            issues.append(
                Issue(
                    type=kind,
                    message=f"{count:,} {what}",
                    severity="warning",
                    table=table,
                    file=file,
                    rows=tuple(rows),
                    count=count,
                )
            )
    return issues
