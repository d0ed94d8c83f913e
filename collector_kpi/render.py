"""Renderers: rich tables for people; CSV, JSON, Parquet and Markdown for machines."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from .errors import OutputError
from .metrics import METRICS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def format_value(metric_id: str, value: Any) -> str:
    """A metric value as a person reads it: 37.5%, 1,234.50, 12.3 days."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = METRICS[metric_id].unit if metric_id in METRICS else "points"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "days":
        return f"{value:.1f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _score(value: Any) -> str:
    return "—" if value is None else f"{value:.1f}"


def rich_table(frame: pl.DataFrame, level: str, metric_ids: list[str], title: str) -> Any:
    """The scorecard as a rich Table: ranked rows first, then the ineligible with why."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    if level == "collector":
        table.add_column("collector")
        table.add_column("team")
    else:
        table.add_column("team")
        table.add_column("members", justify="right")
    table.add_column("score", justify="right")
    table.add_column("grade", justify="center")
    for metric_id in metric_ids:
        table.add_column(f"{METRICS[metric_id].zh}\n{metric_id}", justify="right")
    table.add_column("note")
    for row in frame.iter_rows(named=True):
        if level == "collector":
            who = row["collector_id"] + (f" {row['collector_name']}" if row.get("collector_name") else "")
            lead = [who, row["team_id"] or "—"]
        else:
            lead = [row["team_id"], str(row["member_count"])]
        note = row["ineligible_reason"] or ""
        if row.get("gates"):
            note = "; ".join(filter(None, [note, f"gate: {row['gates']}"]))
        style = None if row["eligible"] else "dim"
        table.add_row(
            str(row["rank"]) if row["rank"] is not None else "—",
            *lead,
            _score(row["score"]),
            row["grade"] or "—",
            *[format_value(m, row[m]) for m in metric_ids],
            note,
            style=style,
        )
    return table


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with a quote."""
    text_columns = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    if not text_columns:
        return frame
    return frame.with_columns(
        pl.when(_starts_with_any(pl.col(c))).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )


def _starts_with_any(column: pl.Expr) -> pl.Expr:
    condition = pl.lit(False)
    for prefix in FORMULA_START:
        condition = condition | column.str.starts_with(prefix)
    return condition.fill_null(False)


def to_csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    neutralise_formulas(frame).write_csv(buffer)
    return buffer.getvalue()


def to_json(frame: pl.DataFrame) -> bytes:
    records = frame.to_dicts()
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def to_markdown(frame: pl.DataFrame, metric_ids: list[str], level: str) -> bytes:
    key = ["collector_id", "collector_name", "team_id"] if level == "collector" else ["team_id", "member_count"]
    headers = ["rank", *key, "score", "grade", *[f"{METRICS[m].zh} {m}" for m in metric_ids], "note"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in frame.iter_rows(named=True):
        note = "; ".join(filter(None, [row.get("ineligible_reason"), row.get("gates")]))
        cells = [
            "—" if row["rank"] is None else str(row["rank"]),
            *[("—" if row[k] is None else str(row[k])) for k in key],
            _score(row["score"]),
            row["grade"] or "—",
            *[format_value(m, row[m]) for m in metric_ids],
            note,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return ("\n".join(lines) + "\n").encode("utf-8")


WRITERS: dict[str, Callable[..., bytes]] = {"csv": to_csv, "json": to_json, "parquet": to_parquet}


def write_atomic(path: Path, payload: bytes, protected: list[str] | None = None) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    target = path.resolve()
    for other in protected or []:
        try:
            if Path(other).resolve() == target:
                raise OutputError(f"{path}: refusing to overwrite an input file")
        except OSError:
            continue
    if target.is_dir():
        raise OutputError(f"{path}: is a directory")
    if not target.parent.is_dir():
        raise OutputError(f"{path}: folder {target.parent} does not exist")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
