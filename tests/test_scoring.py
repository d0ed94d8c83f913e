"""Scoring methods, weights, missing values, eligibility, gates, grades and ranks.

Values come from the fixture in conftest.py (A, B, C eligible with ≥ 3 cases; D has none):
  recovery_rate      A 0.62      B 1/7        C 0.2
  call_connect_rate  A 2/3       B 1/2        C 0
  waiver_rate        A 400/3500  B 2/3        C 0
  recovered_amount   A 3100      B 1000       C 1000
  handling_days      A 19        B 73         C 10
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme, score
from collector_kpi.scoring import Scorecard, teams_of
from tests.conftest import write_scheme

MIXED = """\
missing: reweight
eligibility: {min_cases: 3}
metrics:
  recovery_rate: {weight: 40, score: {method: range, floor: 0.1, ceiling: 0.5}}
  call_connect_rate: {weight: 30, score: {method: percentile}}
  waiver_rate: {weight: 10, score: {method: band, low: 0.1, high: 0.3, falloff: 0.2}}
  recovered_amount: {weight: 20, score: {method: target, target: 2000, cap: 1.5}}
gates:
  - {metric: violations, above: 0, action: cap_grade, grade: D}
"""


def run(root: Path, body: str) -> Scorecard:
    scheme = load_scheme(write_scheme(root, body))
    return score(scheme, load_month(scheme, "2025-03"))


def rows(card: Scorecard, level: str = "collector") -> dict[str, dict]:  # type: ignore[type-arg]
    key = "collector_id" if level == "collector" else "team_id"
    return {r[key]: r for r in card.table(level).iter_rows(named=True)}


def test_each_method_scores_as_computed_by_hand(tiny: Path) -> None:
    r = rows(run(tiny, MIXED))
    # range: (v - 0.1) / 0.4, clipped
    assert r["A"]["recovery_rate_score"] == 100
    assert r["B"]["recovery_rate_score"] == pytest.approx((1 / 7 - 0.1) / 0.4 * 100)
    assert r["C"]["recovery_rate_score"] == pytest.approx(25)
    # percentile among the 3 eligible: share of the 2 others doing worse
    assert [r[c]["call_connect_rate_score"] for c in "ABC"] == [100, 50, 0]
    # band [0.1, 0.3], falling to 0 at 0.2 outside
    assert r["A"]["waiver_rate_score"] == 100
    assert r["B"]["waiver_rate_score"] == 0
    assert r["C"]["waiver_rate_score"] == pytest.approx(50)
    # target 2000 capped at 1.5: 100 · min(v / 2000, 1.5) / 1.5
    assert r["A"]["recovered_amount_score"] == 100
    assert r["B"]["recovered_amount_score"] == pytest.approx(0.5 / 1.5 * 100)


def test_weighted_total_rank_and_grades(tiny: Path) -> None:
    r = rows(run(tiny, MIXED))
    b_total = 0.4 * (1 / 7 - 0.1) / 0.4 * 100 + 0.3 * 50 + 0.1 * 0 + 0.2 * (0.5 / 1.5 * 100)
    c_total = 0.4 * 25 + 0.3 * 0 + 0.1 * 50 + 0.2 * (0.5 / 1.5 * 100)
    assert r["A"]["score"] == pytest.approx(100)
    assert r["B"]["score"] == pytest.approx(b_total)  # 25.95
    assert r["C"]["score"] == pytest.approx(c_total)  # 21.67
    assert [r[c]["rank"] for c in "ABC"] == [1, 2, 3]
    assert r["A"]["grade"] == "A"
    assert r["C"]["grade"] == "C"
    # B would be C on points, but a violation caps the grade at D
    assert r["B"]["grade"] == "D"
    assert r["B"]["gates"] == "violations > 0"


def test_roster_collector_without_cases_is_listed_not_ranked(tiny: Path) -> None:
    card = run(tiny, MIXED)
    table = card.table("collector")
    assert table["collector_id"].to_list() == ["A", "B", "C", "D"]
    d = rows(card)["D"]
    assert d["eligible"] is False
    assert d["rank"] is None
    assert d["ineligible_reason"] == "no cases in the month"


def test_collector_without_cases_is_not_ranked_even_without_min_cases(tiny: Path) -> None:
    # E has a review only; D is on the roster only. Neither holds a case in the month, so
    # neither is ranked or paid, though E's knowledge score alone would put E first.
    reviews = tiny / "2025-03" / "reviews.csv"
    reviews.write_text(reviews.read_text(encoding="utf-8") + "E,2025-03,,99,,0\n", encoding="utf-8")
    body = """\
    missing: reweight
    metrics:
      recovery_rate: {weight: 50, score: {method: range, floor: 0.1, ceiling: 0.5}}
      knowledge: {weight: 50, score: {method: range, floor: 0, ceiling: 100}}
    """
    r = rows(run(tiny, body))
    assert [r[c]["rank"] for c in "ABC"] == [1, 2, 3]
    for collector in "DE":
        assert r[collector]["rank"] is None
        assert r[collector]["eligible"] is False
        assert r[collector]["ineligible_reason"] == "no cases in the month"
    assert r["E"]["score"] == pytest.approx(99)  # still shown, for the record


def test_a_scheme_without_case_metrics_ranks_on_contacts(tiny: Path) -> None:
    body = """\
    missing: reweight
    metrics:
      call_connect_rate: {weight: 100, score: {method: range, floor: 0, ceiling: 1}}
    """
    r = rows(run(tiny, body))
    # A 2/3, B 1/2, C 0 of the month's calls; D (on the roster) made no contact: listed, not ranked.
    assert [r[c]["rank"] for c in "ABC"] == [1, 2, 3]
    assert (r["D"]["rank"], r["D"]["ineligible_reason"]) == (None, "no contacts in the month")
    assert r["A"]["score"] == pytest.approx(200 / 3)


def test_min_cases_removes_collector_from_percentile_peers(tiny: Path) -> None:
    r = rows(run(tiny, MIXED.replace("min_cases: 3", "min_cases: 4")))
    assert r["B"]["eligible"] is False
    assert r["B"]["ineligible_reason"] == "3 cases < min_cases 4"
    assert r["B"]["rank"] is None
    # Peers are A and C only; B is placed against them: above C, below A → 50
    assert r["A"]["call_connect_rate_score"] == 100
    assert r["C"]["call_connect_rate_score"] == 0
    assert r["B"]["call_connect_rate_score"] == 50
    assert [r["A"]["rank"], r["C"]["rank"]] == [1, 2]


def test_ties_are_broken_by_collector_id(tiny: Path) -> None:
    body = """\
    missing: reweight
    metrics:
      case_count: {weight: 100, score: {method: range, floor: 0, ceiling: 3}}
    """
    r = rows(run(tiny, body))
    assert [r[c]["score"] for c in "ABC"] == [100, 100, 100]
    assert [r[c]["rank"] for c in "ABC"] == [1, 2, 3]


def test_missing_value_reweights_or_counts_zero(tiny: Path) -> None:
    body = """\
    missing: {missing}
    metrics:
      recovery_rate: {{weight: 50, score: {{method: range, floor: 0, ceiling: 1}}}}
      ptp_rate: {{weight: 50, score: {{method: range, floor: 0, ceiling: 1}}}}
    """
    # C has no connected call, so no ptp_rate: only recovery_rate (0.2 → 20 points) counts.
    reweighted = rows(run(tiny, body.format(missing="reweight")))
    assert reweighted["C"]["ptp_rate"] is None
    assert reweighted["C"]["ptp_rate_score"] is None
    assert reweighted["C"]["score"] == pytest.approx(20)
    zero = rows(run(tiny, body.format(missing="zero")))
    assert zero["C"]["score"] == pytest.approx(10)
    # A has both: (62 + 50) / 2 either way
    assert zero["A"]["score"] == pytest.approx(56) == reweighted["A"]["score"]


def test_lower_is_better_target_and_range(tiny: Path) -> None:
    body = """\
    missing: reweight
    metrics:
      handling_days: {weight: 50, score: {method: target, target: 20}}
      cycle_days: {weight: 50, score: {method: range, floor: 40, ceiling: 10}}
    """
    r = rows(run(tiny, body))
    assert r["A"]["handling_days_score"] == 100  # 19 days beats the 20-day target
    assert r["B"]["handling_days_score"] == pytest.approx(20 / 73 * 100)
    assert r["B"]["cycle_days_score"] == pytest.approx((40 - 30) / 30 * 100)
    assert r["A"]["cycle_days_score"] == 100  # 9.3 days is better than the 10-day ceiling
    assert r["C"]["cycle_days_score"] == 100  # exactly at the ceiling


def test_gates_zero_score_and_make_ineligible(tiny: Path) -> None:
    zero = MIXED.replace("action: cap_grade, grade: D", "action: zero_score")
    r = rows(run(tiny, zero))
    assert r["B"]["score"] == 0
    assert r["B"]["grade"] == "D"
    assert r["B"]["rank"] == 3
    out = MIXED.replace("action: cap_grade, grade: D", "action: ineligible")
    r = rows(run(tiny, out))
    assert r["B"]["eligible"] is False
    assert r["B"]["ineligible_reason"] == "gate: violations > 0"
    assert [r["A"]["rank"], r["C"]["rank"]] == [1, 2]


def test_team_scorecards_pooled_and_mean(tiny: Path) -> None:
    body = """\
    missing: reweight
    eligibility: {min_cases: 3}
    metrics:
      recovery_rate: {weight: 100, score: {method: range, floor: 0, ceiling: 0.5}}
    team: {method: %s}
    """
    pooled = rows(run(tiny, body % "pooled"), "team")
    assert pooled["T1"]["recovery_rate"] == pytest.approx(4100 / 12000)
    assert pooled["T1"]["score"] == pytest.approx(4100 / 12000 / 0.5 * 100)
    assert pooled["T1"]["rank"] == 1
    mean = rows(run(tiny, body % "mean"), "team")
    # T1: mean of A (0.62 → 100) and B (1/7 → 28.57); T2: C alone (0.2 → 40)
    assert mean["T1"]["score"] == pytest.approx((100 + 1 / 7 / 0.5 * 100) / 2)
    assert mean["T2"]["score"] == pytest.approx(40)
    assert mean["T2"]["member_count"] == 2


def test_points_add_up_to_the_score(tiny: Path) -> None:
    card = run(tiny, MIXED)
    metrics = ["recovery_rate", "call_connect_rate", "waiver_rate", "recovered_amount"]
    for row in card.collectors.filter(eligible=True).iter_rows(named=True):
        if row["gates"]:
            continue
        assert sum(row[f"{m}_points"] for m in metrics) == pytest.approx(row["score"])


TWO_TEAMS_CASES = """\
case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount
x1,A,T1,2025-03-01,1000,500
x2,A,T1,2025-03-01,1000,0
x3,A,T2,2025-03-01,2000,2000
y1,B,T2,2025-03-01,1000,100
"""
TWO_TEAMS_CONTACTS = """\
case_id,collector_id,channel,contacted_at,outcome
x3,A,call,2025-03-02 10:00:00,connected
y1,B,call,2025-03-02 10:00:00,no_answer
y1,B,call,2025-03-03 10:00:00,connected
"""


def test_a_collector_in_two_teams_adds_to_each_team_its_own_rows(tmp_path: Path) -> None:
    """A holds x1, x2 in T1 and x3 in T2; B holds y1 in T2. A is shown once, under T1 (two
    cases against one), and each team sums the case rows that carry its team_id."""
    folder = tmp_path / "2025-03"
    folder.mkdir()
    (folder / "cases.csv").write_text(TWO_TEAMS_CASES, encoding="utf-8")
    (folder / "contacts.csv").write_text(TWO_TEAMS_CONTACTS, encoding="utf-8")
    body = """\
    inputs:
      cases: {path: "{month}/cases.csv"}
      contacts: {path: "{month}/contacts.csv"}
    missing: reweight
    metrics:
      recovery_rate: {weight: 40, score: {method: range, floor: 0, ceiling: 1}}
      contact_coverage: {weight: 30, score: {method: range, floor: 0, ceiling: 1}}
      call_connect_rate: {weight: 30, score: {method: range, floor: 0, ceiling: 1}}
    """
    scheme = load_scheme(write_scheme(tmp_path, body, inputs=False))
    card = score(scheme, load_month(scheme, "2025-03"))
    collectors = rows(card)
    assert [(c, r["team_id"]) for c, r in sorted(collectors.items())] == [("A", "T1"), ("B", "T2")]
    assert collectors["A"]["recovery_rate"] == pytest.approx(2500 / 4000)
    assert collectors["A"]["contact_coverage"] == pytest.approx(1 / 3)
    teams = rows(card, "team")
    # T1: x1, x2 → 500 of 2000, neither contacted; its calls: A's one connected call.
    assert teams["T1"]["member_count"] == 1
    assert teams["T1"]["recovery_rate"] == pytest.approx(500 / 2000)
    assert teams["T1"]["contact_coverage"] == 0
    assert teams["T1"]["call_connect_rate"] == 1
    # T2: x3 (A's) and y1 (B's) → 2100 of 3000, both contacted; B's calls: 1 of 2 connected.
    assert teams["T2"]["member_count"] == 1
    assert teams["T2"]["recovery_rate"] == pytest.approx(2100 / 3000)
    assert teams["T2"]["contact_coverage"] == 1
    assert teams["T2"]["call_connect_rate"] == pytest.approx(1 / 2)
    # The floor is the sum of the teams (and of the collectors).
    sums = card.teams.select("case_rows", "recovered_cents", "overdue_cents", "contacted_cases", "calls").sum()
    assert sums.row(0) == (4, 260_000, 500_000, 2, 3)
    assert card.floor["recovery_rate"] == pytest.approx(2600 / 5000)
    assert card.floor["contact_coverage"] == pytest.approx(2 / 4)
    assert [w.type for w in card.warnings] == ["collector-in-several-teams"]


def test_teams_of_sums_case_components_by_row_and_the_others_by_shown_team() -> None:
    collectors = pl.DataFrame(
        {"collector_id": ["A", "B", "E"], "team_id": ["T1", "T2", None], "case_rows": [3, 1, 0], "calls": [4, 2, 5]}
    )
    team_cases = pl.DataFrame({"collector_id": ["A", "A", "B"], "team_id": ["T1", "T3", "T2"], "case_rows": [2, 1, 1]})
    teams = teams_of(collectors, ["case_rows", "calls"], team_cases)
    # T3 holds only a row of A's: listed with its case, no member and no calls
    assert teams.rows() == [("T1", 1, 2, 4), ("T2", 1, 1, 2), ("T3", 0, 1, 0)]
    # without the split (no cases table read) the collectors' own teams
    assert teams_of(collectors, ["calls"], None).rows() == [("T1", 1, 4), ("T2", 1, 2)]
