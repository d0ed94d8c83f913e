"""The scorecard as an Excel workbook, for HR: a sheet per level plus the scheme and manifest.

Written with xlsxwriter. Cells hold the full-precision values of the output contract;
number formats (money with thousands separators — and ¥ in Chinese —, rates as percent,
points to one decimal) change the display only, so reading the workbook back with
``pl.read_excel`` gives the same numbers as ``--format csv``. Each sheet has an autofilter,
panes frozen below the header and right of the id and name, and columns as wide as the
text they show. With labels (``lang``) a yes/no column reads 是/否 (yes/no); without, it
holds Excel booleans. Nothing is left as a formula: the floor values on the scheme sheet
are computed here, and text that looks like a formula is stored as text."""

from __future__ import annotations

import io
import json
import math
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .labels import WORDS, Lang, column_label, fair_note_text, metric_name, note_text, text
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
# NOTE: the yuan sign is a quoted literal: Excel and LibreOffice show it in any locale.
YUAN_MONEY_FORMAT = '"¥"#,##0.00'
POINTS_FORMAT = "0.0"
CHANGE_FORMAT = "+0.0;-0.0;0.0"
WHOLE_FORMAT = "0"
RATIO_FORMAT = "0.00"
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
# How each number format is drawn, to size a column by the text it shows.
SHOWN: dict[str, Callable[[float], str]] = {
    "0.0%": lambda v: f"{v * 100:.1f}%",
    "#,##0.00": lambda v: f"{v:,.2f}",
    YUAN_MONEY_FORMAT: lambda v: f"¥{v:,.2f}",
    "#,##0": lambda v: f"{v:,.0f}",
    "0.0": lambda v: f"{v:.1f}",
    "0.00": lambda v: f"{v:.2f}",
    "0": lambda v: f"{v:.0f}",
    CHANGE_FORMAT: lambda v: f"{v:+.1f}",
    "+0;-0;0": lambda v: f"{v:+.0f}",
}
MAX_WIDTH = 60
# The columns that say who a row is: the panes are frozen right of them.
KEY_COLUMNS = {"collector": ("collector_id", "collector_name"), "team": ("team_id",)}
# Fair-value companions of a metric column (see scoring.FAIR_SUFFIXES): label word, format.
FAIR_COLUMNS: dict[str, tuple[str, str | None]] = {
    "raw": ("raw_value", None),
    "expected": ("expected", None),
    "oe_ratio": ("oe_ratio", RATIO_FORMAT),
    "credibility": ("credibility", RATIO_FORMAT),
    "note": ("note", None),
}
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_name(key: str, lang: Lang | None = None) -> str:
    """``collector`` → ``collectors``, ``team`` → ``teams`` (in Chinese 催收员, 团队; likewise
    ``scheme`` and ``manifest``); any other key, made a legal sheet name."""
    name = SHEET_NAMES.get(key, key)
    if lang == "zh" and f"sheet_{name}" in WORDS:
        name = text(f"sheet_{name}", lang)
    name = name.translate(_BAD_SHEET_CHARS).strip("'")
    return (name or "sheet")[:31]


def _cell_text(column: str, value: str, lang: Lang | None) -> str:
    """A text cell as people read it: the tool's own notes in ``lang``, data as it is."""
    if lang is None:
        return value
    if column == "ineligible_reason":
        return note_text(value, lang)
    fair = _fair_column(column)
    if fair is not None and fair[1] == "note":
        return fair_note_text(value, lang)
    if column == "key" and f"manifest_{value}" in WORDS:  # the manifest sheet's keys
        return text(f"manifest_{value}", lang)
    return value


def _fair_column(column: str) -> tuple[str, str] | None:
    """``recovery_rate_raw`` → (``recovery_rate``, ``raw``); None for any other column."""
    for suffix in FAIR_COLUMNS:
        metric_id = column.removesuffix(f"_{suffix}")
        if metric_id != column and metric_id in METRICS:
            return metric_id, suffix
    return None


def _money_format(lang: Lang | None) -> str:
    return YUAN_MONEY_FORMAT if lang == "zh" else UNIT_FORMATS["money"]


def _column_format(column: str, dtype: pl.DataType, lang: Lang | None = None) -> str | None:
    """The Excel number format of one output-contract column (None: leave it alone)."""
    if not dtype.is_numeric():
        return None
    money = _money_format(lang)
    unit_format = {**UNIT_FORMATS, "money": money}
    if column in METRICS:
        return unit_format[METRICS[column].unit]
    if column.endswith("_score") and column[: -len("_score")] in METRICS:
        return POINTS_FORMAT
    fair = _fair_column(column)
    if fair is not None:
        return FAIR_COLUMNS[fair[1]][1] or unit_format[METRICS[fair[0]].unit]
    if column == "bonus":
        return money
    if column in ("score", "previous_score"):
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


def _label(column: str, lang: Lang) -> str:
    fair = _fair_column(column)
    if fair is not None:
        return f"{metric_name(fair[0], lang)} {text(FAIR_COLUMNS[fair[1]][0], lang)}"
    return column_label(column, lang)


