"""Small CLI behaviours found by trying the tool as a new user."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from collector_kpi.cli import app

ROOT = Path(__file__).parent.parent
DEFAULT = str(ROOT / "configs" / "default.yaml")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def test_period_errors_name_the_option() -> None:
    assert run("score", "--quarter", "2025Q5", "-c", DEFAULT) == (
        2,
        "Error: --quarter: '2025Q5' is not a quarter; write it as YYYYQn, n from 1 to 4 (2025Q1)\n",
    )
    code, err = run("score", "-m", "2025-03", "-c", DEFAULT, "--compare", "nonsense")
    assert code == 2 and "Error: --compare: 'nonsense' is not a month" in err
    code, err = run("score", "-m", "2025-03", "--quarter", "2025Q1", "-c", DEFAULT)
    assert code == 2 and "give --month or --quarter, not both" in err


def test_output_folder_is_checked_before_reading(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, err = run(
        "score",
        "-m",
        "2025-03",
        "-c",
        DEFAULT,
        "-f",
        "csv",
        "-o",
        str(target),
        "--manifest",
        str(tmp_path / "no" / "m.json"),
    )
    assert code == 2 and "does not exist" in err
    assert not target.exists()  # nothing half-done


def test_xlsx_is_byte_identical_between_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert run("score", "-m", "2025-03", "-c", DEFAULT, "-f", "xlsx", "-o", str(first))[0] == 0
    assert run("score", "-m", "2025-03", "-c", DEFAULT, "-f", "xlsx", "-o", str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes()


def test_misspelt_scheme_key_is_reported_as_unknown(tmp_path: Path) -> None:
    text = (ROOT / "configs" / "default.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "s.yaml"
    bad.write_text(text.replace("    weight: 20\n", "    wieght: 20\n", 1), encoding="utf-8")
    code, err = run("score", "-m", "2025-03", "-c", str(bad))
    assert code == 2 and "metrics.recovery_rate.wieght: unknown key" in err


def test_explain_gives_no_rank_to_an_ineligible_collector() -> None:
    result = CliRunner().invoke(app, ["explain", "C030", "-m", "2025-03", "-c", DEFAULT, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["eligible"] is False
    assert all(line["rank"] is None for line in data["metrics"])
