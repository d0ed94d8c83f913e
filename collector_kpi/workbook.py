"""The scorecard as an Excel workbook, for HR: a sheet per level plus the scheme and manifest.

Written with polars' ``DataFrame.write_excel`` (xlsxwriter). Cells hold the full-precision
values of the output contract; number formats (percent, thousands separators, one decimal)
change the display only, so reading the workbook back with ``pl.read_excel`` gives the
same numbers as ``--format csv``. Nothing is left as a formula: the floor values on the
scheme sheet are computed here, and text that looks like a formula is stored as text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .labels import Lang, column_label, metric_name
from .metrics import METRICS
from .render import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from .scheme import Scheme

__all__ = [
    "SHEET_NAMES",
    "manifest_frame",
    "scheme_frame",
    "sheet_name",
    "write_xlsx",
    "xlsx_bytes",
]

SHEET_NAMES = {"collector": "collectors", "team": "teams"}

UNIT_FORMATS = {
    "rate": "0.0%",
    "money": "#,##0.00",
    "count": "#,##0",
    "days": "0.0",
    "points": "0.0",
}
POINTS_FORMAT = "0.0"
CHANGE_FORMAT = "+0.0;-0.0;0.0"
WHOLE_FORMAT = "0"
# Excel's red → yellow → green scale, fixed to 0 / 50 / 100 points so months compare.
SCORE_SCALE: dict[str, Any] = {
    "type": "3_color_scale",
    "min_type": "num",
    "min_value": 0,
    "min_color": "#F8696B",
    "mid_type": "num",
    "mid_value": 50,
    "mid_color": "#FFEB84",
    "max_type": "num",
    "max_value": 100,
    "max_color": "#63BE7B",
}
HEADER_FORMAT = {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_name(key: str) -> str:
    """``collector`` → ``collectors``, ``team`` → ``teams``; any other key, made a legal sheet name."""
    name = SHEET_NAMES.get(key, key).translate(_BAD_SHEET_CHARS).strip("'")
    return (name or "sheet")[:31]


def _column_format(column: str, dtype: pl.DataType) -> str | None:
    """The Excel number format of one output-contract column (None: leave it alone)."""
    if not dtype.is_numeric():
        return None
    if column in METRICS:
        return UNIT_FORMATS[METRICS[column].unit]
    if column.endswith("_score") and column[: -len("_score")] in METRICS:
        return POINTS_FORMAT
    if column in ("score", "previous_score", "bonus"):
        return POINTS_FORMAT
    if column == "score_change":
        return CHANGE_FORMAT
    if column in ("rank", "previous_rank", "member_count"):
        return WHOLE_FORMAT
    if column == "rank_change":
        return "+0;-0;0"
    return None


def _score_columns(frame: pl.DataFrame) -> list[str]:
    points = [c for c in frame.columns if c.endswith("_score") and c[: -len("_score")] in METRICS]
    return [c for c in frame.columns if c in ("score", *points) and frame.schema[c].is_numeric()]


def _headers(columns: list[str], lang: Lang | None) -> dict[str, str]:
    """Column → header; ids as they are (``lang=None``) or translated, kept unique."""
    if lang is None:
        return {c: c for c in columns}
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        label = column_label(column, lang)
        if label in used:
            label = f"{label} ({column})"
        used.add(label)
        out[column] = label
    return out


def scheme_frame(scheme: Scheme, floor: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """One row per weighted metric: id, 中文, name, weight, better, method, parameters, floor value.

    ``floor`` is ``Scorecard.floor``; its values are the whole floor's metric values
    (ratios of the floor's sums), written as numbers, not formulas.
    """
    rows: list[dict[str, Any]] = []
    for metric_id, rule in scheme.metrics.items():
        method = rule.score.model_dump()
        name = str(method.pop("method", type(rule.score).__name__))
        params = ", ".join(f"{k}={v}" for k, v in method.items() if v is not None)
        value = None if floor is None else floor.get(metric_id)
        rows.append(
            {
                "metric": metric_id,
                "中文": metric_name(metric_id, "zh"),
                "name": metric_name(metric_id, "en"),
                "weight": float(rule.weight),
                "better": scheme.direction(metric_id),
                "method": name,
                "parameters": params,
                "floor_value": None if value is None else float(value),
            }
        )
    schema = {
        "metric": pl.String,
        "中文": pl.String,
        "name": pl.String,
        "weight": pl.Float64,
        "better": pl.String,
        "method": pl.String,
        "parameters": pl.String,
        "floor_value": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def manifest_frame(manifest: Mapping[str, Any]) -> pl.DataFrame:
    """``key`` / ``value`` rows; a list or mapping value is written as JSON text."""
    rows = []
    for key, value in manifest.items():
        if isinstance(value, str):
            shown = value
        elif value is None:
            shown = ""
        elif isinstance(value, bool | int | float):
            shown = json.dumps(value)
        else:
            shown = json.dumps(value, ensure_ascii=False, default=str)
        rows.append({"key": str(key), "value": shown})
    return pl.DataFrame(rows, schema={"key": pl.String, "value": pl.String})


def _write_table(
    frame: pl.DataFrame,
    workbook: Any,
    name: str,
    lang: Lang | None,
    column_formats: dict[str, str],
    scale: list[str],
) -> None:
    headers = _headers(frame.columns, lang)
    shown = frame.rename(headers)
    formats = {headers[c]: f for c, f in column_formats.items()}
    conditional: dict[Any, Any] = {}
    if scale:
        conditional[tuple(headers[c] for c in scale)] = SCORE_SCALE
    shown.write_excel(
        workbook,
        worksheet=name,
        column_formats=formats or None,  # type: ignore[arg-type]
        conditional_formats=conditional or None,
        header_format=HEADER_FORMAT,
        float_precision=2,
        autofit=True,
        freeze_panes=(1, 0),
        table_style="Table Style Light 1",
    )


def _number_text(number: float | int) -> str:
    """The shortest text that reads back as exactly ``number`` (xlsxwriter writes 16 digits)."""
    if isinstance(number, int):
        return str(number)
    return repr(float(number)).upper()


def _exact_workbook_class() -> Any:
    """An xlsxwriter ``Workbook`` whose sheets write every number to full double precision.

    xlsxwriter formats numbers with ``%.16G``, which can change the last bit of a double
    (60.850682938146434 → 60.85068293814643); the round-trip promise needs 17 digits, so
    the one method that writes a number cell is replaced (the round-trip test guards it).
    """
    from xlsxwriter import Workbook  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from xlsxwriter.worksheet import Worksheet  # type: ignore[import-untyped,import-not-found,unused-ignore]

    class ExactWorksheet(Worksheet):  # type: ignore[misc]
        def _xml_number_element(self, number: float, attributes: list[tuple[str, Any]] | None = None) -> None:
            attr = "".join(f' {key}="{self._escape_attributes(value)}"' for key, value in attributes or [])
            self.fh.write(f"<c{attr}><v>{_number_text(number)}</v></c>")

    class ExactWorkbook(Workbook):  # type: ignore[misc]
        worksheet_class = ExactWorksheet

    return ExactWorkbook


def xlsx_bytes(
    tables: Mapping[str, pl.DataFrame],
    scheme: Scheme | None = None,
    *,
    floor: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    lang: Lang | None = None,
) -> bytes:
    """The workbook as bytes: a sheet per entry of ``tables`` (``collector`` → "collectors",
    ``team`` → "teams"), then "scheme" when ``scheme`` is given and "manifest" when given.

    ``tables`` are output-contract frames (``Scorecard.table(level)``, optionally with the
    comparison columns of :func:`collector_kpi.compare.compare`). With ``lang=None`` the
    headers are the contract's column ids (what a program reading the file expects); with
    ``"zh"``/``"en"`` they are labels for people. Values are the same either way.
    """
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True}
    with _exact_workbook_class()(buffer, options) as workbook:
        # NOTE: a fixed creation time: the same inputs must give the same bytes.
        workbook.set_properties({"created": datetime(2000, 1, 1, tzinfo=UTC)})
        for key, frame in tables.items():
            formats = {c: f for c in frame.columns if (f := _column_format(c, frame.schema[c])) is not None}
            _write_table(frame, workbook, sheet_name(key), lang, formats, _score_columns(frame))
        if scheme is not None:
            rows = scheme_frame(scheme, floor)
            floor_formats = {"weight": "General"}
            _write_table(rows, workbook, "scheme", lang, floor_formats, [])
            # The floor value's format follows each metric's unit, row by row.
            sheet = workbook.get_worksheet_by_name("scheme")
            col = rows.columns.index("floor_value")
            for index, (metric_id, value) in enumerate(zip(rows["metric"], rows["floor_value"], strict=True)):
                if value is not None:
                    cell = workbook.add_format({"num_format": UNIT_FORMATS[METRICS[metric_id].unit]})
                    sheet.write_number(index + 1, col, value, cell)
        if manifest is not None:
            _write_table(manifest_frame(manifest), workbook, "manifest", lang, {}, [])
    return buffer.getvalue()


def write_xlsx(
    path: str | Path,
    tables: Mapping[str, pl.DataFrame],
    scheme: Scheme | None = None,
    *,
    floor: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    lang: Lang | None = None,
    protected: list[str] | None = None,
) -> None:
    """Write :func:`xlsx_bytes` to ``path`` atomically (never half a file; never over an input)."""
    payload = xlsx_bytes(tables, scheme, floor=floor, manifest=manifest, lang=lang)
    write_atomic(Path(path), payload, protected)
