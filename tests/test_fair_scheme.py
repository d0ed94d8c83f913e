"""Fair scores through the scheme: the worked example of shared/spec/fairness.md end to end.

Money in thousands, two buckets, K = 7:
  A holds M1 80 overdue / 39 recovered and M4+ 20 / 1; B holds M1 10 / 5 and M4+ 80 / 19;
  C holds M1 10 / 6. r_M1 = 0.5, r_M4+ = 0.2, floor rate 0.35; E = 44, 21, 5;
  adjusted 0.35·40/44, 0.35·24/21, 0.35·6/5; Z = 44/51, 21/28, 5/12;
  final 0.35·47/51, 0.35·31/28, 0.35·13/12.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.cli import app
from collector_kpi.errors import SchemeError
from collector_kpi.scheme import parse_scheme

ROOT = Path(__file__).parent.parent

CASES = """\
case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount,dpd_bucket
a1,A,T1,2025-03-01,80,39,M1
a2,A,T1,2025-03-01,20,1,M4+
b1,B,T1,2025-03-01,10,5,M1
b2,B,T1,2025-03-01,80,19,M4+
c1,C,T2,2025-03-01,10,6,M1
"""

SCHEME = """\
inputs:
  cases: {{path: cases.csv}}
missing: reweight
metrics:
  recovery_rate:
    weight: 100
    score: {{method: range, floor: 0, ceiling: 1}}
{extra}
grades:
  - {{grade: A, min: 0}}
"""


def fair(tmp_path: Path, extra: str) -> dict[str, dict]:  # type: ignore[type-arg]
    (tmp_path / "cases.csv").write_text(CASES)
    path = tmp_path / "s.yaml"
    path.write_text(SCHEME.format(extra=textwrap.indent(textwrap.dedent(extra), "    ")))
    scheme = load_scheme(path)
    card = score(scheme, load_month(scheme, "2025-03"))
    return {r["collector_id"]: r for r in card.table("collector").iter_rows(named=True)}


def ranking(rows: dict[str, dict]) -> list[str]:  # type: ignore[type-arg]
    return sorted(rows, key=lambda c: rows[c]["rank"])


def test_raw_ranking(tmp_path: Path) -> None:
    rows = fair(tmp_path, "")
    assert [rows[c]["recovery_rate"] for c in "ABC"] == pytest.approx([0.40, 24 / 90, 0.60])
    assert ranking(rows) == ["C", "A", "B"]
    assert "recovery_rate_raw" not in rows["A"]


def test_case_mix_adjustment(tmp_path: Path) -> None:
    rows = fair(tmp_path, "adjust: {segments: [dpd_bucket]}")
    assert [rows[c]["recovery_rate_expected"] for c in "ABC"] == pytest.approx([44, 21, 5])
    assert [rows[c]["recovery_rate"] for c in "ABC"] == pytest.approx([0.35 * 40 / 44, 0.35 * 24 / 21, 0.35 * 6 / 5])
    assert [rows[c]["recovery_rate_raw"] for c in "ABC"] == pytest.approx([0.40, 24 / 90, 0.60])
    assert ranking(rows) == ["C", "B", "A"]


def test_worked_example_adjusted_and_shrunk(tmp_path: Path) -> None:
    rows = fair(tmp_path, "adjust: {segments: [dpd_bucket]}\nshrink: {k: 7}")
    assert [rows[c]["recovery_rate"] for c in "ABC"] == pytest.approx(
        [0.35 * 47 / 51, 0.35 * 31 / 28, 0.35 * 13 / 12], rel=1e-12
    )
    assert [rows[c]["recovery_rate_credibility"] for c in "ABC"] == pytest.approx([44 / 51, 21 / 28, 5 / 12])
    assert [rows[c]["recovery_rate_oe_ratio"] for c in "ABC"] == pytest.approx([40 / 44, 24 / 21, 6 / 5])
    assert ranking(rows) == ["B", "C", "A"]
    assert rows["A"]["recovery_rate_note"] == (
        "You recovered 40. An average collector with your exact portfolio would have recovered 44 (×0.91). "
        "Your month counts 86 %, the company average 14 %."
    )
    # the score is made from the fair value
    assert rows["B"]["score"] == pytest.approx(100 * 0.35 * 31 / 28)


def test_shrinking_raw_rates_alone_keeps_the_raw_order(tmp_path: Path) -> None:
    rows = fair(tmp_path, "shrink: {k: 7}")
    assert ranking(rows) == ["C", "A", "B"]
    # no case mix: E = den · p̄, final = (num + K) / (den + K / p̄)
    assert rows["C"]["recovery_rate"] == pytest.approx((6 + 7) / (10 + 7 / 0.35))


def test_each_metric_applies_its_own_provisional_policy(tmp_path: Path) -> None:
    # C is below recovery_rate's min_volume (ranked anyway) but not below success_rate's
    # (which would unrank): C stays ranked and paid.
    (tmp_path / "cases.csv").write_text(CASES)
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            inputs:
              cases: {path: cases.csv}
            missing: reweight
            metrics:
              recovery_rate:
                weight: 50
                score: {method: range, floor: 0, ceiling: 1}
                shrink: {k: 7, min_volume: 50, provisional: rank}
              success_rate:
                weight: 50
                score: {method: range, floor: 0, ceiling: 1}
                shrink: {k: 1, min_volume: 1, provisional: unranked}
            grades:
              - {grade: A, min: 0}
            bonus: {base: 100}
            """
        )
    )
    scheme = load_scheme(path)
    rows = {r["collector_id"]: r for r in score(scheme, load_month(scheme, "2025-03")).table().iter_rows(named=True)}
    assert rows["C"]["provisional"] is True
    assert rows["C"]["rank"] is not None and rows["C"]["eligible"] is True
    assert rows["C"]["bonus"] == 100