def _headers(columns: list[str], lang: Lang | None) -> dict[str, str]:
    """Column → header; ids as they are (``lang=None``) or translated, kept unique."""
    if lang is None:
        return {c: c for c in columns}
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        label = _label(column, lang)
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


def _labelled_scheme(rows: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    """The scheme sheet's words in ``lang``: direction, method and parameter names."""

    def parameters(params: str) -> str:
        pairs = [pair.split("=", 1) for pair in params.split(", ") if "=" in pair]
        return ", ".join(f"{text(f'param_{key}', lang).removeprefix('param_')}={value}" for key, value in pairs)

    return rows.with_columns(
        pl.Series("better", [text(v, lang) for v in rows["better"]], pl.String),
        pl.Series("method", [text(f"method_{v}", lang).removeprefix("method_") for v in rows["method"]], pl.String),
        pl.Series("parameters", [parameters(v) for v in rows["parameters"]], pl.String),
    ).rename({"中文": "metric_zh", "name": "metric_en"})


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


def _text_width(value: str) -> int:
    """Columns ``value`` takes on screen: 2 for a wide (CJK) character, 1 for others."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in value)


def _shown(value: Any, number_format: str | None) -> str:
    """The text a cell shows: its value drawn through its number format."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "#NUM!"
    draw = SHOWN.get(number_format or "")
    return draw(value) if draw is not None else str(value)


def _write_table(
    frame: pl.DataFrame,
    workbook: Any,
    name: str,
    lang: Lang | None,
    column_formats: dict[str, str],
    scale: list[str],
    frozen: int = 0,
) -> None:
    """One sheet: a header row, the values (numbers as numbers, in ``column_formats``),
    columns as wide as the text they show, panes frozen below the header and right of
    the first ``frozen`` columns, and an autofilter over the whole table."""
    sheet = workbook.add_worksheet(name)
    headers = _headers(frame.columns, lang)
    header_format = workbook.add_format(HEADER_FORMAT)
    yes_no = {True: text("yes", lang), False: text("no", lang)} if lang is not None else None
    for col, column in enumerate(frame.columns):
        sheet.write_string(0, col, headers[column], header_format)
        number_format = column_formats.get(column)
        cell_format = workbook.add_format({"num_format": number_format}) if number_format else None
        # A header wraps onto two or three lines; the values decide the width.
        width = min(_text_width(headers[column]), max(12, _text_width(max(headers[column].split(), key=len))))
        for row, value in enumerate(frame[column].to_list(), start=1):
            if value is None:
                if cell_format is not None:
                    sheet.write_blank(row, col, None, cell_format)
                continue
            if isinstance(value, bool):
                if yes_no is None:
                    sheet.write_boolean(row, col, value)
                    shown = "FALSE" if not value else "TRUE"
                else:
                    shown = yes_no[value]
                    sheet.write_string(row, col, shown)
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value, cell_format)
                shown = _shown(value, number_format)
            else:
                shown = _cell_text(column, str(value), lang)
                sheet.write_string(row, col, shown)
            width = max(width, _text_width(shown))
        sheet.set_column(col, col, min(width + 2, MAX_WIDTH))
    for column in scale:
        col = frame.columns.index(column)
        sheet.conditional_format(1, col, max(frame.height, 1), col, SCORE_SCALE)
    sheet.freeze_panes(1, frozen)
    sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))


def _frozen(frame: pl.DataFrame, key: str) -> int:
    """How many leading columns say who a row is (frozen with the header)."""
    present = [frame.columns.index(c) for c in KEY_COLUMNS.get(key, ()) if c in frame.columns]
    return max(present) + 1 if present else 0


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
            formats = {c: f for c in frame.columns if (f := _column_format(c, frame.schema[c], lang)) is not None}
            _write_table(
                frame, workbook, sheet_name(key, lang), lang, formats, _score_columns(frame), _frozen(frame, key)
            )
        if scheme is not None:
            rows = scheme_frame(scheme, floor)
            # The floor value's format follows each metric's unit, row by row.
            floor_values = rows["floor_value"].to_list()
            shown = rows.drop("floor_value") if lang is None else _labelled_scheme(rows.drop("floor_value"), lang)
            shown = shown.with_columns(floor_value=pl.lit(None, pl.Float64))
            _write_table(shown, workbook, sheet_name("scheme", lang), lang, {"weight": "General"}, [], 1)
            sheet = workbook.get_worksheet_by_name(sheet_name("scheme", lang))
            col = shown.columns.index("floor_value")
            money = _money_format(lang)
            widths = [_text_width(_headers(["floor_value"], lang)["floor_value"])]
            for index, (metric_id, value) in enumerate(zip(rows["metric"], floor_values, strict=True)):
                if value is not None:
                    unit = METRICS[metric_id].unit
                    number_format = money if unit == "money" else UNIT_FORMATS[unit]
                    sheet.write_number(index + 1, col, value, workbook.add_format({"num_format": number_format}))
                    widths.append(_text_width(_shown(value, number_format)))
            sheet.set_column(col, col, min(max(widths) + 2, MAX_WIDTH))
        if manifest is not None:
            _write_table(manifest_frame(manifest), workbook, sheet_name("manifest", lang), lang, {}, [], 1)
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
