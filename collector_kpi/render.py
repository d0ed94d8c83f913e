"""Renderers: rich tables for people; CSV, JSON, Parquet and Markdown for machines."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from typing import Any

import polars as pl

from .metrics import METRICS
from .safe_text import markdown_cell, printable
from .writing import write_atomic as write_atomic  # where the outputs have always been written from

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


def _signed(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    text = f"{value:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text  # not "+0.0" nor "-0.0" for a change that rounds away


def display_columns(frame: pl.DataFrame, level: str, metric_ids: list[str], lang: str) -> list[tuple[str, str]]:
    """(header, justify) of the scorecard as people read it, in the chosen language."""
    from .labels import text

    def t(key: str) -> str:
        return text(key, lang)  # type: ignore[arg-type]

    columns = [("#", "right")]
    if level == "collector":
        columns += [(t("collector"), "left"), (t("team"), "left")]
    else:
        columns += [(t("team"), "left"), (t("member_count"), "right")]
    columns += [(t("score"), "right"), (t("grade"), "center")]
    if "movement" in frame.columns:
        columns += [(t("previous_rank"), "right"), (t("score_change"), "right"), (t("movement"), "center")]
    if "bonus" in frame.columns:
        columns.append((t("bonus"), "right"))
    # Metric headers keep the Chinese name beside the id in either language: the id is English.
    columns += [(f"{METRICS[m].zh}\n{m}", "right") for m in metric_ids]
    columns.append((t("note"), "left"))
    return columns


def display_cells(row: dict[str, Any], level: str, metric_ids: list[str], lang: str = "en") -> list[str]:
    """One scorecard row formatted for people, matching :func:`display_columns`; text from
    the data is :func:`~collector_kpi.safe_text.printable`."""
    from .labels import movement_label

    if level == "collector":
        who = (row["collector_id"] or "") + (f" {row['collector_name']}" if row.get("collector_name") else "")
        lead = [who, row["team_id"] or "—"]
    else:
        lead = [row["team_id"], "—" if row.get("member_count") is None else str(row["member_count"])]
    cells = ["—" if row["rank"] is None else str(row["rank"]), *lead, _score(row["score"]), row["grade"] or "—"]
    if "movement" in row:
        previous = row["previous_rank"]
        cells += [
            "—" if previous is None else str(previous),
            _signed(row["score_change"]),
            movement_label(row["movement"], lang),  # type: ignore[arg-type]
        ]
    if "bonus" in row:
        cells.append("—" if row["bonus"] is None else f"{row['bonus']:,.2f}")
    cells += [format_value(m, row[m]) for m in metric_ids]
    from .labels import note_text, text

    notes = [note_text(row["ineligible_reason"], lang) if row.get("ineligible_reason") else None]  # type: ignore[arg-type]
    if row.get("gates"):
        notes.append(f"{text('gate_fired', lang)}: {row['gates']}")  # type: ignore[arg-type]
    cells.append("; ".join(n for n in notes if n))
    return [printable(cell) for cell in cells]


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


def to_csv(frame: pl.DataFrame, bom: bool = False) -> bytes:
    """CSV text; ``bom`` for a file: Excel on a Chinese Windows reads UTF-8 only with one."""
    buffer = io.BytesIO()
    neutralise_formulas(frame).write_csv(buffer, include_bom=bom)
    return buffer.getvalue()


def to_json(frame: pl.DataFrame) -> bytes:
    records = frame.to_dicts()
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_jsonl(frame: pl.DataFrame) -> bytes:
    """One JSON object per row and line (JSON Lines), the fields of :func:`to_json`."""
    rows = json.loads(to_json(frame))
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def to_markdown(frame: pl.DataFrame, metric_ids: list[str], level: str, lang: str = "en") -> bytes:
    headers = [header.replace("\n", " ") for header, _ in display_columns(frame, level, metric_ids, lang)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in frame.iter_rows(named=True):
        cells = display_cells(row, level, metric_ids, lang)
        lines.append("| " + " | ".join(map(markdown_cell, cells)) + " |")
    return ("\n".join(lines) + "\n").encode("utf-8")


WRITERS: dict[str, Callable[..., bytes]] = {"csv": to_csv, "json": to_json, "parquet": to_parquet}


def _amount(metric_id: str, value: float | None, which: str) -> str:
    """A numerator or denominator as a person reads it (money with cents, counts whole)."""
    if value is None:
        return "—"
    metric = METRICS[metric_id]
    component = metric.numerator if which == "num" else (metric.denominator or metric.numerator)
    from .metrics import COMPONENTS

    if COMPONENTS[component].scale == 100 and metric.unit != "points":
        return f"{value:,.2f}"
    if metric.unit == "points" and which == "num":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _t(key: str, lang: str) -> str:
    from .labels import text

    return text(key, lang)  # type: ignore[arg-type]


def formula(line: Any, lang: str = "en") -> str:
    """`回款率 24.8% = 398,342.04 / 1,607,883.81` — the value and where it comes from."""
    value = format_value(line.id, line.value)
    if line.value is None:
        if line.denominator == 0 or line.denominator is None:
            return f"{value} ({_t('x_no_denominator', lang)})"
        return value
    if line.denominator is None:
        return value
    ratio = f"{_amount(line.id, line.numerator, 'num')} / {_amount(line.id, line.denominator, 'den')}"
    if line.raw is not None:
        # A fair value: show it, then the raw ratio it was made from, E, O/E and Z.
        oe = "—" if line.oe_ratio is None else f"{line.oe_ratio:.2f}"
        z = "—" if line.credibility is None else f"{line.credibility * 100:.0f}%"
        raw = f"{_t('x_raw', lang)} {format_value(line.id, line.raw)}"
        return f"{value} {_t('x_fair', lang)} ({raw} = {ratio}; O/E {oe}, Z {z})"
    text = f"{value} = {ratio}"
    if line.source in ("team", "reviews"):
        text += f" ({_t(f'x_source_{line.source}', lang)})"
    return text


def method_text(line: Any, lang: str = "en") -> str:
    params = line.parameters
    if line.method == "range":
        floor, ceiling = format_value(line.id, params["floor"]), format_value(line.id, params["ceiling"])
        return f"{_t('x_range', lang)} {floor} → {ceiling}"
    if line.method == "target":
        return (
            f"{_t('x_target', lang)} {format_value(line.id, params['target'])}, {_t('x_cap', lang)} {params['cap']:g}"
        )
    if line.method == "band":
        low, high = format_value(line.id, params["low"]), format_value(line.id, params["high"])
        return f"{_t('x_band_method', lang)} {low}–{high} ± {format_value(line.id, params['falloff'])}"
    return _t("x_percentile", lang)


def _headline(exp: Any, lang: str = "en") -> list[str]:
    from .labels import note_text

    who = f"{exp.key} {exp.name}" if exp.name else exp.key
    team = f" · {_t('x_team', lang)} {exp.team_id}" if exp.team_id and exp.level == "collector" else ""
    lines = [f"{who}{team} · {exp.month} · {exp.scheme}"]
    score = "—" if exp.score is None else f"{exp.score:.2f}"
    if exp.rank is not None:
        rank = _t("x_rank_of", lang).format(rank=exp.rank, of=exp.ranked_of)
    else:
        rank = _t("x_not_ranked", lang)
    band = exp.grade_band
    band_text = ""
    if band:
        band_text = f" ({_t('x_band', lang)} {band['grade']}: {band['min']:g}" + (
            f"–{band['below']:g})" if band["below"] else "+)"
        )
    lines.append(f"{_t('x_score', lang)} {score} · {_t('x_grade', lang)} {exp.grade or '—'}{band_text} · {rank}")
    if not exp.eligible:
        lines.append(f"{_t('x_not_eligible', lang)}: {note_text(exp.ineligible_reason or '', lang)}")  # type: ignore[arg-type]
    if not exp.gate_lines:  # else each is a line of the points table
        lines += [f"{_t('x_gate_fired', lang)}: {gate}" for gate in exp.gates]
    if exp.bonus is not None:
        lines.append(f"{_t('x_bonus', lang)} {exp.bonus:,.2f}")
    return lines


def _fair_lines(exp: Any, lang: str = "en") -> list[str]:
    from .labels import fair_note_text

    return [
        f"{line.zh} {line.id}: {fair_note_text(line.note, lang)}"  # type: ignore[arg-type]
        for line in exp.metrics
        if line.note
    ]


def _lever_lines(exp: Any, lang: str = "en") -> list[str]:
    if exp.levers_note:
        zeroed = [gate.rule for gate in exp.gate_lines if gate.action == "zero_score"]
        if lang != "zh":
            note = exp.levers_note
        elif zeroed:
            note = _t("x_zero_score_levers", lang).format(rule=zeroed[0])
        else:
            note = _t("x_team_mean_levers", lang)
        return [f"{_t('x_levers', lang)}: {note}"]
    if not exp.levers:
        return [_t("x_levers_none", lang)]
    out = [_t("x_levers_head", lang)]
    for lever in exp.levers:
        out.append(
            f"  {METRICS[lever.metric].zh} {lever.metric}: {format_value(lever.metric, lever.value)} → "
            f"{format_value(lever.metric, lever.target)} ({_t(lever.target_source, lang)}) = "
            f"+{lever.points_gain:.2f} {_t('x_points_gain', lang)}"
        )
    return out


EXPLAIN_COLUMNS = ("metric", "value", "method", "score", "weight", "points", "team", "floor", "rank")


def _explain_cells(exp: Any, line: Any, lang: str = "en") -> list[str]:
    weight = f"{line.weight:g}" + (
        f" → {line.effective_weight:.1f}" if abs(line.effective_weight - line.weight) > 1e-9 else ""
    )
    return [
        f"{line.zh} {line.id}",
        formula(line, lang),
        method_text(line, lang),
        "—" if line.score is None else f"{line.score:.1f}",
        weight,
        f"{line.points:.2f}",
        format_value(line.id, line.team_value) if exp.level == "collector" else "",
        format_value(line.id, line.floor_value),
        "—" if line.rank is None else f"{line.rank}/{line.ranked_of}",
    ]


def _gate_cells(gate: Any, lang: str = "en") -> list[str]:
    """A fired gate as a line of the points table: what it did, and the points it adds."""
    action = _t(f"x_gate_{gate.action}", lang).format(grade=gate.grade)
    if gate.cancel_bonus:
        action += _t("x_gate_no_bonus", lang)
    value = f"{METRICS[gate.metric].zh} {gate.metric} {format_value(gate.metric, gate.value)}"
    return [f"{_t('x_gate', lang)}: {gate.rule}", value, action, "", "", f"{gate.points:.2f}", "", "", ""]


def _points_rows(exp: Any, lang: str = "en") -> list[list[str]]:
    """The rows of the points table: the metrics, then the gates that fired."""
    metrics = [_explain_cells(exp, line, lang) for line in exp.metrics]
    return metrics + [_gate_cells(gate, lang) for gate in exp.gate_lines]


def _longest_word(cells: list[str]) -> int:
    """The widest run without a space: a column narrower than it would cut a number or an id."""
    from rich.cells import cell_len

    return max((cell_len(word) for cell in cells for word in cell.split()), default=1)


def explain_table(exp: Any, lang: str = "en") -> Any:
    """The explanation as rich renderables: headline, per-metric table, levers.

    The scoring method goes under the metric's name, so the table fits 80 columns; a cell
    wraps between words and never cuts a number or an id.
    """
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    rows = _points_rows(exp, lang)
    table = Table(
        header_style="bold",
        show_footer=True,
        box=box.SIMPLE,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    shown = [c for c in EXPLAIN_COLUMNS if c != "method" and (c != "team" or exp.level == "collector")]
    for column in shown:
        index = EXPLAIN_COLUMNS.index(column)
        cells = [row[index] for row in rows] + ([row[2] for row in rows] if column == "metric" else [])
        footer = f"{exp.points_total:.2f}" if column == "points" else ("Σ" if column == "metric" else "")
        wraps = column in ("metric", "value")
        table.add_column(
            _t(f"x_{column}", lang),
            footer=footer,
            justify="left" if wraps else "right",
            no_wrap=not wraps,
            overflow="fold",
            min_width=_longest_word(cells) if wraps else max(_longest_word(cells), len(footer)),
        )
    for row in rows:
        metric = Text(printable(row[0]))
        metric.append("\n" + printable(row[2]), style="dim")
        shown_cells = [metric if c == "metric" else Text(printable(row[EXPLAIN_COLUMNS.index(c)])) for c in shown]
        table.add_row(*shown_cells)
    tail = _fair_lines(exp, lang) + _lever_lines(exp, lang)
    above = _headline(exp, lang)
    return Group(Text("\n".join(map(printable, above))), _Narrowing(table), Text("\n".join(map(printable, tail))))


class _Narrowing:
    """The explain table; where it is wider than the console, the room comes from the value
    column (its formula wraps between numbers) while the metric column keeps its ids whole
    and the numbers keep theirs (left to itself, rich would shave every column)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        if Measurement.get(console, options.update(max_width=100_000), self.table).maximum > options.max_width:
            metric, value = self.table.columns[:2]
            metric.width = metric.min_width
            value.ratio = 1
            self.table.expand = True
        yield self.table