def test_proportional_records_tie_and_the_tie_goes_by_collector_id(tmp_path: Path) -> None:
    # B pays on 3 of 9 cases, A on 1 of 3 (all M1): the same fair rate, whatever the last bit
    # of the products behind it, so both get the same percentile and A ranks first.
    rows = ["case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount,dpd_bucket"]
    for collector, paid, cases in (("A", 1, 3), ("B", 3, 9), ("C", 0, 11)):
        for n in range(cases):
            rows.append(f"{collector}M1{n},{collector},T1,2025-03-01,100,{50 if n < paid else 0},M1")
    rows.append("CM20,C,T1,2025-03-01,100,0,M2")  # found by the fairness review: 23/72 · (1 ± 1 ulp)
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        "inputs:\n  cases: {path: cases.csv}\nmissing: reweight\nmetrics:\n  success_rate:\n    weight: 100\n"
        "    score: {method: percentile}\n    adjust: {segments: [dpd_bucket]}\ngrades: [{grade: A, min: 0}]\n"
    )
    scheme = load_scheme(path)
    table = score(scheme, load_month(scheme, "2025-03")).table()
    out = {r["collector_id"]: r for r in table.iter_rows(named=True)}
    assert out["A"]["success_rate"] == out["B"]["success_rate"]
    assert out["A"]["success_rate_score"] == out["B"]["success_rate_score"]
    assert (out["A"]["rank"], out["B"]["rank"]) == (out["B"]["rank"] - 1, out["A"]["rank"] + 1)


