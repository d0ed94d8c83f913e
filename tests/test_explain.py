"""`kpi explain`: every number adds up, and the levers are the right ones in the right order.

Tiny fixture (conftest.py), scheme as in test_scoring.MIXED; A, B in T1, C alone in T2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.cli import app
from collector_kpi.explain import Explanation, explain
from tests.conftest import write_scheme
from tests.test_scoring import MIXED


def explained(root: Path, key: str, level: str = "collector") -> Explanation:
    scheme = load_scheme(write_scheme(root, MIXED))
    return explain(score(scheme, load_month(scheme, "2025-03")), key, level)


def test_points_add_up_and_values_are_ratios(tiny: Path) -> None:
    for key in "ABC":
        exp = explained(tiny, key)
        assert exp.points_total == pytest.approx(exp.score)
        for line in exp.metrics:
            if line.denominator:
                assert line.numerator / line.denominator == pytest.approx(line.value)
            assert line.points == pytest.approx(line.effective_weight * line.score / 100)


def test_b_line_by_hand(tiny: Path) -> None:
    exp = explained(tiny, "B")
    lines = {line.id: line for line in exp.metrics}
    recovery = lines["recovery_rate"]
    assert (recovery.numerator, recovery.denominator) == (1000.0, 7000.0)
    assert recovery.team_value == pytest.approx(4100 / 12000)
    assert recovery.floor_value == pytest.approx(5100 / 17000)
    assert (recovery.rank, recovery.ranked_of) == (3, 3)  # below A (0.62) and C (0.2)
    assert recovery.method == "range" and recovery.parameters == {"floor": 0.1, "ceiling": 0.5}
    assert lines["call_connect_rate"].rank == 2
    assert exp.rank == 2 and exp.grade == "D"
    assert exp.gates == ["violations > 0"]
    assert exp.grade_band == {"grade": "C", "min": 20.0, "below": 50.0}


def test_levers_are_ordered_by_points_gained(tiny: Path) -> None:
    exp = explained(tiny, "B")
    # B's eligible team mate in T1 is A alone; the target is A's value (B's own is not counted).
    # recovery_rate 1/7 → 0.62: range score 10.71 → 100 (capped), × 40 % = +35.71
    # recovered_amount 1000 → 3100: target score 33.33 → 100 (cap 1.5), × 20 % = +13.33
    # waiver_rate 2/3 → 400/3500 (inside the band): 0 → 100, × 10 % = +10
    # call_connect_rate 1/2 → 2/3: percentile 50 → 75 (ties A, above C), × 30 % = +7.5
    assert [lever.metric for lever in exp.levers] == [
        "recovery_rate",
        "recovered_amount",
        "waiver_rate",
        "call_connect_rate",
    ]
    assert {lever.target_source for lever in exp.levers} == {"team mates' median"}
    assert exp.levers[0].target == pytest.approx(0.62)
    gains = [lever.points_gain for lever in exp.levers]
    assert gains == pytest.approx([0.4 * (100 - (1 / 7 - 0.1) / 0.4 * 100), 0.2 * (100 - 100 / 3), 10, 7.5])


def median_waiver() -> float:
    return (400 / 3500 + 2000 / 3000) / 2


def test_alone_in_team_is_compared_with_the_other_collectors(tiny: Path) -> None:
    exp = explained(tiny, "C")
    # C is alone in T2: the targets are the medians of A and B.
    # recovery_rate 0.2 → (0.62 + 1/7)/2: 25 → 70.36, × 40 % = +18.14
    # call_connect_rate 0 → (2/3 + 1/2)/2: percentile 0 → 50, × 30 % = +15
    # recovered_amount 1000 → 2050: 33.33 → 68.33, × 20 % = +7
    # waiver_rate 0 → 0.3905: band 50 → 54.76, × 10 % = +0.48
    assert [lever.metric for lever in exp.levers] == [
        "recovery_rate",
        "call_connect_rate",
        "recovered_amount",
        "waiver_rate",
    ]
    assert {lever.target_source for lever in exp.levers} == {"all collectors' median"}
    median = (0.62 + 1 / 7) / 2
    gains = [lever.points_gain for lever in exp.levers]
    waiver = 0.1 * ((1 - (median_waiver() - 0.3) / 0.2) * 100 - 50)
    assert gains == pytest.approx([0.4 * ((median - 0.1) / 0.4 * 100 - 25), 15, 7, waiver])


def test_an_id_is_looked_up_as_the_files_ids_are_matched(tiny: Path) -> None:
    assert explained(tiny, "Ｂ\u200b").key == "B"
    assert explained(tiny, " Ｔ１ ", "team").key == "T1"


def test_team_explanation(tiny: Path) -> None:
    exp = explained(tiny, "T1", "team")
    assert exp.points_total == pytest.approx(exp.score)
    recovery = next(line for line in exp.metrics if line.id == "recovery_rate")
    assert (recovery.numerator, recovery.denominator) == (4100.0, 12000.0)


def test_mean_team_explanation_adds_up_and_has_no_levers_of_its_own(tiny: Path) -> None:
    scheme = load_scheme(write_scheme(tiny, MIXED.replace("gates:", "team: {method: mean}\ngates:")))
    exp = explain(score(scheme, load_month(scheme, "2025-03")), "T1", "team")
    # T1's score is the mean of A's and B's; so is each metric's points
    assert exp.points_total == pytest.approx(exp.score)
    assert exp.levers == [] and exp.levers_note is not None and "mean of its eligible members" in exp.levers_note


def test_cli_explain_formats(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "B", "--month", "2025-03", "--config", str(scheme), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["points_total"] == pytest.approx(data["score"])
    assert data["levers"][0]["metric"] == "recovery_rate"
    table = runner.invoke(app, ["explain", "B", "-m", "2025-03", "-c", str(scheme)])
    assert "回款率 recovery_rate" in table.stdout
    assert "14.3% = 1,000.00 / 7,000.00" in table.stdout
    markdown = runner.invoke(app, ["explain", "B", "-m", "2025-03", "-c", str(scheme), "-f", "markdown"])
    assert "| 回款率 recovery_rate | 14.3% = 1,000.00 / 7,000.00 | range 10.0% → 50.0% |" in markdown.stdout


def test_cli_explain_unknown_collector(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    result = CliRunner().invoke(app, ["explain", "Z9", "-m", "2025-03", "-c", str(scheme)])
    assert result.exit_code == 2
    assert "no collector 'Z9' in 2025-03" in result.stderr


def test_cli_explain_needs_one_target(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    result = CliRunner().invoke(app, ["explain", "A", "--team", "T1", "-m", "2025-03", "-c", str(scheme)])
    assert result.exit_code == 2
    assert "name one collector" in result.stderr
