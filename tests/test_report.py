"""The HTML report: one self-contained, deterministic file with the expected charts."""

from __future__ import annotations

import dataclasses
import re
import time
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme, score
from collector_kpi.report import render_html, score_colour
from collector_kpi.scoring import Scorecard
from tests.test_fair_scheme import CASES as FAIR_CASES
from tests.test_fair_scheme import SCHEME as FAIR_SCHEME

ROOT = Path(__file__).resolve().parents[1]


@cache
def sample(month: str) -> Scorecard:
    scheme = load_scheme(ROOT / "configs" / "default.yaml")
    return score(scheme, load_month(scheme, month))


def ranked(card: Scorecard, level: str = "collector") -> pl.DataFrame:
    return card.table(level).filter(pl.col("rank").is_not_null())


def test_sections_and_charts_with_previous_month() -> None:
    card, before = sample("2025-03"), sample("2025-02")
    page = render_html(card, before, lang="en")
    people = ranked(card)
    metrics = list(card.scheme.metrics)
    for section in ("headline", "ranking", "teams", "movement", "heatmap", "scorecard", "team-scorecard"):
        assert f'<section id="{section}">' in page
    # grade distribution, ranking, teams, movement, heatmap and its colour scale
    assert page.count("<svg") == 6
    assert page.count('class="rank-bar"') == people.height == 27
    assert page.count('class="team-bar"') == ranked(card, "team").height == 4
    assert page.count('class="hm-cell"') == people.height * len(metrics) == 27 * 11
    # a movement bar for every ranked collector whose rank changed (by hand from both months)
    was = dict(zip(before.table()["collector_id"], before.table()["rank"], strict=True))
    changed = [r for r in people.iter_rows(named=True) if was.get(r["collector_id"]) not in (None, r["rank"])]
    assert page.count('class="move-bar"') == len(changed)
    # every collector is a row of the full table, keyed by id
    for cid in card.table()["collector_id"]:
        assert f'<tr data-key="{cid}"' in page or f'<tr class="out" data-key="{cid}"' in page
    assert "▲13" in page and "▼8" in page


def test_without_previous_month_there_is_no_movement_section() -> None:
    page = render_html(sample("2025-03"))
    assert '<section id="movement">' not in page
    assert page.count("<svg") == 5
    assert 'class="prev"' not in page and "▲" not in page


def test_self_contained_nothing_fetched() -> None:
    page = render_html(sample("2025-03"), sample("2025-02"))
    lowered = page.lower()
    for needle in ("http://", "https://", "//cdn", "<script", "<link", "@import", "<img", "<iframe", " src=", "href="):
        assert needle not in lowered, needle
    # the only url() is the heat scale's gradient, defined in the page itself
    assert re.findall(r"url\(([^)]*)\)", page) == ["#heat-scale"]
    assert '<meta charset="utf-8">' in page
    assert page.startswith("<!DOCTYPE html>")


def test_deterministic() -> None:
    card, before = sample("2025-03"), sample("2025-02")
    assert render_html(card, before, lang="zh") == render_html(card, before, lang="zh")
    assert render_html(card) == render_html(card)
    assert "Generated" not in render_html(card)
    assert "Generated 2025-04-01 08:00" in render_html(card, generated_at="2025-04-01 08:00")


def test_text_is_escaped() -> None:
    card = sample("2025-03")
    evil = '<b>&"李</b>'
    collectors = card.collectors.with_columns(
        collector_name=pl.when(pl.col("collector_id") == "C001").then(pl.lit(evil)).otherwise("collector_name")
    )
    page = render_html(dataclasses.replace(card, collectors=collectors), title="<i>A&B</i>")
    assert "<b>" not in page and "<i>" not in page
    assert "C001 &lt;b&gt;&amp;&quot;李&lt;/b&gt;" in page
    assert "&lt;i&gt;A&amp;B&lt;/i&gt;" in page


