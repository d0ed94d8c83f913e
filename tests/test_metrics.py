"""Every metric of the catalog against numbers computed by hand (see conftest.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme, score
from collector_kpi.metrics import CATALOG, COMPONENTS, METRICS, Params
from tests.conftest import write_scheme

ALL_METRICS = "".join(
    f"  {m.id}: {{weight: {100 if m.id == 'recovery_rate' else 0}, score: {{method: percentile}}"
    + (", better: lower" if m.better is None else "")
    + "}\n"
    for m in CATALOG
)

# Hand-computed from the fixture in conftest.py.
EXPECTED = {
    "A": {
        "case_count": 4,
        "recovered_amount": 3100.0,
        "target_attainment": 3100 / 5000,
        "recovery_rate": 3100 / 5000,
        "settlement_rate": 2 / 4,
        "settled_amount_rate": 3000 / 5000,
        "success_rate": 3 / 4,
        "team_recovery_rate": 4100 / 12000,
        "call_connect_rate": 2 / 3,
        "sms_reply_rate": 1 / 1,
        "visit_rate": 1 / 1,
        "call_quality": (90 + 70) / 2,
        "handling_days": (18 + 20) / 2,
        "on_time_rate": 2 / 2,
        "cycle_days": (10 + 13 + 5) / 3,
        "waiver_rate": 400 / (3100 + 400),
        "ptp_rate": 1 / 2,
        "contact_coverage": 4 / 4,
        "followup_timeliness": 3 / 5,  # k01 1 h, k02 2 h, k05 0 h on time; k03 30 h, k06 25 h late
        "knowledge": 80.0,
        "teamwork": 90.0,
        "violations": 0,
    },
    "B": {
        "case_count": 3,
        "recovered_amount": 1000.0,
        "target_attainment": 1000 / 2000,
        "recovery_rate": 1000 / 7000,
        "settlement_rate": 1 / 3,
        "settled_amount_rate": 2000 / 7000,
        "success_rate": 1 / 3,
        "team_recovery_rate": 4100 / 12000,
        "call_connect_rate": 1 / 2,
        "sms_reply_rate": None,  # no sms: no value, not 0
        "visit_rate": 0 / 1,
        "call_quality": 75.0,  # no sampled call: the review's rating
        "handling_days": 73.0,
        "on_time_rate": 0 / 1,
        "cycle_days": 30.0,
        "waiver_rate": 2000 / (1000 + 2000),
        "ptp_rate": 1 / 1,
        "contact_coverage": 2 / 3,
        "followup_timeliness": 3 / 3,
        "knowledge": 70.0,
        "teamwork": 60.0,
        "violations": 1,
    },
    "C": {
        "case_count": 5,
        "recovered_amount": 1000.0,
        "target_attainment": 1000 / 1000,
        "recovery_rate": 1000 / 5000,
        "settlement_rate": 1 / 5,
        "settled_amount_rate": 1000 / 5000,
        "success_rate": 1 / 5,
        "team_recovery_rate": 1000 / 5000,
        "call_connect_rate": 0 / 1,  # the February call is outside the month
        "sms_reply_rate": None,
        "visit_rate": None,
        "call_quality": None,  # no sampled call and no review
        "handling_days": 10.0,
        "on_time_rate": 1 / 1,
        "cycle_days": 10.0,
        "waiver_rate": 0 / 1000,
        "ptp_rate": None,  # no connected call
        "contact_coverage": 1 / 5,
        "followup_timeliness": None,  # nothing logged
        "knowledge": None,
        "teamwork": None,
        "violations": 0,
    },
}

EXPECTED_TEAMS = {
    "T1": {
        "case_count": 7,
        "recovered_amount": 4100.0,
        "target_attainment": 4100 / 7000,
        "recovery_rate": 4100 / 12000,
        "settlement_rate": 3 / 7,
        "settled_amount_rate": 5000 / 12000,
        "success_rate": 4 / 7,
        "team_recovery_rate": 4100 / 12000,
        "call_connect_rate": 3 / 5,
        "sms_reply_rate": 1 / 1,
        "visit_rate": 1 / 2,
        "call_quality": 80.0,  # pooled sampled calls: (90 + 70) / 2
        "handling_days": (18 + 20 + 73) / 3,
        "on_time_rate": 2 / 3,
        "cycle_days": (10 + 13 + 5 + 30) / 4,
        "waiver_rate": 2400 / 6500,
        "ptp_rate": 2 / 3,
        "contact_coverage": 6 / 7,
        "followup_timeliness": 6 / 8,
        "knowledge": 75.0,
        "teamwork": 75.0,
        "violations": 1,
    },
    "T2": {
        "case_count": 5,
        "recovered_amount": 1000.0,
        "target_attainment": 1000 / 2000,  # D is on the roster with a target and no cases
        "recovery_rate": 0.2,
    },
}


@pytest.fixture
def card(tiny: Path):  # type: ignore[no-untyped-def]
    scheme = load_scheme(write_scheme(tiny, "missing: reweight\nmetrics:\n" + ALL_METRICS))
    return score(scheme, load_month(scheme, "2025-03"))


def test_every_catalog_metric_is_checked() -> None:
    assert set(EXPECTED["A"]) == set(METRICS)


@pytest.mark.parametrize("collector", ["A", "B", "C"])
def test_collector_values_match_hand_computation(card, collector: str) -> None:  # type: ignore[no-untyped-def]
    row = card.collectors.filter(collector_id=collector).row(0, named=True)
    for metric_id, expected in EXPECTED[collector].items():
        if expected is None:
            assert row[metric_id] is None, metric_id
        else:
            assert row[metric_id] == pytest.approx(expected, rel=1e-12), metric_id


@pytest.mark.parametrize("team", ["T1", "T2"])
def test_team_values_are_pooled_sums(card, team: str) -> None:  # type: ignore[no-untyped-def]
    row = card.teams.filter(team_id=team).row(0, named=True)
    for metric_id, expected in EXPECTED_TEAMS[team].items():
        assert row[metric_id] == pytest.approx(expected, rel=1e-12), metric_id


def test_floor_values(card) -> None:  # type: ignore[no-untyped-def]
    assert card.floor["recovery_rate"] == pytest.approx(5100 / 17000)
    assert card.floor["case_count"] == 12
    assert card.floor["call_connect_rate"] == pytest.approx(3 / 6)


def test_roster_only_collector_has_no_case_values(card) -> None:  # type: ignore[no-untyped-def]
    row = card.collectors.filter(collector_id="D").row(0, named=True)
    assert row["case_count"] == 0
    assert row["recovery_rate"] is None
    assert row["team_recovery_rate"] == pytest.approx(0.2)


def test_money_is_exact_to_the_cent(tiny: Path) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    text = cases.read_text().replace("a1,A,Ann,T1,2025-03-01,1000,500,", "a1,A,Ann,T1,2025-03-01,1000,500.1,")
    text = text.replace("a4,A,Ann,T1,2025-03-01,1000,600,", "a4,A,Ann,T1,2025-03-01,1000,600.2,")
    cases.write_text(text)
    scheme = load_scheme(write_scheme(tiny, "missing: reweight\nmetrics:\n" + ALL_METRICS))
    card = score(scheme, load_month(scheme, "2025-03"))
    # 500.1 + 2000 + 0 + 600.2 is 3100.3 exactly, not 3100.2999999999997
    assert card.collectors.filter(collector_id="A")["recovered_amount"].item() == 3100.3


def test_a_missing_value_never_counts_as_a_flag() -> None:
    # Each contact-log flag (and a sum under a condition) over three rows: true, false, and
    # one with its inputs missing.
    params = Params(date(2025, 3, 1), date(2025, 3, 31))
    at = datetime(2025, 3, 5, 10)
    rows = pl.DataFrame(
        {
            "collector_id": ["A", "A", None],
            "channel": ["call", "sms", None],
            "outcome": ["connected", "failed", None],
            "ptp": [True, False, None],
            "qa_score": [90.0, None, 80.0],  # the third on no known channel: no call's score
            "contacted_at": [at, at, None],
            "logged_at": [at + timedelta(hours=1), at + timedelta(hours=30), None],
        }
    )
    flags = {
        "contact_rows": 2, "calls": 1, "connected_calls": 1, "ptp_connected_calls": 1, "sms_not_failed": 0,
        "sms_replied": 0, "visits": 0, "visits_completed": 0, "qa_sampled_calls": 1, "logged_contacts": 2,
        "logged_on_time": 1, "qa_score_total": 9000,
    }  # fmt: skip
    counted = rows.select(COMPONENTS[name].summed(params).alias(name) for name in flags).row(0, named=True)
    assert counted == flags