def explain_markdown(exp: Any, lang: str = "en") -> bytes:
    lines = [f"### {markdown_cell(_headline(exp, lang)[0])}", ""]
    lines += [f"- {markdown_cell(text)}" for text in _headline(exp, lang)[1:]]
    headers = [_t(f"x_{c}", lang) for c in EXPLAIN_COLUMNS]
    lines += ["", "| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in EXPLAIN_COLUMNS) + "|"]
    for cells in _points_rows(exp, lang):
        lines.append("| " + " | ".join(map(markdown_cell, cells)) + " |")
    lines.append(f"| **Σ** | | | | | **{exp.points_total:.2f}** | | | |")
    lines += ["", *map(markdown_cell, _fair_lines(exp, lang) + _lever_lines(exp, lang)), ""]
    return "\n".join(lines).encode("utf-8")


def _delta_cells(row: dict[str, Any]) -> list[str]:
    metric = row["metric"]
    change = row["value_change"]
    if change is None:
        changed = "—"
    elif METRICS[metric].unit == "rate":
        changed = f"{change * 100:+.1f} pp"
    else:
        changed = ("+" if change >= 0 else "") + format_value(metric, change)
    return [
        f"{METRICS[metric].zh} {metric}",
        format_value(metric, row["previous_value"]),
        format_value(metric, row["value"]),
        changed,
        _signed(row["points_change"]),
    ]


DELTA_COLUMNS = ("metric", "before", "now", "change", "score_change")


def deltas_table(deltas: pl.DataFrame, previous: str, lang: str = "en") -> Any:
    """Per-metric change against the compared period, as a rich Table."""
    from rich import box
    from rich.table import Table

    title = _t("x_against", lang).format(period=previous)
    table = Table(
        title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for column in DELTA_COLUMNS:
        table.add_column(_t(f"x_{column}", lang), justify="left" if column == "metric" else "right", overflow="fold")
    for row in deltas.iter_rows(named=True):
        table.add_row(*_delta_cells(row))
    return table


def deltas_markdown(deltas: pl.DataFrame, previous: str, lang: str = "en") -> bytes:
    headers = [_t(f"x_{c}", lang) for c in DELTA_COLUMNS]
    lines = [f"#### {_t('x_against', lang).format(period=previous)}", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" for _ in DELTA_COLUMNS) + "|")
    lines += ["| " + " | ".join(map(markdown_cell, _delta_cells(row))) + " |" for row in deltas.iter_rows(named=True)]
    return ("\n".join(lines) + "\n").encode("utf-8")