def test_chinese_labels_and_names_are_text() -> None:
    card = sample("2025-03")
    zh = render_html(card, lang="zh")
    assert '<html lang="zh-CN">' in zh
    for label in ("回款率", "催收员考核报告", "指标得分热力图", "全场回款率"):
        assert label in zh
    en = render_html(card, lang="en")
    assert "Recovery rate" in en and "回款率" in en  # English pages keep the Chinese metric names too
    # names are SVG text the reader's fonts draw, never outlines
    assert re.search(r"<text[^>]*>1  C001 李娜</text>", en)
    assert "<path" not in en
    assert '"Noto Sans CJK SC"' in en and '"Microsoft YaHei"' in en and '"PingFang SC"' in en


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        render_html(sample("2025-03"), lang="fr")


def test_nobody_ranked() -> None:
    card = sample("2025-03")
    collectors = card.collectors.with_columns(rank=pl.lit(None, dtype=pl.Int64), eligible=pl.lit(False))
    page = render_html(dataclasses.replace(card, collectors=collectors))
    assert page.count('class="rank-bar"') == 0 and page.count('class="hm-cell"') == 0
    assert "No collector is ranked." in page


def test_fast_and_small() -> None:
    card, before = sample("2025-03"), sample("2025-02")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        page = render_html(card, before)
        best = min(best, time.perf_counter() - start)
    assert best < 0.1, f"{best * 1000:.0f} ms"
    assert len(page.encode("utf-8")) < 200_000


def test_score_colour_scale() -> None:
    assert score_colour(0) == "#d73027"
    assert score_colour(50) == "#ffffbf"
    assert score_colour(100) == "#4575b4"
    assert score_colour(150) == score_colour(100) and score_colour(-5) == score_colour(0)
    assert score_colour(None) == "#eef0f2"


