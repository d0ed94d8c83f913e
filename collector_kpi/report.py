"""The month's scorecard as ONE self-contained HTML file: look, don't read.

Everything is inline: CSS in a ``<style>`` element, charts as hand-written SVG, no script,
no font, image or style sheet fetched from anywhere, so the file opens offline and can be
attached to an e-mail. Text stays text (``<text>`` in SVG) so the reader's fonts draw the
Chinese names; every piece of data is escaped. The output depends only on the input: the
same scorecards give the same bytes (a timestamp appears only when one is passed in).

Charts are keyed by ``collector_id`` / ``team_id`` (``data-key``), labelled with the id and
the name: common Chinese names repeat.
"""

from __future__ import annotations

import html
import itertools
import math
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from . import __version__
from .compare import LEFT, compare
from .labels import Lang, metric_name, movement_label, other_lang, resolve_lang, text
from .render import format_value

if TYPE_CHECKING:  # pragma: no cover
    from .scoring import Scorecard

__all__ = ["FONT_STACK", "render_html", "score_colour"]

FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", SimHei, sans-serif'
)

# Ordered grade colours, best first (the scheme decides how many grades there are).
GRADE_COLOURS = ("#1b7837", "#5aae61", "#e3a21a", "#d6604d", "#a50f15", "#67000d", "#3f007d")
UP, DOWN, FLAT, GREY = "#1b7837", "#c0392b", "#8a8f98", "#b8bec7"
# Heat scale for 0–100 points: red (0) → pale yellow (50) → blue (100).
HEAT_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (215, 48, 39)),
    (25.0, (252, 141, 89)),
    (50.0, (255, 255, 191)),
    (75.0, (145, 191, 219)),
    (100.0, (69, 117, 180)),
)

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2328;font-family:%(font)s;font-size:14px;line-height:1.45}
main{max-width:1120px;margin:0 auto;padding:24px 20px 40px}
header h1{font-size:24px;margin:0 0 4px}
header p{margin:0;color:#57606a}
section{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:16px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 4px}
.note{color:#57606a;font-size:12.5px;margin:0 0 10px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:10px 0}
.tile{border:1px solid #e1e4e8;border-radius:6px;padding:10px 12px;background:#fafbfc}
.tile .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.tile .k{color:#57606a;font-size:12.5px}
.tiles.small .v{font-size:17px}
h3{font-size:14px;margin:14px 0 6px}
svg{display:block;max-width:100%%;height:auto}
svg text{font-family:%(font)s;fill:#1f2328}
svg .muted{fill:#57606a}
svg .axis{stroke:#d0d7de;stroke-width:1}
svg .hl{font-size:12.5px;text-anchor:end}
svg .hc{font-size:11px;text-anchor:middle}
svg text.hw{fill:#fff}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12.5px;color:#57606a;margin:6px 0 0}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums;white-space:nowrap}
th,td{border-bottom:1px solid #e6e8eb;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0;font-weight:600}
th small,td small{display:block;color:#6e7781;font-weight:400;font-size:11px}
td.t,th.t{text-align:left}
tr.out td{color:#8a8f98}
tr.gone td{color:#8a8f98;font-style:italic}
.up{color:%(up)s}.down{color:%(down)s}
footer{color:#6e7781;font-size:12px;margin-top:18px}
@media print{body{background:#fff}section{break-inside:avoid;border:none;padding:8px 0}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing ``.0``, never ``-0``."""
    rounded = round(value, 1)
    if rounded == 0:
        return "0"
    return f"{rounded:.1f}".rstrip("0").rstrip(".")


def _text_width(value: str, size: float) -> float:
    """Rough drawn width of ``value``: wide (CJK) characters 1 em, others 0.6 em."""
    width = 0.0
    for char in value:
        width += size if unicodedata.east_asian_width(char) in ("W", "F") else size * 0.6
    return width


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def score_colour(points: float | None) -> str:
    """The heat-scale colour of 0–100 points (grey for no value)."""
    if points is None:
        return "#eef0f2"
    p = min(max(points, 0.0), 100.0)
    for (x0, c0), (x1, c1) in itertools.pairwise(HEAT_STOPS):
        if p <= x1:
            f = (p - x0) / (x1 - x0)
            r, g, b = (round(a + (b - a) * f) for a, b in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = HEAT_STOPS[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


def _dark(points: float | None) -> bool:
    """Whether :func:`score_colour` is dark enough to want white text."""
    return points is not None and (points < 12 or points > 88)


def _grade_colour(grades: Sequence[str], grade: str | None) -> str:
    if grade is None or grade not in grades:
        return GREY
    return GRADE_COLOURS[min(grades.index(grade), len(GRADE_COLOURS) - 1)]


def _score_text(value: Any) -> str:
    number = _finite(value)
    return "—" if number is None else f"{number:.1f}"


def _signed(value: Any, digits: int = 1) -> str:
    number = _finite(value)
    if number is None:
        return "—"
    rounded = round(number, digits)
    if rounded == 0:
        return f"{0:.{digits}f}"
    return f"{rounded:+.{digits}f}"


def _who(row: dict[str, Any]) -> str:
    name = row.get("collector_name")
    return f"{row['collector_id']} {name}" if name else str(row["collector_id"])


def _bilingual(primary: str, secondary: str) -> str:
    if secondary and secondary != primary:
        return f"{_e(primary)}<small>{_e(secondary)}</small>"
    return _e(primary)


# ---------------------------------------------------------------------------------- sections


def _headline(card: Scorecard, people: pl.DataFrame, teams: pl.DataFrame, lang: Lang, compared: bool) -> str:
    ranked = people.filter(pl.col("rank").is_not_null())
    tiles: list[tuple[str, str]] = [
        (text("collectors_ranked", lang), f"{ranked.height} / {_present(people)}"),
        (text("teams_ranked", lang), f"{teams.filter(pl.col('rank').is_not_null()).height} / {_present(teams)}"),
    ]
    scores = [s for s in (_finite(v) for v in ranked["score"].to_list()) if s is not None]
    tiles.append((text("mean_score", lang), f"{sum(scores) / len(scores):.1f}" if scores else "—"))
    floor = card.floor
    if floor.get("recovery_rate") is not None:
        tiles.append((text("floor_recovery_rate", lang), format_value("recovery_rate", floor["recovery_rate"])))
    if floor.get("recovered_cents") is not None:
        tiles.append((text("floor_recovered", lang), f"{int(floor['recovered_cents']) / 100:,.2f}"))
    if compared:
        moves = [m for m in people["movement"].to_list() if m]
        up = sum(1 for m in moves if m.startswith("▲"))
        down = sum(1 for m in moves if m.startswith("▼"))
        tiles.append(
            (
                text("movement_title", lang),
                f'<span class="up">▲{up}</span> <span class="down">▼{down}</span> ={moves.count("=")}',
            )
        )
    parts = ['<section id="headline">', f"<h2>{_e(text('headline', lang))}</h2>", '<div class="tiles">']
    for key, value in tiles:
        shown = value if value.startswith("<span") else _e(value)
        parts.append(f'<div class="tile"><div class="v">{shown}</div><div class="k">{_e(key)}</div></div>')
    parts.append("</div>")

    parts.append(f"<h3>{_e(text('floor_values', lang))}</h3>")
    parts.append('<div class="tiles small">')
    for metric_id in card.scheme.metrics:
        if metric_id not in floor:
            continue
        value = format_value(metric_id, floor[metric_id])
        label = metric_name(metric_id, lang)
        alt = metric_name(metric_id, other_lang(lang))
        parts.append(
            f'<div class="tile" data-metric="{_e(metric_id)}"><div class="v">{_e(value)}</div>'
            f'<div class="k">{_e(label)} · {_e(alt)}</div></div>'
        )
    parts.append("</div>")
    parts.append(_grade_distribution(card, ranked, people.height - ranked.height, lang))
    parts.append("</section>")
    return "\n".join(parts)


def _present(frame: pl.DataFrame) -> int:
    """Rows of this month (a compared frame also holds the ones who left)."""
    if "movement" in frame.columns:
        return frame.filter(pl.col("movement").fill_null("") != LEFT).height
    return frame.height


def _grade_distribution(card: Scorecard, ranked: pl.DataFrame, unranked: int, lang: Lang) -> str:
    grades = [band.grade for band in card.scheme.grades]
    counts = {g: 0 for g in grades}
    for grade in ranked["grade"].to_list():
        if grade in counts:
            counts[grade] += 1
    total = ranked.height
    width, height = 1000.0, 34.0
    out = [f"<h3>{_e(text('grade_distribution', lang))}</h3>"]
    out.append(
        f'<svg class="chart grades" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-label="{_e(text("grade_distribution", lang))}">'
    )
    x = 0.0
    for grade in grades:
        count = counts[grade]
        if not total or not count:
            continue
        w = width * count / total
        colour = _grade_colour(grades, grade)
        out.append(
            f'<g class="grade-seg" data-grade="{_e(grade)}"><title>{_e(grade)}: {count}</title>'
            f'<rect x="{_n(x)}" y="2" width="{_n(w)}" height="30" fill="{colour}"/>'
        )
        label = f"{grade} {count}"
        if _text_width(label, 13) + 8 < w:
            ink = "#1f2328" if grades.index(grade) == 2 else "#ffffff"
            out.append(
                f'<text x="{_n(x + w / 2)}" y="22" text-anchor="middle" font-size="13" font-weight="600" '
                f'style="fill:{ink}">{_e(label)}</text>'
            )
        out.append("</g>")
        x += w
    out.append("</svg>")
    legend = [f'<span><i style="background:{_grade_colour(grades, g)}"></i>{_e(g)}: {counts[g]}</span>' for g in grades]
    legend.append(f"<span>{_e(text('not_ranked', lang))}: {unranked}</span>")
    out.append(f'<div class="legend">{"".join(legend)}</div>')
    return "\n".join(out)


def _bar_chart(
    rows: list[dict[str, Any]],
    *,
    css: str,
    key: str,
    label_of: Any,
    grades: Sequence[str],
    title: str,
    bar_class: str,
    show_previous: bool,
    lang: Lang,
) -> str:
    """Horizontal bars of ``score`` (0–100) per row, labelled ``#rank id name``."""
    size, row_h, bar_h = 12.5, 22.0, 15.0
    labels = [f"{row['rank']}  {label_of(row)}" for row in rows]
    label_w = max([_text_width(s, size) for s in labels] + [60.0]) + 12
    plot_w = 680.0
    value_x = label_w + plot_w + 12  # score and grade in a column of their own, right of 100
    move_x = value_x + 64
    width = move_x + (56.0 if show_previous else 0.0)
    top = 20.0
    height = top + row_h * len(rows) + 8
    out = [
        f'<svg class="chart {css}" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-label="{_e(title)}">'
    ]
    for tick in (0, 25, 50, 75, 100):
        x = label_w + plot_w * tick / 100
        out.append(f'<line class="axis" x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(height - 6)}"/>')
        out.append(f'<text class="muted" x="{_n(x)}" y="12" font-size="11" text-anchor="middle">{tick}</text>')
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        y = top + row_h * index
        score = _finite(row["score"]) or 0.0
        w = plot_w * min(max(score, 0.0), 100.0) / 100
        colour = _grade_colour(grades, row.get("grade"))
        tip = f"{label} · {_score_text(row['score'])} · {row.get('grade') or '—'}"
        out.append(f'<g class="bar" data-key="{_e(row[key])}" transform="translate(0 {_n(y)})">')
        out.append(f"<title>{_e(tip)}</title>")
        out.append(f'<text class="hl" x="{_n(label_w - 8)}" y="{_n(bar_h - 3)}">{_e(label)}</text>')
        out.append(
            f'<rect class="{bar_class}" x="{_n(label_w)}" y="2" width="{_n(w)}" height="{_n(bar_h)}" '
            f'rx="2" fill="{colour}"/>'
        )
        if show_previous:
            before = _finite(row.get("previous_score"))
            if before is not None:
                px = label_w + plot_w * min(max(before, 0.0), 100.0) / 100
                out.append(
                    f'<line class="prev" x1="{_n(px)}" y1="0" x2="{_n(px)}" y2="{_n(bar_h + 4)}" '
                    'stroke="#1f2328" stroke-width="2"/>'
                )
        out.append(
            f'<text x="{_n(value_x)}" y="{_n(bar_h - 3)}" font-size="12">'
            f"{_e(_score_text(row['score']))} {_e(row.get('grade') or '')}</text>"
        )
        if show_previous:
            move = row.get("movement") or ""
            fill = UP if move.startswith("▲") else DOWN if move.startswith("▼") else FLAT
            out.append(
                f'<text x="{_n(move_x)}" y="{_n(bar_h - 3)}" font-size="12" style="fill:{fill}">'
                f"{_e(movement_label(move, lang))}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _ranking(card: Scorecard, people: pl.DataFrame, lang: Lang, compared: bool) -> str:
    rows = [r for r in people.iter_rows(named=True) if r["rank"] is not None]
    grades = [band.grade for band in card.scheme.grades]
    parts = ['<section id="ranking">', f"<h2>{_e(text('ranking', lang))}</h2>"]
    parts.append(f'<p class="note">{_e(text("ranking_note", lang))}</p>')
    if not rows:
        parts.append(f"<p>{_e(text('none_ranked', lang))}</p></section>")
        return "\n".join(parts)
    parts.append(
        _bar_chart(
            rows,
            css="ranking",
            key="collector_id",
            label_of=_who,
            grades=grades,
            title=text("ranking", lang),
            bar_class="rank-bar",
            show_previous=compared,
            lang=lang,
        )
    )
    legend = [f'<span><i style="background:{_grade_colour(grades, g)}"></i>{_e(g)}</span>' for g in grades]
    if compared:
        legend.append(f'<span><i style="background:#1f2328;width:2px"></i>{_e(text("previous_marker", lang))}</span>')
    parts.append(f'<div class="legend">{"".join(legend)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _teams(card: Scorecard, teams: pl.DataFrame, lang: Lang, compared: bool) -> str:
    rows = [r for r in teams.iter_rows(named=True) if r["rank"] is not None]
    grades = [band.grade for band in card.scheme.grades]
    members = text("members", lang)
    parts = ['<section id="teams">', f"<h2>{_e(text('teams', lang))}</h2>"]
    note = "team_note_mean" if card.scheme.team.method == "mean" else "team_note"
    parts.append(f'<p class="note">{_e(text(note, lang))}</p>')
    if rows:
        parts.append(
            _bar_chart(
                rows,
                css="teams",
                key="team_id",
                label_of=lambda r: f"{r['team_id']} · {r['member_count']} {members}",
                grades=grades,
                title=text("teams", lang),
                bar_class="team-bar",
                show_previous=compared,
                lang=lang,
            )
        )
    parts.append("</section>")
    return "\n".join(parts)


def _movement(people: pl.DataFrame, lang: Lang, previous_month: str) -> str:
    """Diverging bars of rank change: up to the right, down to the left."""
    parts = ['<section id="movement">', f"<h2>{_e(text('movement_title', lang))}</h2>"]
    parts.append(f'<p class="note">{_e(text("compared_with", lang))} {_e(previous_month)}</p>')
    rows = [r for r in people.iter_rows(named=True) if r["rank"] is not None]
    size, row_h, bar_h = 12.5, 22.0, 14.0
    labels = [f"{row['rank']}  {_who(row)}" for row in rows]
    label_w = max([_text_width(s, size) for s in labels] + [60.0]) + 12
    half = 260.0
    text_w = 150.0
    width = label_w + 2 * half + text_w
    top = 8.0
    height = top + row_h * len(rows) + 6
    changes = [abs(int(r["rank_change"])) for r in rows if r["rank_change"] is not None]
    scale = max([*changes, 1])
    centre = label_w + half
    out = [
        f'<svg class="chart movement" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-label="{_e(text("movement_title", lang))}">',
        f'<line class="axis" x1="{_n(centre)}" y1="0" x2="{_n(centre)}" y2="{_n(height)}"/>',
    ]
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        y = top + row_h * index
        change = row["rank_change"]
        move = row["movement"] or ""
        out.append(f'<g class="move" data-key="{_e(row["collector_id"])}"><title>{_e(label)} {_e(move)}</title>')
        out.append(
            f'<text x="{_n(label_w - 8)}" y="{_n(y + bar_h - 2)}" font-size="{size}" text-anchor="end">'
            f"{_e(label)}</text>"
        )
        if change is not None and change != 0:
            w = half * abs(change) / scale
            x = centre if change > 0 else centre - w
            colour = UP if change > 0 else DOWN
            out.append(
                f'<rect class="move-bar" x="{_n(x)}" y="{_n(y + 2)}" width="{_n(w)}" height="{_n(bar_h)}" '
                f'rx="2" fill="{colour}"/>'
            )
        elif change == 0:
            out.append(f'<circle cx="{_n(centre)}" cy="{_n(y + 2 + bar_h / 2)}" r="3.5" fill="{FLAT}"/>')
        before = row.get("previous_rank")
        detail = movement_label(move, lang)
        if before is not None:
            detail += f"  ({before} → {row['rank']}, {_signed(row.get('score_change'))})"
        fill = UP if move.startswith("▲") else DOWN if move.startswith("▼") else FLAT
        out.append(
            f'<text x="{_n(label_w + 2 * half + 8)}" y="{_n(y + bar_h - 2)}" font-size="12" '
            f'style="fill:{fill}">{_e(detail)}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    parts.append("\n".join(out))
    # Who is not in the chart: new this month but not ranked, no longer ranked, or gone.
    others: list[str] = []
    for row in people.iter_rows(named=True):
        if row["rank"] is not None:
            continue
        move = row["movement"] or ""
        if move == LEFT:
            status = text("left", lang)
        elif row.get("previous_rank") is not None:
            status = f"{text('not_ranked', lang)} ({text('was_rank', lang)} {row['previous_rank']})"
        else:
            status = text("not_ranked", lang)
        others.append(f"{_who(row)}: {status}")
    if others:
        parts.append(f'<p class="note">{" · ".join(_e(o) for o in others)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _heatmap(card: Scorecard, people: pl.DataFrame, lang: Lang) -> str:
    rows = [r for r in people.iter_rows(named=True) if r["rank"] is not None]
    metric_ids = list(card.scheme.metrics)
    parts = ['<section id="heatmap">', f"<h2>{_e(text('heatmap', lang))}</h2>"]
    parts.append(f'<p class="note">{_e(text("heatmap_note", lang))}</p>')
    if not rows or not metric_ids:
        parts.append(f"<p>{_e(text('none_ranked', lang))}</p></section>")
        return "\n".join(parts)
    size = 12.5
    labels = [f"{row['rank']}  {_who(row)}" for row in rows]
    label_w = max([_text_width(s, size) for s in labels] + [60.0]) + 12
    cell_w, cell_h = 70.0, 21.0
    headers = [metric_name(m, lang) for m in metric_ids]
    head_h = max(_text_width(h, 12) for h in headers) * 0.72 + 18
    # Headers are turned 45°: each reaches about 0.71 of its length to the right of its column.
    reach = max(cell_w * (col + 0.5) + _text_width(h, 12) * 0.72 for col, h in enumerate(headers))
    width = label_w + max(cell_w * len(metric_ids), reach) + 12
    height = head_h + cell_h * len(rows) + 4
    out = [
        f'<svg class="chart heatmap" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-label="{_e(text("heatmap", lang))}">'
    ]
    for col, (metric_id, header) in enumerate(zip(metric_ids, headers, strict=True)):
        x = label_w + cell_w * col + cell_w / 2
        alt = metric_name(metric_id, other_lang(lang))
        out.append(
            f'<text class="hm-head" data-metric="{_e(metric_id)}" x="{_n(x)}" y="{_n(head_h - 6)}" font-size="12" '
            f'transform="rotate(-45 {_n(x)} {_n(head_h - 6)})"><title>{_e(metric_id)} · {_e(alt)}</title>'
            f"{_e(header)}</text>"
        )
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        # One group per collector, moved into place, so the cells only carry an x.
        y = head_h + cell_h * index
        out.append(f'<g class="hm-row" data-key="{_e(row["collector_id"])}" transform="translate(0 {_n(y)})">')
        out.append(f'<text class="hl" x="{_n(label_w - 8)}" y="{_n(cell_h - 6)}">{_e(label)}</text>')
        for col, metric_id in enumerate(metric_ids):
            points = _finite(row.get(f"{metric_id}_score"))
            x = label_w + cell_w * col
            shown = "—" if points is None else f"{points:.0f}"
            tip = f"{headers[col]} {format_value(metric_id, row.get(metric_id))}"
            css = "hc hw" if _dark(points) else "hc"
            out.append(
                f'<rect class="hm-cell" x="{_n(x + 1)}" y="1" width="{_n(cell_w - 2)}" height="{_n(cell_h - 2)}" '
                f'fill="{score_colour(points)}"><title>{_e(tip)}</title></rect>'
                f'<text class="{css}" x="{_n(x + cell_w / 2)}" y="{_n(cell_h - 6)}">{shown}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    parts.append("\n".join(out))
    # The colour scale.
    stops = "".join(
        f'<stop offset="{int(x)}%" stop-color="{score_colour(x)}"/>' for x in (0.0, 25.0, 50.0, 75.0, 100.0)
    )
    parts.append(
        '<svg class="scale" viewBox="0 0 320 34" width="320" height="34" aria-hidden="true">'
        f'<defs><linearGradient id="heat-scale">{stops}</linearGradient></defs>'
        '<rect x="10" y="2" width="300" height="12" fill="url(#heat-scale)"/>'
        '<text x="10" y="28" font-size="11">0</text><text x="160" y="28" font-size="11" text-anchor="middle">50</text>'
        '<text x="310" y="28" font-size="11" text-anchor="end">100</text></svg>'
    )
    parts.append("</section>")
    return "\n".join(parts)


def _table(
    frame: pl.DataFrame, metric_ids: Iterable[str], level: str, lang: Lang, compared: bool, title_key: str
) -> str:
    metric_ids = list(metric_ids)
    alt = other_lang(lang)
    head: list[str] = [f"<th>{_e(text('rank', lang))}</th>"]
    if compared:
        head.append(f"<th>{_e(text('movement', lang))}</th>")
    if level == "collector":
        head += [
            f'<th class="t">{_e(text("collector", lang))}</th>',
            f'<th class="t">{_e(text("team_id", lang))}</th>',
        ]
    else:
        head += [f'<th class="t">{_e(text("team_id", lang))}</th>', f"<th>{_e(text('member_count', lang))}</th>"]
    head.append(f"<th>{_e(text('score', lang))}</th>")
    if compared:
        head.append(f"<th>{_e(text('score_change', lang))}</th>")
    head.append(f'<th class="t">{_e(text("grade", lang))}</th>')
    for metric_id in metric_ids:
        both = _bilingual(metric_name(metric_id, lang), metric_name(metric_id, alt))
        head.append(f'<th data-metric="{_e(metric_id)}">{both}</th>')
    head.append(f'<th class="t">{_e(text("note", lang))}</th>')
    body: list[str] = []
    for row in frame.iter_rows(named=True):
        move = row.get("movement") if compared else None
        gone = move == LEFT
        cls = ' class="gone"' if gone else "" if row["rank"] is not None else ' class="out"'
        cells = [f"<td>{'—' if row['rank'] is None else row['rank']}</td>"]
        if compared:
            mcls = "up" if (move or "").startswith("▲") else "down" if (move or "").startswith("▼") else ""
            cells.append(f'<td class="{mcls}">{_e(movement_label(move, lang))}</td>')
        if level == "collector":
            name = row.get("collector_name")
            who = f"{_e(row['collector_id'])} {_e(name)}" if name else _e(row["collector_id"])
            cells += [f'<td class="t">{who}</td>', f'<td class="t">{_e(row.get("team_id") or "—")}</td>']
        else:
            count = row.get("member_count")
            cells += [f'<td class="t">{_e(row["team_id"])}</td>', f"<td>{'—' if count is None else count}</td>"]
        cells.append(f"<td>{_e(_score_text(row.get('score')))}</td>")
        if compared:
            cells.append(f"<td>{_e(_signed(row.get('score_change')))}</td>")
        cells.append(f'<td class="t">{_e(row.get("grade") or "—")}</td>')
        for metric_id in metric_ids:
            if gone:
                cells.append("<td></td>")
                continue
            points = _finite(row.get(f"{metric_id}_score"))
            cells.append(
                f"<td>{_e(format_value(metric_id, row.get(metric_id)))}"
                f"<small>{'—' if points is None else f'{points:.1f}'}</small></td>"
            )
        note = "; ".join(str(n) for n in (row.get("ineligible_reason"), row.get("gates")) if n)
        if gone and row.get("previous_rank") is not None:
            note = f"{text('was_rank', lang)} {row['previous_rank']}"
        cells.append(f'<td class="t">{_e(note)}</td>')
        key = row["collector_id" if level == "collector" else "team_id"]
        body.append(f'<tr{cls} data-key="{_e(key)}">{"".join(cells)}</tr>')
    section_id = "scorecard" if level == "collector" else "team-scorecard"
    return "\n".join(
        [
            f'<section id="{section_id}">',
            f"<h2>{_e(text(title_key, lang))}</h2>",
            f'<p class="note">{_e(text("value", lang))} / <small>{_e(text("points", lang))}</small> 0–100</p>',
            '<div class="scroll"><table>',
            f"<thead><tr>{''.join(head)}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody></table></div>",
            "</section>",
        ]
    )


def _footer(card: Scorecard, lang: Lang, generated_at: str | None) -> str:
    lines: list[str] = []
    for table, stats in card.stats.items():
        rejected = sum(stats.rejected_by_reason.values())
        line = (
            f"{table}: {stats.read:,} {text('read', lang)}, {stats.used:,} {text('used', lang)}, "
            f"{rejected:,} {text('rejected', lang)}"
        )
        if stats.other_month:
            line += f", {stats.other_month:,} {text('other_month', lang)}"
        if stats.cells_rejected:
            line += f", {stats.cells_rejected:,} {text('cells_rejected', lang)}"
        lines.append(line)
    tail = f"collector-kpi {__version__}"
    if generated_at:
        tail += f" · {text('generated', lang)} {generated_at}"
    return f"<footer><p>{_e(text('rows', lang))}: {_e(' · '.join(lines))}</p><p>{_e(tail)}</p></footer>"


# ---------------------------------------------------------------------------------- entry


def render_html(
    card: Scorecard,
    previous: Scorecard | None = None,
    lang: str = "en",
    *,
    title: str | None = None,
    generated_at: str | None = None,
) -> str:
    """The scorecard (and its movement against ``previous``) as one self-contained HTML page.

    ``lang`` is ``"en"`` or ``"zh"`` (labels; data is shown as it is). ``title`` defaults to
    the scheme's name; ``generated_at`` (any text) is printed in the footer when given —
    nothing time-dependent is added otherwise, so the same input gives the same bytes.
    """
    language = resolve_lang(lang)
    people = card.table("collector")
    teams = card.table("team")
    compared = previous is not None
    previous_month = ""
    if previous is not None:
        people = compare(people, previous.table("collector"), "collector")
        teams = compare(teams, previous.table("team"), "team")
        previous_month = previous.month
    metric_ids = list(card.scheme.metrics)
    heading = title or card.scheme.name
    subtitle = f"{text('month', language)} {card.month}"
    if compared:
        subtitle += f" · {text('compared_with', language)} {previous_month}"
    subtitle += f" · {text('scheme', language)}: {card.scheme.name}"
    css = CSS % {"font": FONT_STACK, "up": UP, "down": DOWN}
    doc_title = f"{text('report_title', language)} {card.month} · {heading}"
    sections = [
        _headline(card, people, teams, language, compared),
        _ranking(card, people, language, compared),
        _teams(card, teams, language, compared),
    ]
    if compared:
        sections.append(_movement(people, language, previous_month))
    sections += [
        _heatmap(card, people, language),
        _table(people, metric_ids, "collector", language, compared, "scorecard"),
        _table(teams, metric_ids, "team", language, compared, "team_scorecard"),
    ]
    page = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if language == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(doc_title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body><main>",
        f"<header><h1>{_e(text('report_title', language))} · {_e(heading)}</h1><p>{_e(subtitle)}</p></header>",
        *sections,
        _footer(card, language, generated_at),
        "</main></body></html>",
        "",
    ]
    return "\n".join(page)
