"""The scorecard as a terminal shows it: the columns that fit, short headers, notes as footnotes.

A terminal is narrow and a scheme has a dozen metrics: the lead columns (rank, id, name,
team, score, grade, bonus) always show, then as many metric columns as the width holds,
in the scheme's order. The metrics left out are named under the table with the options
that show them; a row's note (why it is not ranked, which gate fired) is a footnote keyed
by a mark in the rank column, so no wide, mostly empty column takes the room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .labels import Lang, metric_short, note_text, text
from .metrics import METRICS
from .render import _signed, format_value

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import JustifyMethod

__all__ = [
    "CardView",
    "card_view",
    "catalog_table",
    "compact_value",
    "hidden_line",
    "note_mark",
    "validation_view",
]

# Between two columns: one space of padding and the (blank) divider of the simple box.
COLUMN_GAP = 2
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def note_mark(number: int) -> str:
    """¹, ², … ¹⁰: the mark that ties a row to its footnote."""
    return str(number).translate(_SUPERSCRIPT)


def compact_value(metric_id: str, value: Any) -> str:
    """A metric value in few characters: 37.5%, 398.3k, 1.61M, 12.3, 1,234."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = METRICS[metric_id].unit if metric_id in METRICS else "points"
    if unit == "money":
        size = abs(value)
        if size >= 1_000_000:
            return f"{value / 1_000_000:.2f}M"
        if size >= 10_000:
            return f"{value / 1_000:.1f}k"
        return f"{value:,.0f}"
    return format_value(metric_id, value)


@dataclass
class _Column:
    header: str
    justify: JustifyMethod
    cells: list[str]
    no_wrap: bool = True

    @property
    def width(self) -> int:
        from rich.cells import cell_len

        lines = [*self.header.splitlines(), *self.cells]
        return max((cell_len(line) for line in lines), default=1)


@dataclass
class CardView:
    """What the terminal prints: the table, its footnotes and the metrics left out."""

    table: Any
    notes: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)

    def renderables(self, lang: Lang) -> list[Any]:
        """The table, then one line per footnote, then the line naming the hidden metrics."""
        from rich.text import Text

        out: list[Any] = [self.table]
        if self.notes:
            out.append(Text("\n".join(self.notes)))
        if self.hidden:
            out.append(Text(hidden_line(self.hidden, lang)))
        return out


def hidden_line(hidden: list[str], lang: Lang) -> str:
    """`3 metrics not shown: a, b, c; --wide shows all, --columns a,b,c picks`."""
    names = ", ".join(hidden)
    picks = ",".join(hidden[:3])
    return text("metrics_not_shown", lang).format(count=len(hidden), names=names, picks=picks)


def _row_notes(row: dict[str, Any], lang: Lang) -> str | None:
    notes = []
    if row.get("ineligible_reason"):
        notes.append(note_text(row["ineligible_reason"], lang))
    if row.get("gates"):
        notes.append(f"{text('gate_fired', lang)}: {row['gates']}")
    return "; ".join(notes) or None


def _lead_columns(frame: pl.DataFrame, level: str, lang: Lang, marks: list[str]) -> list[_Column]:
    rows = list(frame.iter_rows(named=True))

    def column(key: str, justify: JustifyMethod, cells: list[str], no_wrap: bool = True) -> _Column:
        return _Column(text(key, lang), justify, cells, no_wrap)

    ranks = [("—" if r["rank"] is None else str(r["rank"])) + mark for r, mark in zip(rows, marks, strict=True)]
    lead = [column("rank_short", "right", ranks)]
    if level == "collector":
        lead += [
            column("id_short", "left", [r["collector_id"] or "—" for r in rows]),
            column("collector_name", "left", [r.get("collector_name") or "" for r in rows], no_wrap=False),
            column("team", "left", [r["team_id"] or "—" for r in rows]),
        ]
    else:
        lead += [
            column("team", "left", [r["team_id"] or "—" for r in rows]),
            column(
                "members_short", "right", ["—" if r["member_count"] is None else str(r["member_count"]) for r in rows]
            ),
        ]
    lead += [
        column("score", "right", ["—" if r["score"] is None else f"{r['score']:.1f}" for r in rows]),
        column("grade", "center", [r["grade"] or "—" for r in rows]),
    ]
    if "movement" in frame.columns:
        from .labels import movement_label

        lead += [
            column(
                "was_short", "right", ["—" if r["previous_rank"] is None else str(r["previous_rank"]) for r in rows]
            ),
            column("change_short", "right", [_signed(r["score_change"]) for r in rows]),
            column("movement_short", "center", [movement_label(r["movement"], lang) for r in rows]),
        ]
    if "bonus" in frame.columns:
        lead.append(column("bonus", "right", ["—" if r["bonus"] is None else f"{r['bonus']:,.2f}" for r in rows]))
    return lead


