"""The floor: read just the columns the benchmark scheme needs, and aggregate trivially.

    python bench/floor.py --data bench/data/1m/parquet --format parquet

No tool that has to read these columns can be faster than this (same polars, same files):
every needed column is read and decoded (CSV dates and datetimes parsed with their one
known format, read as strings first, which is polars' fastest way), then reduced to its
maximum. The result is printed, so nothing can be optimised away.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

# The columns `kpi score --config bench/scheme.yaml` needs from each table.
NEEDED = {
    "cases": {
        "case_id": "str",
        "collector_id": "str",
        "team_id": "str",
        "collector_name": "str",
        "assigned_date": "date",
        "overdue_amount": "float",
        "recovered_amount": "float",
        "waived_amount": "float",
        "settled_date": "date",
        "first_payment_date": "date",
    },
    "contacts": {
        "case_id": "str",
        "collector_id": "str",
        "channel": "str",
        "contacted_at": "datetime",
        "outcome": "str",
        "ptp": "bool",
        "qa_score": "float",
        "logged_at": "datetime",
    },
    "reviews": {
        "collector_id": "str",
        "call_quality": "float",
        "knowledge": "float",
        "teamwork": "float",
        "violations": "int",
    },
    "roster": {
        "collector_id": "str",
        "collector_name": "str",
        "team_id": "str",
        "target_amount": "float",
        "active": "bool",
    },
}
CSV_TYPES = {
    "str": pl.String,
    "date": pl.String,
    "datetime": pl.String,
    "float": pl.Float64,
    "int": pl.Int64,
    "bool": pl.Boolean,
}


def scan(table: str, data: Path, fmt: str) -> pl.LazyFrame:
    columns = NEEDED[table]
    if fmt == "parquet":
        return pl.scan_parquet(data / f"{table}.parquet").select(list(columns))
    lf = pl.scan_csv(
        data / f"{table}.csv",
        schema_overrides={name: CSV_TYPES[kind] for name, kind in columns.items()},
    ).select(list(columns))
    parsed = []
    for name, kind in columns.items():
        if kind == "date":
            parsed.append(pl.col(name).str.to_date("%Y-%m-%d"))
        elif kind == "datetime":
            parsed.append(pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"))
    return lf.with_columns(parsed) if parsed else lf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--format", choices=("parquet", "csv"), required=True)
    args = parser.parse_args(argv)
    queries = [
        scan(table, args.data, args.format).select(pl.len().alias("rows"), pl.all().max().name.prefix("max_"))
        for table in NEEDED
    ]
    for table, result in zip(NEEDED, pl.collect_all(queries), strict=True):
        print(table, result.row(0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
