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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from . import __version__
from .compare import LEFT, compare
from .errors import KpiError
from .labels import Lang, metric_name, movement_label, note_text, other_lang, resolve_lang, text
from .metrics import METRICS
from .render import format_value
from .sources import period_months

if TYPE_CHECKING:  # pragma: no cover
    from .scoring import Scorecard

__all__ = ["FONT_STACK", "period_title", "render_html", "score_colour"]

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
.scroll,.chart-box{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums;white-space:nowrap}
th,td{border-bottom:1px solid #e6e8eb;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0;font-weight:600}
th small,td small{display:block;color:#6e7781;font-weight:400;font-size:11px}
td.t,th.t{text-align:left}
tr.out td{color:#8a8f98}
tr.gone td{color:#8a8f98;font-style:italic}
.up{color:%(up)s}.down{color:%(down)s}
.tile .d{font-size:12px;color:#57606a;font-variant-numeric:tabular-nums}
.tile .d.up{color:%(up)s}.tile .d.down{color:%(down)s}
.prov{display:inline-block;margin-left:4px;padding:0 4px;border:1px solid #e3a21a;border-radius:3px;color:#8a5a00;
font-size:11px;font-weight:400}
footer{color:#6e7781;font-size:12px;margin-top:18px}
@media (max-width:600px){main{padding:12px 8px 24px}section{padding:12px 10px}header h1{font-size:20px}
.tiles{grid-template-columns:repeat(2,minmax(0,1fr))}.tile .v{font-size:17px}.tiles.small .v{font-size:15px}}
@media print{
@page{size:A4 landscape;margin:10mm}
body{background:#fff;font-size:11px}
main{max-width:none;padding:0}
section{border:none;border-radius:0;padding:0;margin:0;break-before:page}
section#headline{break-before:auto}
h2,h3{break-after:avoid}
.scroll,.chart-box{overflow:visible}
svg.chart{min-width:0!important}
table{white-space:normal;font-size:8px;width:100%%}
th{position:static}
th,td{padding:2px 3px}
td.t{white-space:nowrap}td.note{white-space:normal}
th small,td small{font-size:7px}
thead{display:table-header-group}
tr{break-inside:avoid}
}
"""
# The smallest SVG text, drawn at its own size or larger: a chart is never shrunk to less
# than this much of its width (on a phone it scrolls sideways instead).
MIN_TEXT_PX = 10.0


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


def _second_name(metric_id: str, lang: Lang) -> str:
    """What a metric's name is shown with: its Chinese name beside the English one, and
    beside the Chinese name its id (the id is the scheme's, so no English word is needed)."""
    return metric_id if lang == "zh" else metric_name(metric_id, other_lang(lang))


def _bilingual(primary: str, secondary: str) -> str:
    if secondary and secondary != primary:
        return f"{_e(primary)}<small>{_e(secondary)}</small>"
    return _e(primary)


def _chart(css: str, width: float, height: float, label: str, smallest: float) -> str:
    """The opening of a chart: an SVG in a box that scrolls sideways where the page is too
    narrow, never drawn so small that its ``smallest`` text falls under MIN_TEXT_PX."""
    least = width * min(1.0, MIN_TEXT_PX / smallest)
    return (
        f'<div class="chart-box"><svg class="chart {css}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" style="min-width:{math.ceil(least)}px" '
        f'role="img" aria-label="{_e(label)}">'
    )


CHART_END = "</svg></div>"


# ---------------------------------------------------------------------------------- sections


def _money(value: Any) -> str:
    """An amount of yuan as a person reads it: ¥1,234.50 (— for none)."""
    number = _finite(value)
    return "—" if number is None else f"¥{number:,.2f}"


def _shown(metric_id: str, value: Any) -> str:
    """A metric value as :func:`format_value` draws it, with ¥ on money."""
    if METRICS.get(metric_id) is not None and METRICS[metric_id].unit == "money" and _finite(value) is not None:
        return _money(value)
    return format_value(metric_id, value)


def period_title(period: str) -> str:
    """``2025-02..2025-03`` → ``2025-02 – 2025-03``, a quarter with its months; a month as it is."""
    try:
        months = period_months(period)
    except KpiError:
        return period
    if len(months) == 1:
        return months[0]
    span = f"{months[0]} – {months[-1]}"
    return span if ".." in period else f"{period} ({span})"


def _period_words(period: str, lang: Lang) -> str:
    """``Month 2025-03`` or ``Period 2025-02 – 2025-03``."""
    title = period_title(period)
    return f"{text('month' if title == period else 'period', lang)} {title}"


def _change(now: float | None, before: float | None, unit: str, better: str | None, versus: str) -> str:
    """A tile's change against the compared period: ``▲ 1.2 pp vs 2025-02`` (green or red
    when the scheme says which way is better); empty where either value is missing."""
    if now is None or before is None:
        return ""
    delta = now - before
    size = abs(delta)
    if unit == "rate":
        shown = f"{size * 100:.1f} pp"
    elif unit == "money":
        shown = f"¥{size:,.2f}"
    elif unit == "count":
        shown = f"{size:,.0f}"
    else:
        shown = f"{size:.1f}"
    if not any(digit in shown for digit in "123456789"):  # no change at the precision shown
        arrow, css = "=", ""
    else:
        arrow = "▲" if delta > 0 else "▼"
        good = delta > 0 if better != "lower" else delta < 0
        css = "" if better is None else (" up" if good else " down")
    return f'<div class="d{css}">{arrow} {_e(shown)} {_e(versus)}</div>'


def _mean_score(frame: pl.DataFrame) -> float | None:
    scores = [s for s in (_finite(v) for v in frame.filter(pl.col("rank").is_not_null())["score"]) if s is not None]
    return sum(scores) / len(scores) if scores else None


@dataclass(frozen=True)
class _Versus:
    """The compared period's figures, for the change on each headline tile."""

    previous: Scorecard | None
    lang: Lang

    def change(self, now: Any, before: Any, unit: str, better: str | None = None) -> str:
        if self.previous is None:
            return ""
        versus = f"{text('change_vs', self.lang)} {period_title(self.previous.month)}"
        return _change(_finite(now), _finite(before), unit, better, versus)

    def table(self, level: str) -> pl.DataFrame | None:
        return None if self.previous is None else self.previous.table(level)

    def floor(self, key: str) -> Any:
        return None if self.previous is None else self.previous.floor.get(key)


def _ranked_count(frame: pl.DataFrame | None) -> int | None:
    return None if frame is None else frame.filter(pl.col("rank").is_not_null()).height


def _bonus_total(frame: pl.DataFrame | None) -> float | None:
    if frame is None or "bonus" not in frame.columns:
        return None
    return sum(b for b in (_finite(v) for v in frame["bonus"]) if b is not None)


def _headline_tiles(
    card: Scorecard, people: pl.DataFrame, teams: pl.DataFrame, lang: Lang, versus: _Versus
) -> list[tuple[str, str, str]]:
    """(label, value as HTML, change as HTML) of each headline tile."""
    before_people = versus.table("collector")
    ranked, mean = _ranked_count(people), _mean_score(people)
    before_mean = None if before_people is None else _mean_score(before_people)
    tiles = [
        (
            text("collectors_ranked", lang),
            _e(f"{ranked} / {_present(people)}"),
            versus.change(ranked, _ranked_count(before_people), "count"),
        ),
        (
            text("teams_ranked", lang),
            _e(f"{_ranked_count(teams)} / {_present(teams)}"),
            versus.change(_ranked_count(teams), _ranked_count(versus.table("team")), "count"),
        ),
        (
            text("mean_score", lang),
            _e("—" if mean is None else f"{mean:.1f}"),
            versus.change(mean, before_mean, "points", "higher"),
        ),
    ]
    floor = card.floor
    if floor.get("recovery_rate") is not None:
        rate = floor["recovery_rate"]
        tiles.append(
            (
                text("floor_recovery_rate", lang),
                _e(format_value("recovery_rate", rate)),
                versus.change(rate, versus.floor("recovery_rate"), "rate", "higher"),
            )
        )
    if floor.get("recovered_cents") is not None:
        before_cents = versus.floor("recovered_cents")
        recovered = int(floor["recovered_cents"]) / 100
        before = None if before_cents is None else int(before_cents) / 100
        tiles.append(
            (text("floor_recovered", lang), _e(_money(recovered)), versus.change(recovered, before, "money", "higher"))
        )
    paid = _bonus_total(people)
    if paid is not None:
        tiles.append(
            (text("total_bonus", lang), _e(_money(paid)), versus.change(paid, _bonus_total(before_people), "money"))
        )
    if versus.previous is not None:
        moves = [m for m in people["movement"].to_list() if m]
        up = sum(1 for m in moves if m.startswith("▲"))
        down = sum(1 for m in moves if m.startswith("▼"))
        shown = f'<span class="up">▲{up}</span> <span class="down">▼{down}</span> ={moves.count("=")}'
        tiles.append((text("movement_title", lang), shown, ""))
    return tiles


def _floor_tiles(card: Scorecard, lang: Lang, versus: _Versus) -> list[str]:
    """A tile per weighted metric: the floor's value and its change."""
    out = []
    for metric_id in card.scheme.metrics:
        if metric_id not in card.floor:
            continue
        value = card.floor[metric_id]
        unit = METRICS[metric_id].unit if metric_id in METRICS else "points"
        delta = versus.change(value, versus.floor(metric_id), unit, card.scheme.direction(metric_id))
        label, alt = metric_name(metric_id, lang), _second_name(metric_id, lang)
        out.append(
            f'<div class="tile" data-metric="{_e(metric_id)}"><div class="v">{_e(_shown(metric_id, value))}</div>'
            f'{delta}<div class="k">{_e(label)} · {_e(alt)}</div></div>'
        )
    return out


def _headline(
    card: Scorecard, people: pl.DataFrame, teams: pl.DataFrame, lang: Lang, previous: Scorecard | None
) -> str:
    versus = _Versus(previous, lang)
    parts = ['<section id="headline">', f"<h2>{_e(text('headline', lang))}</h2>", '<div class="tiles">']
    for key, value, delta in _headline_tiles(card, people, teams, lang, versus):
        parts.append(f'<div class="tile"><div class="v">{value}</div>{delta}<div class="k">{_e(key)}</div></div>')
    parts.append("</div>")
    parts.append(f"<h3>{_e(text('floor_values', lang))}</h3>")
    if _fair_metrics(card):
        parts.append(f'<p class="note">{_e(text("fairness_note", lang))}</p>')
    parts += ['<div class="tiles small">', *_floor_tiles(card, lang, versus), "</div>"]
    ranked = people.filter(pl.col("rank").is_not_null())
    parts.append(_grade_distribution(card, ranked, people.height - ranked.height, lang))
    parts.append("</section>")
    return "\n".join(parts)


def _fair_metrics(card: Scorecard) -> list[str]:
    """The metrics scored on a fair value (their raw value is shown beside it)."""
    return [m for m in card.scheme.metrics if f"{m}_raw" in card.collectors.columns]


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
    out.append(_chart("grades", width, height, text("grade_distribution", lang), 13))
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
    out.append(CHART_END)
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
    out = [_chart(css, width, height, title, 11)]
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
    out.append(CHART_END)
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
            label_of=lambda r: _who(r) + (f" · {text('provisional', lang)}" if r.get("provisional") else ""),
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
        _chart("movement", width, height, text("movement_title", lang), 12),
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
    out.append(CHART_END)
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
    out = [_chart("heatmap", width, height, text("heatmap", lang), 11)]
    for col, (metric_id, header) in enumerate(zip(metric_ids, headers, strict=True)):
        x = label_w + cell_w * col + cell_w / 2
        tip = " · ".join(dict.fromkeys([metric_id, _second_name(metric_id, lang)]))
        out.append(
            f'<text class="hm-head" data-metric="{_e(metric_id)}" x="{_n(x)}" y="{_n(head_h - 6)}" font-size="12" '
            f'transform="rotate(-45 {_n(x)} {_n(head_h - 6)})"><title>{_e(tip)}</title>'
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
    out.append(CHART_END)
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


def _provisional_mark(row: dict[str, Any], lang: Lang) -> str:
    """A badge for a collector whose fair value rests on too little volume."""
    if not row.get("provisional"):
        return ""
    return f'<span class="prov" title="{_e(text("provisional_note", lang))}">{_e(text("provisional", lang))}</span>'


def _table_head(frame: pl.DataFrame, metric_ids: list[str], fair: set[str], level: str, lang: Lang) -> str:
    compared = "movement" in frame.columns
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
    if "bonus" in frame.columns:
        head.append(f'<th data-col="bonus">{_e(text("bonus", lang))}</th>')
    for metric_id in metric_ids:
        name = metric_name(metric_id, lang)
        if metric_id in fair:
            name = f"{name} ({text('fair_value', lang)})"
        both = _bilingual(name, _second_name(metric_id, lang))
        head.append(f'<th data-metric="{_e(metric_id)}">{both}</th>')
    head.append(f'<th class="t">{_e(text("note", lang))}</th>')
    return "".join(head)


def _table_row(row: dict[str, Any], metric_ids: list[str], fair: set[str], level: str, lang: Lang) -> str:
    compared = "movement" in row
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
        cells += [
            f'<td class="t">{who}{_provisional_mark(row, lang)}</td>',
            f'<td class="t">{_e(row.get("team_id") or "—")}</td>',
        ]
    else:
        count = row.get("member_count")
        cells += [f'<td class="t">{_e(row["team_id"])}</td>', f"<td>{'—' if count is None else count}</td>"]
    cells.append(f"<td>{_e(_score_text(row.get('score')))}</td>")
    if compared:
        cells.append(f"<td>{_e(_signed(row.get('score_change')))}</td>")
    cells.append(f'<td class="t">{_e(row.get("grade") or "—")}</td>')
    if "bonus" in row:
        cells.append(f"<td>{'' if gone else _e(_money(row.get('bonus')))}</td>")
    for metric_id in metric_ids:
        if gone:
            cells.append("<td></td>")
            continue
        points = _finite(row.get(f"{metric_id}_score"))
        raw = ""
        if metric_id in fair and f"{metric_id}_raw" in row:
            raw = f"<small>{_e(text('raw_value', lang))} {_e(_shown(metric_id, row.get(f'{metric_id}_raw')))}</small>"
        cells.append(
            f"<td>{_e(_shown(metric_id, row.get(metric_id)))}{raw}"
            f"<small>{'—' if points is None else f'{points:.1f}'}</small></td>"
        )
    reason = note_text(row["ineligible_reason"], lang) if row.get("ineligible_reason") else None
    note = "; ".join(str(n) for n in (reason, row.get("gates")) if n)
    if gone and row.get("previous_rank") is not None:
        note = f"{text('was_rank', lang)} {row['previous_rank']}"
    cells.append(f'<td class="t note">{_e(note)}</td>')
    key = row["collector_id" if level == "collector" else "team_id"]
    return f'<tr{cls} data-key="{_e(key)}">{"".join(cells)}</tr>'


def _table(card: Scorecard, frame: pl.DataFrame, level: str, lang: Lang, title_key: str) -> str:
    metric_ids = list(card.scheme.metrics)
    fair = set(_fair_metrics(card)) if level == "collector" else set()
    notes = [f"{text('value', lang)} / <small>{text('points', lang)}</small> 0–100"]
    if fair:
        notes.append(_e(text("fairness_note", lang)))
    if "provisional" in frame.columns and frame["provisional"].any():
        notes.append(f"{_provisional_mark({'provisional': True}, lang)} {_e(text('provisional_note', lang))}")
    section_id = "scorecard" if level == "collector" else "team-scorecard"
    return "\n".join(
        [
            f'<section id="{section_id}">',
            f"<h2>{_e(text(title_key, lang))}</h2>",
            *(f'<p class="note">{note}</p>' for note in notes),
            '<div class="scroll"><table>',
            f"<thead><tr>{_table_head(frame, metric_ids, fair, level, lang)}</tr></thead>",
            "<tbody>",
            *(_table_row(row, metric_ids, fair, level, lang) for row in frame.iter_rows(named=True)),
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
    heading = title or card.scheme.name
    subtitle = _period_words(card.month, language)
    if compared:
        subtitle += f" · {text('compared_with', language)} {period_title(previous_month)}"
    subtitle += f" · {text('scheme', language)}: {card.scheme.name}"
    css = CSS % {"font": FONT_STACK, "up": UP, "down": DOWN}
    doc_title = f"{text('report_title', language)} {period_title(card.month)} · {heading}"
    sections = [
        _headline(card, people, teams, language, previous),
        _ranking(card, people, language, compared),
        _teams(card, teams, language, compared),
    ]
    if compared:
        sections.append(_movement(people, language, period_title(previous_month)))
    sections += [
        _heatmap(card, people, language),
        _table(card, people, "collector", language, "scorecard"),
        _table(card, teams, "team", language, "team_scorecard"),
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
