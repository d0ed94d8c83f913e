"""Periods longer than a month, month-over-month comparison, and the report/xlsx commands."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.api import previous_period
from collector_kpi.cli import app
from collector_kpi.errors import KpiError
from collector_kpi.labels import column_label
from collector_kpi.sources import period_months
from tests.conftest import write_month

ROOT = Path(__file__).parent.parent
DEFAULT = str(ROOT / "configs" / "default.yaml")


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_period_months() -> None:
    assert period_months("2025-03") == ["2025-03"]
    assert period_months("2024-11..2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert period_months("2025Q1") == ["2025-01", "2025-02", "2025-03"]
    assert period_months("2025-q4") == ["2025-10", "2025-11", "2025-12"]
    with pytest.raises(KpiError, match="ends before it starts"):
        period_months("2025-03..2025-01")
    with pytest.raises(KpiError, match="is not a month"):
        period_months("2025-3")
    with pytest.raises(KpiError, match="is not a month"):
        period_months("２０２５-03")  # full-width digits would match no row of any export
    with pytest.raises(KpiError, match="'0000-01' is not a month"):
        period_months("0000-01")  # no year 0 in the calendar (nor in a date)


def test_previous_period() -> None:
    assert previous_period("2025-03") == "2025-02"
    assert previous_period("2025-01") == "2024-12"
    assert previous_period("2025Q2") == "2025-01..2025-03"
    assert previous_period("2025-02..2025-03") == "2024-12..2025-01"


def _sums(collector: str, months: list[str]) -> tuple[Decimal, Decimal]:
    recovered = overdue = Decimal(0)
    for month in months:
        with open(ROOT / "sample_data" / month / "cases.csv", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["collector_id"] == collector:
                    recovered += Decimal(row["recovered_amount"])
                    overdue += Decimal(row["overdue_amount"])
    return recovered, overdue


def test_two_month_period_pools_sums_not_rates() -> None:
    records = json.loads(invoke("score", "-m", "2025-02..2025-03", "-c", DEFAULT, "-f", "json"))
    row = next(r for r in records if r["collector_id"] == "C001")
    recovered, overdue = _sums("C001", ["2025-02", "2025-03"])
    assert row["recovery_rate"] == pytest.approx(float(recovered / overdue), rel=1e-12)
    feb, mar = _sums("C001", ["2025-02"]), _sums("C001", ["2025-03"])
    mean_of_rates = (feb[0] / feb[1] + mar[0] / mar[1]) / 2
    assert abs(row["recovery_rate"] - float(mean_of_rates)) > 1e-4  # genuinely not an average of rates
    assert row["case_count"] == 240  # 116 + 124 case rows


def test_compare_previous_month_rank_movements() -> None:
    march = {r["collector_id"]: r for r in json.loads(invoke("score", "-m", "2025-03", "-c", DEFAULT, "-f", "json"))}
    february = {r["collector_id"]: r for r in json.loads(invoke("score", "-m", "2025-02", "-c", DEFAULT, "-f", "json"))}
    compared = json.loads(invoke("score", "-m", "2025-03", "-c", DEFAULT, "-f", "json", "--compare", "previous"))
    by_id = {r["collector_id"]: r for r in compared}
    # Read off the two scorecards: C009 was 17th in February and is 4th in March.
    assert (february["C009"]["rank"], march["C009"]["rank"]) == (17, 4)
    assert by_id["C009"]["movement"] == "▲13"
    assert by_id["C009"]["rank_change"] == 13
    assert by_id["C009"]["score_change"] == pytest.approx(march["C009"]["score"] - february["C009"]["score"])
    assert by_id["C001"]["movement"] == "="
    # C030 joined in March with too few cases: listed, not ranked, not present before
    assert by_id["C030"]["movement"] == "—" and by_id["C030"]["previous_rank"] is None
    for key, row in by_id.items():
        before, now = february.get(key, {}).get("rank"), march[key]["rank"]
        if before is not None and now is not None:
            assert row["rank_change"] == before - now, key


def test_compare_needs_scheme_paths() -> None:
    cases = str(ROOT / "sample_data" / "2025-03" / "cases.csv")
    result = CliRunner().invoke(
        app, ["score", "-m", "2025-03", "-c", DEFAULT, "--cases", cases, "--compare", "previous"]
    )
    assert result.exit_code == 2
    assert "--compare reads both periods through the scheme's input paths" in result.stderr


def test_a_missing_compared_period_says_it_is_the_compared_one() -> None:
    result = CliRunner().invoke(app, ["score", "-m", "2025-02", "-c", DEFAULT, "--compare", "previous"])
    assert result.exit_code == 2
    assert "Error: --compare previous: the period compared with, 2025-01: cases: file not found" in result.stderr


def test_month_or_quarter_is_required() -> None:
    result = CliRunner().invoke(app, ["score", "-c", DEFAULT])
    assert result.exit_code == 2
    assert "give the period" in result.stderr


def test_xlsx_round_trips_to_the_csv_numbers(tmp_path: Path) -> None:
    target = tmp_path / "card.xlsx"
    result = CliRunner(env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""}).invoke(
        app, ["score", "-m", "2025-03", "-c", DEFAULT, "-f", "xlsx", "-o", str(target)]
    )
    assert result.exit_code == 0, result.stderr
    from_csv = pl.read_csv(StringIO(invoke("score", "-m", "2025-03", "-c", DEFAULT, "-f", "csv")))
    from_xlsx = pl.read_excel(target, sheet_name="collectors")
    # under LANG=C the headers are English labels, not the contract's ids
    assert from_xlsx.columns[:5] == ["Rank", "Collector ID", "Name", "Team", "Score"]
    assert from_xlsx.columns == [column_label(c, "en") for c in from_csv.columns]
    for column in ("score", "recovery_rate", "bonus", "settlement_rate_score"):
        assert from_xlsx[column_label(column, "en")].to_list() == from_csv[column].to_list(), column
    assert (tmp_path / "card.xlsx.manifest.json").exists()


def test_report_command(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    invoke("report", "-m", "2025-03", "-c", DEFAULT, "--compare", "previous", "-o", str(target), "--lang", "zh")
    html = target.read_text(encoding="utf-8")
    assert html.count("<svg") >= 5
    assert "http://" not in html and "https://" not in html
    assert "回款率" in html and "C009" in html


def test_lang_zh_headers() -> None:
    out = invoke("score", "-m", "2025-03", "-c", DEFAULT, "-f", "markdown", "--lang", "zh", "--top", "1")
    assert out.splitlines()[0].startswith("| # | 催收员 | 团队 | 得分 | 等级 | 奖金 | 案件量 case_count |")


def test_bad_lang() -> None:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", DEFAULT, "--lang", "fr"])
    assert result.exit_code == 2
    assert "--lang" in result.stderr


@pytest.mark.parametrize("roster", ["{month}/roster.csv", "2025-03/roster.csv", None])
def test_a_monthly_target_counts_once_per_month_of_a_quarter(tmp_path: Path, roster: str | None) -> None:
    """Roster read month by month, one roster file, or params.target_amount: a monthly target,
    so A's target for the quarter is 3 × 5,000."""
    for month in ("2025-01", "2025-02", "2025-03"):
        write_month(tmp_path, month)
    inputs = f'  roster: {{path: "{roster}"}}\n' if roster else ""
    params = "" if roster else "params: {target_amount: 5000}\n"
    scheme = tmp_path / "q.yaml"
    scheme.write_text(
        f'inputs:\n  cases: {{path: "{{month}}/cases.csv"}}\n{inputs}{params}'
        "missing: reweight\nmetrics:\n  target_attainment: {weight: 100, score: {method: target, target: 1}}\n"
        "grades: [{grade: A, min: 0}]\n",
        encoding="utf-8",
    )
    loaded = load_scheme(scheme)
    rows = {r["collector_id"]: r for r in score(loaded, load_month(loaded, "2025Q1")).table().iter_rows(named=True)}
    # A recovers 3,100 in each month's file: 9,300 against 15,000.
    assert rows["A"]["target_attainment"] == pytest.approx(9300 / 15000)