def test_an_auto_k_that_falls_back_says_so(tmp_path: Path) -> None:
    # Three collectors are too few for Bühlmann–Straub: K = 0.25 × median E (21) = 5.25.
    rows = fair(tmp_path, "adjust: {segments: [dpd_bucket]}\nshrink: {k: auto}")
    assert rows["B"]["recovery_rate_credibility"] == pytest.approx(21 / (21 + 5.25))
    out = tmp_path / "card.csv"
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(tmp_path / "s.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    said = (
        "recovery_rate: shrink K = auto could not be estimated (only 3 collectors have an expected value; "
        "Bühlmann–Straub needs 10), so K = 0.25 × the median expected value = 5.25: "
        "the median collector's own result counts 80 %"
    )
    assert said in result.stderr
    manifest = json.loads((tmp_path / "card.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["fairness"]["recovery_rate"]["k"] == pytest.approx(5.25)
    assert manifest["fairness"]["recovery_rate"]["method"] == "fallback"


def test_provisional_collectors_can_be_left_unranked(tmp_path: Path) -> None:
    rows = fair(tmp_path, "shrink: {k: 7, min_volume: 50, provisional: unranked}")
    assert rows["C"]["provisional"] is True and rows["C"]["rank"] is None
    assert rows["C"]["ineligible_reason"] == "provisional: volume below min_volume"
    assert rows["A"]["provisional"] is False and rows["A"]["rank"] is not None


def test_explain_shows_raw_e_oe_z_and_words(tmp_path: Path) -> None:
    fair(tmp_path, "adjust: {segments: [dpd_bucket]}\nshrink: {k: 7}")
    result = CliRunner().invoke(app, ["explain", "A", "-m", "2025-03", "-c", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0, result.stderr
    assert "32.3% fair (raw 40.0% = 40.00 / 100.00; O/E 0.91, Z 86%)" in result.stdout
    assert "An average collector with your exact portfolio would have recovered 44" in result.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("adjust: {segments: []}", "give at least one segment column"),
        ("adjust: {segments: [region]}", "metrics.recovery_rate.adjust.segments[0]: Input should be"),
        ("adjust: {segments: [dpd_bucket], reference: trailing}", "reference: trailing needs `months`"),
        ("adjust: {reference: expected}", "reference: expected needs `expected_column`"),
        ("shrink: {k: 0}", "metrics.recovery_rate.shrink.k"),
        ("shrink: {k: 7, toward: moon}", "metrics.recovery_rate.shrink.toward"),
    ],
)
def test_fair_scheme_errors(extra: str, words: str) -> None:
    text = SCHEME.format(extra=textwrap.indent(extra, "    "))
    with pytest.raises(SchemeError) as info:
        parse_scheme(text, "s.yaml")
    assert words in info.value.message


def test_only_ratio_metrics_can_be_adjusted() -> None:
    text = (
        SCHEME.format(extra="")
        .replace("recovery_rate:", "handling_days:")
        .replace("floor: 0, ceiling: 1", "floor: 60, ceiling: 10")
    )
    text = text.replace(
        "    score: {method: range, floor: 60, ceiling: 10}",
        "    score: {method: range, floor: 60, ceiling: 10}\n    adjust: {segments: [dpd_bucket]}",
    )
    with pytest.raises(SchemeError, match="handling_days: case-mix adjustment applies to recovery_rate"):
        parse_scheme(text, "s.yaml")


@pytest.mark.parametrize("name", ["default", "online-lending"])
def test_scores_without_fairness_are_unchanged(name: str) -> None:
    """Regression: schemes without adjust/shrink give the scorecard they gave before fair scores."""
    result = CliRunner().invoke(
        app, ["score", "-m", "2025-03", "-c", str(ROOT / "configs" / f"{name}.yaml"), "-f", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (ROOT / "tests" / "golden" / f"{name}-2025-03.csv").read_text(encoding="utf-8")


MODEL_CASES = """\
case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount,p_pay,model_amount
a1,A,T1,2025-03-01,100,50,0.505,30
a2,A,T1,2025-03-01,100,0,0.245,10.25
b1,B,T1,2025-03-01,100,10,0.625,12
b2,B,T1,2025-03-01,100,0,0.625,7.75
"""


def model_rows(tmp_path: Path, metric: str, column: str) -> dict[str, dict]:  # type: ignore[type-arg]
    (tmp_path / "cases.csv").write_text(MODEL_CASES)
    body = SCHEME.format(extra=f"    adjust: {{reference: expected, expected_column: {column}}}")
    path = tmp_path / "s.yaml"
    path.write_text(body.replace("recovery_rate:", f"{metric}:"))
    scheme = load_scheme(path)
    card = score(scheme, load_month(scheme, "2025-03"))
    return {r["collector_id"]: r for r in card.table("collector").iter_rows(named=True)}


def test_an_expected_column_of_a_count_rate_is_a_probability(tmp_path: Path) -> None:
    # success_rate: A and B each have 1 paying case of 2, p̄ = 2/4. The model expects
    # A: 0.505 + 0.245 = 0.75 and B: 0.625 + 0.625 = 1.25 paying cases (not in cents:
    # 0.505 is not rounded to 0.51).
    rows = model_rows(tmp_path, "success_rate", "p_pay")
    assert [rows[c]["success_rate_expected"] for c in "AB"] == pytest.approx([0.75, 1.25], rel=1e-12)
    assert [rows[c]["success_rate_oe_ratio"] for c in "AB"] == pytest.approx([1 / 0.75, 1 / 1.25], rel=1e-12)
    assert [rows[c]["success_rate"] for c in "AB"] == pytest.approx([0.5 / 0.75, 0.5 / 1.25], rel=1e-12)


def test_an_expected_column_of_a_money_rate_is_an_amount(tmp_path: Path) -> None:
    # recovery_rate: A recovered 50 of 200, B 10 of 200, p̄ = 60/400 = 0.15; the model
    # expects A: 30 + 10.25 = 40.25 and B: 12 + 7.75 = 19.75 recovered.
    rows = model_rows(tmp_path, "recovery_rate", "model_amount")
    assert [rows[c]["recovery_rate_expected"] for c in "AB"] == pytest.approx([40.25, 19.75], rel=1e-12)
    assert [rows[c]["recovery_rate"] for c in "AB"] == pytest.approx([0.15 * 50 / 40.25, 0.15 * 10 / 19.75], rel=1e-12)