def _fitting(lead: list[_Column], metrics: list[_Column], width: int | None) -> int:
    """How many of ``metrics``, in order, fit beside ``lead`` in ``width`` cells."""
    if width is None:
        return len(metrics)
    used = sum(c.width for c in lead) + COLUMN_GAP * (len(lead) - 1)
    count = 0
    for column in metrics:
        used += COLUMN_GAP + column.width
        if used > width:
            break
        count += 1
    return count


def card_view(
    frame: pl.DataFrame,
    level: str,
    metric_ids: list[str],
    title: str,
    lang: Lang = "en",
    width: int | None = None,
) -> CardView:
    """The scorecard for a terminal ``width`` cells wide (None: as wide as it needs)."""
    notes: dict[str, int] = {}
    marks = []
    for row in frame.iter_rows(named=True):
        note = _row_notes(row, lang)
        if note is None:
            marks.append("")
            continue
        marks.append(note_mark(notes.setdefault(note, len(notes) + 1)))
    lead = _lead_columns(frame, level, lang, marks)
    metrics = [
        _Column(metric_short(m, lang), "right", [compact_value(m, v) for v in frame[m].to_list()]) for m in metric_ids
    ]
    shown = _fitting(lead, metrics, width)
    table = _simple_table(title)
    columns = lead + metrics[:shown]
    for column in columns:
        # Numbers and ids keep their width (never cut); only a name may wrap.
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=column.no_wrap,
            min_width=column.width if column.no_wrap else None,
            overflow="fold",
        )
    for index, row in enumerate(frame.iter_rows(named=True)):
        table.add_row(*(c.cells[index] for c in columns), style=None if row["eligible"] else "dim")
    footnotes = [f"{note_mark(number)} {note}" for note, number in notes.items()]
    return CardView(table, footnotes, metric_ids[shown:])


def _simple_table(title: str | None = None) -> Any:
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def validation_view(report: Any, lang: Lang = "en") -> list[Any]:
    """What `kpi validate` prints: rows per table, then each problem as a short block."""
    from rich.padding import Padding
    from rich.text import Text

    from .labels import issue_text

    tables = _simple_table(text("v_rows_per_table", lang).format(month=report.month))
    cells = any(stats.cells_rejected for stats in report.tables.values())
    columns = ("table", "read", "used", "rejected", *(["cells_rejected"] if cells else []), "other_months", "files")
    for column in columns:
        numeric = column not in ("table", "files")
        tables.add_column(
            text(f"v_{column}", lang), justify="right" if numeric else "left", no_wrap=numeric, overflow="fold"
        )
    for stats in report.tables.values():
        # The cells per column are in the problems below.
        counts = (stats.read, stats.used, stats.rejected, *([stats.cells_rejected] if cells else []), stats.other_month)
        tables.add_row(stats.table, *(f"{n:,}" for n in counts), "\n".join(stats.files))
    out: list[Any] = [tables]
    if not report.issues:
        return [*out, Text(text("v_no_problems", lang))]
    # NOTE: one block per problem, not a seven-column table: at 80 columns a message in
    # such a table wraps into a dozen lines of three words.
    out.append(Text(text("v_problems", lang), style="bold"))
    for number, issue in enumerate(report.issues, start=1):
        rows = ", ".join(str(r) for r in issue.rows) + (" …" if issue.count > len(issue.rows) else "")
        where = [issue.table, issue.column, f"{text('v_rows', lang)} {rows}" if rows else None]
        head = f"{number}. {text(issue.severity, lang)} [{issue.type}] " + " · ".join(p for p in where if p)
        out.append(Text(head))
        out.append(Padding(Text(issue_text(issue, lang)), (0, 0, 0, 3)))
        if issue.file:
            out.append(Padding(Text(issue.file, overflow="fold"), (0, 0, 0, 3)))
    verdict = "v_usable"
    if not report.valid:
        rejected = report.rejects.height or report.cell_rejects.height
        verdict = "v_errors_found" if rejected else "v_errors_repeated"
    out.append(Text(text(verdict, lang)))
    return out


def catalog_table(rows: list[dict[str, Any]]) -> Any:
    """`kpi metrics` on a terminal: ids whole (they are pasted into a scheme), prose wrapped."""
    table = _simple_table("Metric catalog")
    table.add_column("id", no_wrap=True, min_width=max(len(r["id"]) for r in rows))
    table.add_column("中文 / name", overflow="fold", min_width=10, max_width=14)
    table.add_column("definition", overflow="fold", ratio=1)
    table.add_column("better", overflow="fold", min_width=6, max_width=8)
    table.add_column("needs", overflow="fold", min_width=8, max_width=10)
    for r in rows:
        needs = " + ".join(r["needs"].split("+"))
        table.add_row(r["id"], f"{r['zh']}\n{r['en']}", r["definition"], r["better"], needs)
    return table
