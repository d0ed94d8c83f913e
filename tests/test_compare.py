"""Month over month: previous score and rank, the change and the movement, keyed by id.

The hand-made pair (previous → current), two collectors share the name 王伟:

    id  name  previous        current          movement
    P1  Pat   1  (90.0)       4  (70.0)        ▼3
    A   王伟  2  (80.0)       2  (75.0)        =
    B   Bo    3  (70.0)       1  (85.0)        ▲2
    C   王伟  4  (60.0)       5  (65.0)        ▼1
    E   Eve   5  (50.0)       —  (30.0, ineligible)   —
    L   Lu    6  (40.0)       absent           left   (appended)
    D   Di    absent          3  (72.0)        new
    N   Ned   — (ineligible)  6  (20.0)        new
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme, score
from collector_kpi.compare import compare, metric_deltas, movement_text
from collector_kpi.scoring import Scorecard

ROOT = Path(__file__).resolve().parents[1]


def frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "rank": pl.Int64,
            "collector_id": pl.String,
            "collector_name": pl.String,
            "team_id": pl.String,
            "score": pl.Float64,
            "eligible": pl.Boolean,
        },
        orient="row",
    )


PREVIOUS = frame(
    [
        (1, "P1", "Pat", "T1", 90.0, True),
        (2, "A", "王伟", "T1", 80.0, True),
        (3, "B", "Bo", "T2", 70.0, True),
        (4, "C", "王伟", "T2", 60.0, True),
        (5, "E", "Eve", "T1", 50.0, True),
        (6, "L", "Lu", "T2", 40.0, True),
        (None, "N", "Ned", "T2", 10.0, False),
    ]
)
CURRENT = frame(
    [
        (1, "B", "Bo", "T2", 85.0, True),
        (2, "A", "王伟", "T1", 75.0, True),
        (3, "D", "Di", "T1", 72.0, True),
        (4, "P1", "Pat", "T1", 70.0, True),
        (5, "C", "王伟", "T2", 65.0, True),
        (6, "N", "Ned", "T2", 20.0, True),
        (None, "E", "Eve", "T1", 30.0, False),
    ]
)


def by_id(result: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["collector_id"]: row for row in result.iter_rows(named=True)}


def test_hand_made_movements() -> None:
    result = compare(CURRENT, PREVIOUS, "collector")
    rows = by_id(result)
    assert {k: r["movement"] for k, r in rows.items()} == {
        "B": "▲2",
        "A": "=",
        "D": "new",
        "P1": "▼3",
        "C": "▼1",
        "N": "new",
        "E": "—",
        "L": "left",
    }
    assert rows["B"]["rank_change"] == 2
    assert rows["P1"]["rank_change"] == -3
    assert rows["A"]["rank_change"] == 0
    assert rows["D"]["rank_change"] is None and rows["D"]["previous_rank"] is None
    assert rows["N"]["previous_rank"] is None and rows["N"]["previous_score"] == 10.0
    assert rows["B"]["score_change"] == pytest.approx(15.0)
    assert rows["P1"]["score_change"] == pytest.approx(-20.0)
    assert rows["E"]["score_change"] == pytest.approx(-20.0) and rows["E"]["previous_rank"] == 5
    assert rows["D"]["score_change"] is None


def test_same_name_is_matched_by_id_not_name() -> None:
    rows = by_id(compare(CURRENT, PREVIOUS, "collector"))
    # Both are 王伟: A was 2nd and is 2nd; C was 4th and is 5th.
    assert (rows["A"]["previous_rank"], rows["A"]["previous_score"]) == (2, 80.0)
    assert (rows["C"]["previous_rank"], rows["C"]["previous_score"]) == (4, 60.0)


def test_current_order_kept_and_left_rows_appended() -> None:
    result = compare(CURRENT, PREVIOUS, "collector")
    assert result["collector_id"].to_list() == ["B", "A", "D", "P1", "C", "N", "E", "L"]
    left = result.row(-1, named=True)
    assert left["movement"] == "left"
    assert (left["collector_name"], left["team_id"]) == ("Lu", "T2")
    assert (left["previous_rank"], left["previous_score"]) == (6, 40.0)
    assert left["rank"] is None and left["score"] is None and left["eligible"] is None
    assert result.columns == [
        *CURRENT.columns,
        "previous_score",
        "previous_rank",
        "score_change",
        "rank_change",
        "movement",
    ]


def test_team_level_keyed_by_team_id() -> None:
    schema = {"rank": pl.Int64, "team_id": pl.String, "member_count": pl.UInt32, "score": pl.Float64}
    before = pl.DataFrame([(1, "T1", 3, 60.0), (2, "T2", 4, 50.0), (3, "T3", 2, 40.0)], schema=schema, orient="row")
    now = pl.DataFrame([(1, "T2", 4, 55.0), (2, "T1", 3, 52.0), (3, "T4", 1, 30.0)], schema=schema, orient="row")
    rows = {r["team_id"]: r for r in compare(now, before, "team").iter_rows(named=True)}
    assert {k: r["movement"] for k, r in rows.items()} == {"T2": "▲1", "T1": "▼1", "T4": "new", "T3": "left"}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate collector_id"):
        compare(pl.concat([CURRENT, CURRENT.head(1)]), PREVIOUS, "collector")
    with pytest.raises(ValueError, match="unknown level"):
        compare(CURRENT, PREVIOUS, "floor")
    with pytest.raises(ValueError, match="already has"):
        compare(compare(CURRENT, PREVIOUS), PREVIOUS)


def test_movement_text() -> None:
    assert movement_text(1, 4) == "▲3"
    assert movement_text(6, 4) == "▼2"
    assert movement_text(2, 2) == "="
    assert movement_text(2, None) == "new"
    assert movement_text(None, 3) == "—"


def test_metric_deltas() -> None:
    now = {"recovery_rate": 0.25, "recovery_rate_score": 57.0, "call_quality": None, "call_quality_score": None}
    before = {"recovery_rate": 0.20, "recovery_rate_score": 43.0, "call_quality": 80.0, "call_quality_score": 57.0}
    deltas = metric_deltas(now, before, ["recovery_rate", "call_quality"])
    assert deltas["metric"].to_list() == ["recovery_rate", "call_quality"]
    first, second = deltas.iter_rows(named=True)
    assert first["value_change"] == pytest.approx(0.05)
    assert first["points_change"] == pytest.approx(14.0)
    assert second["value"] is None and second["previous_value"] == 80.0 and second["value_change"] is None
    new = metric_deltas(now, None, ["recovery_rate"]).row(0, named=True)
    assert new["previous_value"] is None and new["value_change"] is None and new["value"] == 0.25


# ------------------------------------------------------------------ the bundled sample months


@cache
def sample(month: str) -> Scorecard:
    scheme = load_scheme(ROOT / "configs" / "default.yaml")
    return score(scheme, load_month(scheme, month))


def test_sample_march_against_february_checked_by_hand() -> None:
    march, february = sample("2025-03").table("collector"), sample("2025-02").table("collector")
    rows = by_id(compare(march, february, "collector"))
    # Read off the two scorecards (kpi score --month 2025-03 / 2025-02, default scheme):
    # 周杰 C009 was 17th in February and is 4th in March; 王伟 C021 fell from 4th to 12th while
    # the other 王伟, C004, went from 5th to 7th; 李娜 C001 stays first; 孙婷 C012 (9th) has
    # no case in March so is not ranked; 程琳 C030 joined in March with 8 cases, not ranked.
    assert rows["C009"]["movement"] == "▲13"
    assert rows["C021"]["movement"] == "▼8"
    assert rows["C004"]["movement"] == "▼2"
    assert rows["C001"]["movement"] == "="
    assert rows["C012"]["movement"] == "—" and rows["C012"]["previous_rank"] == 9
    assert rows["C030"]["movement"] == "—" and rows["C030"]["previous_rank"] is None
    assert "left" not in {r["movement"] for r in rows.values()}


def test_sample_every_row_against_dict_lookups() -> None:
    march, february = sample("2025-03").table("collector"), sample("2025-02").table("collector")
    before_rank = dict(zip(february["collector_id"], february["rank"], strict=True))
    before_score = dict(zip(february["collector_id"], february["score"], strict=True))
    result = compare(march, february, "collector")
    assert result.height == march.height
    for row in result.iter_rows(named=True):
        cid, rank = row["collector_id"], row["rank"]
        was = before_rank.get(cid)
        if rank is None:
            expected = "—"
        elif was is None:
            expected = "new"
        elif was > rank:
            expected = f"▲{was - rank}"
        elif was < rank:
            expected = f"▼{rank - was}"
        else:
            expected = "="
        assert row["movement"] == expected, cid
        assert row["previous_score"] == before_score.get(cid)
        if cid in before_score and row["score"] is not None:
            assert row["score_change"] == row["score"] - before_score[cid]


def test_sample_february_against_march_has_left_and_new() -> None:
    # Backwards: C030 exists only in March, so it "left"; C012 and C022 were not ranked in
    # March, so being ranked in February counts as "new".
    february, march = sample("2025-02").table("collector"), sample("2025-03").table("collector")
    result = compare(february, march, "collector")
    rows = by_id(result)
    assert result.row(-1, named=True)["collector_id"] == "C030"
    assert rows["C030"]["movement"] == "left" and rows["C030"]["collector_name"] == "程琳"
    assert rows["C012"]["movement"] == "new"
    assert rows["C022"]["movement"] == "new"
    assert rows["C009"]["movement"] == "▼13"


def test_sample_teams() -> None:
    result = compare(sample("2025-03").table("team"), sample("2025-02").table("team"), "team")
    assert result["movement"].to_list() == ["=", "=", "=", "="]
    assert result["team_id"].to_list() == ["T01", "T02", "T03", "T04"]
