"""Run bench/duckdb_query.sql over one benchmark month and write the per-collector values.

    python bench/duckdb_query.py --data bench/data/1m/parquet --format parquet --output out.parquet

The runner starts this as its own process (it is timed as a whole, like `kpi score`).
Parameters (month, sla_days, followup_hours, target_amount) come from bench/scheme.yaml,
so the query and kpi always use the same numbers.
"""

from __future__ import annotations

import argparse
import calendar
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQL = HERE / "duckdb_query.sql"

# The contract's types, as a hand-written query over CSV would declare them.
CSV_COLUMNS = {
    "cases": {
        "case_id": "VARCHAR",
        "collector_id": "VARCHAR",
        "team_id": "VARCHAR",
        "collector_name": "VARCHAR",
        "assigned_date": "DATE",
        "overdue_amount": "DOUBLE",
        "recovered_amount": "DOUBLE",
        "waived_amount": "DOUBLE",
        "settled_date": "DATE",
        "first_payment_date": "DATE",
        "dpd_bucket": "VARCHAR",
        "product": "VARCHAR",
    },
    "contacts": {
        "contact_id": "VARCHAR",
        "case_id": "VARCHAR",
        "collector_id": "VARCHAR",
        "channel": "VARCHAR",
        "contacted_at": "TIMESTAMP",
        "outcome": "VARCHAR",
        "duration_s": "INTEGER",
        "ptp": "BOOLEAN",
        "ptp_amount": "DOUBLE",
        "qa_score": "DOUBLE",
        "logged_at": "TIMESTAMP",
    },
    "reviews": {
        "collector_id": "VARCHAR",
        "call_quality": "DOUBLE",
        "knowledge": "DOUBLE",
        "teamwork": "DOUBLE",
        "violations": "INTEGER",
    },
    "roster": {
        "collector_id": "VARCHAR",
        "collector_name": "VARCHAR",
        "team_id": "VARCHAR",
        "target_amount": "DOUBLE",
        "active": "BOOLEAN",
    },
}


def scheme_params(scheme: Path) -> dict[str, float | None]:
    import yaml

    data = yaml.safe_load(scheme.read_text(encoding="utf-8"))
    params = data.get("params") or {}
    return {
        "sla_days": int(params.get("sla_days", 30)),
        "followup_hours": float(params.get("followup_hours", 24)),
        "target_amount": params.get("target_amount"),
    }


def render_sql(month: str, scheme: Path) -> str:
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = date(year, mon, calendar.monthrange(year, mon)[1])
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    p = scheme_params(scheme)
    target = p["target_amount"]
    followup_us = round(float(p["followup_hours"] or 24) * 3600 * 1_000_000)
    values = {
        "month_start": start.isoformat(),
        "month_end": end.isoformat(),
        "next_month_start": nxt.isoformat(),
        "sla_days": str(p["sla_days"]),
        "followup_us": str(followup_us),
        "default_target_c": "NULL" if target is None else f"{round(float(target) * 100)}::BIGINT",
    }
    sql = SQL.read_text(encoding="utf-8")
    for name, value in values.items():
        sql = sql.replace("{" + name + "}", value)
    return sql


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def source(table: str, data: Path, fmt: str) -> str:
    if fmt == "parquet":
        return f"read_parquet({_quote(data / f'{table}.parquet')})"
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in CSV_COLUMNS[table].items())
    return (
        f"read_csv({_quote(data / f'{table}.csv')}, header = true, columns = {{{columns}}}, "
        "dateformat = '%Y-%m-%d', timestampformat = '%Y-%m-%d %H:%M:%S')"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding the four tables")
    parser.add_argument("--format", choices=("parquet", "csv"), required=True)
    parser.add_argument("--output", type=Path, required=True, help="Parquet file to write")
    parser.add_argument("--month", default="2025-03")
    parser.add_argument("--scheme", type=Path, default=HERE / "scheme.yaml")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args(argv)

    import duckdb

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    for table in ("cases", "contacts", "reviews", "roster"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source(table, args.data, args.format)}")
    query = render_sql(args.month, args.scheme)
    con.execute(f"COPY ({query}) TO {_quote(args.output)} (FORMAT parquet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
