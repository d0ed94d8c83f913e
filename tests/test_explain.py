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


# B's points, by hand (test_b_line_by_hand): recovery_rate 0.4 × (1/7 − 0.1)/0.4 × 100,
# call_connect_rate 0.3 × 50, waiver_rate 0, recovered_amount 0.2 × 100/3.
B_POINTS = 0.4 * ((1 / 7 - 0.1) / 0.4 * 100) + 0.3 * 50 + 0 + 0.2 * 100 / 3


def gated(root: Path, gate: str, key: str = "B") -> Explanation:
    body = MIXED.replace("  - {metric: violations, above: 0, action: cap_grade, grade: D}", gate)
    scheme = load_scheme(write_scheme(root, body))
    return explain(score(scheme, load_month(scheme, "2025-03")), key)


def test_a_zero_score_gate_is_a_line_taking_the_points_away(tiny: Path) -> None:
    exp = gated(tiny, "  - {metric: violations, above: 0, action: zero_score, cancel_bonus: true}")
    assert exp.score == 0.0
    assert sum(line.points for line in exp.metrics) == pytest.approx(B_POINTS)
    [gate] = exp.gate_lines
    assert (gate.metric, gate.rule, gate.action, gate.value, gate.grade) == (
        "violations",
        "violations > 0",
        "zero_score",
        1,
        None,
    )
    assert gate.points == pytest.approx(-B_POINTS)
    assert exp.points_total == 0.0  # exactly: the points and their negation
    assert exp.levers == [] and exp.levers_note is not None and "violations > 0 sets the score to 0" in exp.levers_note
    # A has no violation: no gate line, and the points are the score.
    a = gated(tiny, "  - {metric: violations, above: 0, action: zero_score}", "A")
    assert a.gate_lines == [] and a.points_total == pytest.approx(a.score)


def test_a_cap_grade_gate_is_a_line_of_no_points(tiny: Path) -> None:
    exp = gated(tiny, "  - {metric: violations, above: 0, action: cap_grade, grade: D}")
    assert exp.score == pytest.approx(B_POINTS) and exp.grade == "D"  # 25.95 is a C, capped at D
    [gate] = exp.gate_lines
    assert (gate.action, gate.grade, gate.points) == ("cap_grade", "D", 0.0)
    assert exp.points_total == pytest.approx(exp.score)


def test_two_zero_score_gates_take_the_points_away_once(tiny: Path) -> None:
    exp = gated(
        tiny,
        "  - {metric: violations, above: 0, action: zero_score}\n"
        "  - {metric: recovery_rate, below: 0.2, action: zero_score, reason: low recovery}",
    )
    assert [(g.rule, g.points) for g in exp.gate_lines] == [
        ("violations > 0", pytest.approx(-B_POINTS)),
        ("low recovery", 0.0),
    ]
    assert exp.points_total == exp.score == 0.0


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_cli_explain_shows_the_gate_and_points_that_add_up(tiny: Path, fmt: str) -> None:
    body = MIXED.replace("action: cap_grade, grade: D", "action: zero_score")
    scheme = write_scheme(tiny, body)
    result = CliRunner().invoke(app, ["explain", "B", "-m", "2025-03", "-c", str(scheme), "-f", fmt])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if fmt == "json":
        data = json.loads(out)
        assert data["points_total"] == data["score"] == 0.0
        assert data["gate_lines"][0]["points"] == pytest.approx(-B_POINTS)
        return
    points = f"{B_POINTS:.2f}"  # 25.95
    assert "gate: violations > 0" in out and "score set to 0" in out and f"-{points}" in out
    if fmt == "markdown":
        assert "| **Σ** | | | | | **0.00** | | | |" in out
    else:
        assert [line.split() for line in out.splitlines() if line.startswith("Σ")] == [["Σ", "0.00"]]
    assert "score 0.00" in out and "gate fired" not in out