def test_labels_language_from_the_locale() -> None:
    from collector_kpi.labels import column_label, default_lang, movement_label, resolve_lang

    assert default_lang({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert default_lang({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"  # LC_ALL wins
    assert default_lang({"LC_ALL": "", "LANG": "zh_TW.UTF-8"}) == "zh"
    assert default_lang({}) == "en"
    assert resolve_lang(None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert resolve_lang("EN", {"LANG": "zh_CN.UTF-8"}) == "en"
    assert column_label("recovery_rate_score", "zh") == "回款率 得分"
    assert column_label("recovery_rate", "en") == "Recovery rate"
    assert column_label("rank", "zh") == "排名"
    assert column_label("something_else", "zh") == "something_else"
    assert movement_label("left", "zh") == "已离开" and movement_label("▲3", "zh") == "▲3"


def test_the_report_file_must_be_named_html(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from collector_kpi.cli import app

    result = CliRunner().invoke(app, ["report", "-m", "2025-03", "-o", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 2
    assert "the report is an HTML page; name it .html" in result.stderr
    assert not (tmp_path / "r.xlsx").exists()


def row_of(page: str, key: str) -> str:
    """The scorecard table's row of one collector or team."""
    found = re.search(rf'<tr(?: class="\w+")? data-key="{key}">(.*?)</tr>', page)
    assert found is not None, key
    return found.group(1)


def tile(page: str, label: str) -> str:
    """One headline tile: its value, change and label."""
    found = re.search(
        rf'<div class="tile"[^>]*><div class="v">((?:(?!<div class="tile").)*?)<div class="k">{label}', page
    )
    assert found is not None, label
    return found.group(1)


def test_bonus_column_in_yuan() -> None:
    card = sample("2025-03")
    page = render_html(card, lang="en")
    assert '<th data-col="bonus">Bonus</th>' in page
    for row in card.table().iter_rows(named=True):
        bonus = row["bonus"]
        shown = "—" if bonus is None else f"¥{bonus:,.2f}"
        assert f"<td>{shown}</td>" in row_of(page, row["collector_id"])
    # the floor's recovered amount is money too
    recovered = card.floor["recovered_cents"] / 100
    assert f"¥{recovered:,.2f}" in tile(page, "Recovered")


def test_headline_tiles_show_the_change_against_the_compared_month() -> None:
    card, before = sample("2025-03"), sample("2025-02")
    page = render_html(card, before, lang="en")
    rate_now, rate_before = card.floor["recovery_rate"], before.floor["recovery_rate"]
    change = (rate_now - rate_before) * 100
    shown = tile(page, "Floor recovery rate")
    assert f"{'▲' if change > 0 else '▼'} {abs(change):.1f} pp vs 2025-02" in shown
    assert ('class="d up"' if change > 0 else 'class="d down"') in shown
    # handling days: lower is better, so a rise is drawn as bad news
    days_now, days_before = card.floor["handling_days"], before.floor["handling_days"]
    days = page[page.index('<div class="tile" data-metric="handling_days"') :][:400]
    assert f"{'▲' if days_now > days_before else '▼'} {abs(days_now - days_before):.1f} vs 2025-02" in days
    assert ('class="d down"' if days_now > days_before else 'class="d up"') in days
    ranked_now = card.table().filter(pl.col("rank").is_not_null()).height
    ranked_before = before.table().filter(pl.col("rank").is_not_null()).height
    moved = ranked_now - ranked_before
    assert f"{'▲' if moved > 0 else '▼' if moved else '='} {abs(moved)} vs 2025-02" in tile(page, "Collectors ranked")
    # without a comparison, no change is shown
    assert "vs 2025-02" not in render_html(card, lang="en")


def test_a_longer_period_is_titled_from_first_to_last_month() -> None:
    from collector_kpi.report import period_title

    assert period_title("2025-02..2025-03") == "2025-02 – 2025-03"
    assert period_title("2025Q1") == "2025Q1 (2025-01 – 2025-03)"
    assert period_title("2025-03") == "2025-03"
    scheme = load_scheme(ROOT / "configs" / "default.yaml")
    card = score(scheme, load_month(scheme, "2025-02..2025-03"))
    page = render_html(card, lang="en")
    assert "Period 2025-02 – 2025-03" in page and "2025-02..2025-03" not in page
    assert "月份 2025-03" in render_html(sample("2025-03"), lang="zh")


def test_fair_and_raw_values_and_the_provisional_mark(tmp_path: Path) -> None:
    # recovery_rate alone, shrunk toward the floor; below 50 of volume a collector is provisional
    shrink = "    shrink: {k: 7, min_volume: 50, provisional: rank}"
    (tmp_path / "cases.csv").write_text(FAIR_CASES, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(FAIR_SCHEME.format(extra=shrink), encoding="utf-8")
    scheme = load_scheme(tmp_path / "s.yaml")
    card = score(scheme, load_month(scheme, "2025-03"))
    page = render_html(card, lang="en")
    assert "Recovery rate (fair)" in page
    assert "the raw value is shown below each" in page
    fair = {r["collector_id"]: r["recovery_rate"] for r in card.table().iter_rows(named=True)}
    # raw: A 40 of 100, B 24 of 90, C 6 of 10; the fair (shrunk) value is the one scored
    for key, raw in (("A", "40.0%"), ("B", "26.7%"), ("C", "60.0%")):
        row = row_of(page, key)
        assert f"<small>raw {raw}</small>" in row
        assert f"<td>{fair[key] * 100:.1f}%<small>" in row
    # C's 10 of volume is below min_volume 50: provisional, in the table and the ranking
    assert 'class="prov"' in row_of(page, "C") and 'class="prov"' not in row_of(page, "A")
    assert re.search(r"<text[^>]*>\d  C · Provisional</text>", page)
    # a scheme without fairness shows neither
    plain = render_html(sample("2025-03"), lang="en")
    assert "(fair)" not in plain and 'class="prov"' not in plain and "<small>raw " not in plain
