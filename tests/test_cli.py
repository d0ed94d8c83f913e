"""The `kpi` command, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from collector_kpi import __version__
from collector_kpi.cli import app
from tests.conftest import TINY_SCHEME, write_scheme

ROOT = Path(__file__).parent.parent
SCHEME = TINY_SCHEME


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def scheme(tiny: Path) -> Path:
    return write_scheme(tiny, SCHEME)


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_shell_completion_is_offered(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout
    env = {"_KPI_COMPLETE": "complete_bash", "COMP_WORDS": "kpi score --wi", "COMP_CWORD": "2"}
    result = runner.invoke(app, [], env=env, prog_name="kpi")
    assert result.stdout.split() == ["--wide"]


def test_version(runner: CliRunner) -> None:
    code, out, _ = invoke(runner, "--version")
    assert code == 0
    assert out.strip() == f"kpi {__version__}"


def test_json_output_contract(runner: CliRunner, scheme: Path) -> None:
    code, out, err = invoke(runner, "score", "--month", "2025-03", "--config", str(scheme), "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["collector_id"] for r in records] == ["A", "B", "C", "D"]
    first = records[0]
    assert list(first)[:7] == ["rank", "collector_id", "collector_name", "team_id", "score", "grade", "eligible"]
    assert first["rank"] == 1
    assert first["recovery_rate"] == pytest.approx(0.62)
    assert first["recovery_rate_score"] == 100
    assert first["call_connect_rate_score"] == 100
    assert first["score"] == pytest.approx(100)
    assert records[3]["rank"] is None and records[3]["eligible"] is False
    assert records[3]["recovery_rate"] is None
    # the summary goes to stderr, so stdout is pure JSON
    assert "cases 12 read, 12 used, 0 rejected" in err


def test_team_level(runner: CliRunner, scheme: Path) -> None:
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "--level", "team", "-f", "json")
    assert code == 0, err
    teams = {r["team_id"]: r for r in json.loads(out)}
    assert teams["T1"]["recovery_rate"] == pytest.approx(4100 / 12000)
    assert teams["T1"]["member_count"] == 2
    assert teams["T1"]["rank"] == 1


def test_csv_and_parquet_agree(runner: CliRunner, scheme: Path, tmp_path: Path) -> None:
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "csv")
    assert code == 0, err
    target = tmp_path / "card.parquet"
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "parquet", "-o", str(target))
    assert code == 0, err
    from io import StringIO

    csv_frame = pl.read_csv(StringIO(out))
    parquet_frame = pl.read_parquet(target)
    assert csv_frame["collector_id"].to_list() == parquet_frame["collector_id"].to_list()
    assert csv_frame["score"].to_list() == pytest.approx(parquet_frame["score"].to_list(), nan_ok=True)


def test_parquet_needs_output(runner: CliRunner, scheme: Path) -> None:
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "parquet")
    assert code == 2
    assert "give --output FILE" in err


def test_table_lists_ranked_then_ineligible(runner: CliRunner, scheme: Path) -> None:
    code, out, _ = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme))
    assert code == 0
    assert "Rec.%" in out.splitlines()[1]  # the short header of recovery_rate
    assert "62.0%" in out  # A's recovery rate, formatted for people
    assert out.index("Ann") < out.index("Cy") < out.index("Di")
    # D's note is a footnote keyed by the mark in its rank cell, not a column
    assert "—¹  D " in out and "\n¹ no cases in the month\n" in out
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal


def test_top_keeps_best_ranked(runner: CliRunner, scheme: Path) -> None:
    code, out, _ = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "--top", "2", "-f", "json")
    assert code == 0
    # A 100; B 0.6 · 10.7 + 0.4 · 50 = 26.4; C 0.6 · 25 + 0.4 · 0 = 15
    assert [r["collector_id"] for r in json.loads(out)] == ["A", "B"]


def test_markdown(runner: CliRunner, scheme: Path) -> None:
    code, out, _ = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "markdown")
    assert code == 0
    assert out.splitlines()[0].startswith("| # | Collector | Team | Score | Grade | 回款率 recovery_rate |")
    assert out.splitlines()[2].startswith("| 1 | A Ann | T1 | 100.0 | A | 62.0% |")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--month", "2025-13"], "'2025-13' is not a month"),
        (["--month", "2025-04"], "cases: file not found:"),
        (["--cases", "nowhere.csv"], "cases: file not found: nowhere.csv"),
        (["--cases", "nowhere/*.csv"], "no file matches nowhere/*.csv"),
    ],
)
def test_errors_are_one_line_exit_2(runner: CliRunner, scheme: Path, args: list[str], words: str) -> None:
    base = ["score", "-c", str(scheme)]
    if "--month" not in args:
        base += ["--month", "2025-03"]
    code, out, err = invoke(runner, *base, *args)
    assert code == 2
    assert words in err
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert "Traceback" not in err and out == ""


def test_month_without_rows(runner: CliRunner, tiny: Path, scheme: Path) -> None:
    march = tiny / "2025-03"
    args = ["--cases", str(march / "cases.csv"), "--contacts", str(march / "contacts.csv")]
    args += ["--roster", str(march / "roster.csv")]
    code, _, err = invoke(runner, "score", "-m", "2025-04", "-c", str(scheme), *args)
    assert code == 2
    assert "contacts: no rows for 2025-04" in err
    assert "(11 rows belong to other months)" in err


def test_repeated_path_option_reads_every_file(runner: CliRunner, tiny: Path, scheme: Path) -> None:
    lines = (tiny / "2025-03" / "cases.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tiny / "first.csv").write_text("".join(lines[:5]), encoding="utf-8")  # header + A's 4 cases
    (tiny / "rest.csv").write_text(lines[0] + "".join(lines[5:]), encoding="utf-8")
    split = ["--cases", str(tiny / "first.csv"), "--cases", str(tiny / "rest.csv")]
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), *split, "-f", "csv")
    assert code == 0, err
    assert "cases 12 read, 12 used" in err
    code, whole, _ = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "csv")
    assert out == whole


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("overdue_amt", "did you mean 'overdue_amt'"),
        ("debt", None),  # no hint: recovered_amount is close in spelling but read already
    ],
)
def test_missing_column_names_metric_and_found_columns(
    runner: CliRunner, tiny: Path, scheme: Path, header: str, hint: str | None
) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text().replace("overdue_amount", header))
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme))
    assert code == 2
    assert "missing column 'overdue_amount' (needed by recovery_rate)" in err
    assert (hint in err) if hint else ("did you mean" not in err)


def test_bad_scheme_exit_2(runner: CliRunner, tiny: Path) -> None:
    bad = write_scheme(tiny, SCHEME.replace("weight: 60", "weight: 70"), name="bad.yaml")
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(bad))
    assert code == 2
    assert "bad.yaml:9: metrics: weights add up to 110, not 100" in err


def test_debug_shows_traceback(runner: CliRunner, scheme: Path) -> None:
    result = runner.invoke(app, ["score", "-m", "2025-13", "-c", str(scheme), "--debug"])
    assert result.exit_code != 0
    assert result.exception is not None


def test_refuses_to_overwrite_an_input(runner: CliRunner, tiny: Path, scheme: Path) -> None:
    target = tiny / "2025-03" / "cases.csv"
    before = target.read_bytes()
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "csv", "-o", str(target))
    assert code == 2
    assert "refusing to overwrite an input file" in err
    assert target.read_bytes() == before


def test_metrics_catalog(runner: CliRunner) -> None:
    code, out, _ = invoke(runner, "metrics", "--format", "json")
    assert code == 0
    catalog = {m["id"]: m for m in json.loads(out)}
    assert catalog["recovery_rate"]["zh"] == "回款率"
    assert catalog["handling_days"]["better"] == "lower"
    assert len(catalog) == 22


@pytest.mark.parametrize("scheme_name", ["default.yaml", "online-lending.yaml"])
@pytest.mark.parametrize("level", ["collector", "team"])
def test_shipped_schemes_score_the_sample(runner: CliRunner, scheme_name: str, level: str) -> None:
    config = str(ROOT / "configs" / scheme_name)
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", config, "--level", level, "-f", "json")
    assert code == 0, err
    records = json.loads(out)
    ranked = [r for r in records if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(0 <= r["score"] <= 100 for r in ranked)
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    if level == "collector":
        assert len(records) == 30
        # the new hire with 8 cases is listed, not ranked
        assert next(r for r in records if r["collector_id"] == "C030")["rank"] is None


def test_every_command_and_option_has_help(runner: CliRunner) -> None:
    import typer.main

    command = typer.main.get_command(app)
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        assert sub.help, name
        for param in sub.params:
            if param.name != "help":
                assert getattr(param, "help", None), f"{name} --{param.name}"


def test_output_format_follows_the_file_name(runner: CliRunner, scheme: Path, tmp_path: Path) -> None:
    target = tmp_path / "card.xlsx"
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-o", str(target))
    assert code == 0, err
    assert target.read_bytes()[:2] == b"PK"  # a workbook, not the screen table
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-o", str(tmp_path / "card.csv"))
    assert code == 0, err
    assert pl.read_csv(tmp_path / "card.csv")["collector_id"].to_list()[:3] == ["A", "B", "C"]
    assert (tmp_path / "card.csv").read_bytes().startswith(b"\xef\xbb\xbfrank,")  # a BOM in a file, for Excel
    code, out, _ = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "csv")
    assert out.startswith("rank,")  # none on stdout, for pipes


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-o", "card.dat"], "card.dat: cannot tell the format from the name"),
        (["-f", "csv", "-o", "card.xlsx"], "card.xlsx: the name says xlsx but --format is csv"),
    ],
)
def test_output_name_and_format_must_agree(
    runner: CliRunner, scheme: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    args = [str(tmp_path / a) if a.startswith("card") else a for a in args]
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), *args)
    assert code == 2
    assert words in err
    assert not list(tmp_path.glob("card*"))


def test_team_level_without_any_team_says_why(runner: CliRunner, tiny: Path) -> None:
    scheme = tiny / "calls.yaml"
    scheme.write_text(
        'inputs:\n  contacts: {path: "{month}/contacts.csv"}\nmissing: reweight\n'
        "metrics:\n  call_connect_rate: {weight: 100, score: {method: range, floor: 0, ceiling: 1}}\n"
        "grades: [{grade: A, min: 0}]\n",
        encoding="utf-8",
    )
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "--level", "team")
    assert code == 2 and out == ""
    assert "--level team: no collector has a team" in err
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme))
    assert code == 0, err


def test_a_copy_of_an_input_file_is_refused(runner: CliRunner, tiny: Path, scheme: Path) -> None:
    folder = tiny / "exports"
    folder.mkdir()
    cases = (tiny / "2025-03" / "cases.csv").read_bytes()
    (folder / "cases.csv").write_bytes(cases)
    (folder / "cases (1).csv").write_bytes(cases)  # what a second download is called
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "--cases", str(folder))
    assert code == 2 and out == ""
    assert f"cases: {folder / 'cases (1).csv'} and {folder / 'cases.csv'} hold the same 12 rows" in err
    assert "they would count twice" in err
    header, first = cases.decode().splitlines()[:2]
    (folder / "cases (1).csv").write_text(f"{header}\n{first.replace('a1,', 'z1,')}\n")  # another case: read
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "--cases", str(folder))
    assert code == 0, err
    assert "cases 13 read, 13 used" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-f", "csv", "-o", "{scheme}"], "--output {scheme}: refusing to overwrite an input file or the scheme"),
        (["-o", "{tmp}/card.csv", "--manifest", "{scheme}"], "--manifest {scheme}: refusing to overwrite"),
        (["-o", "{tmp}/card.csv", "--manifest", "{tmp}/card.csv"], "--output and --manifest name the same file"),
        (["-o", "{tmp}/card.csv", "--rejects", "{tmp}/card.csv"], "--output and --rejects name the same file"),
    ],
)
def test_nothing_is_written_over_the_scheme_or_another_output(
    runner: CliRunner, scheme: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    before = scheme.read_bytes()
    filled = [a.format(scheme=scheme, tmp=tmp_path) for a in args]
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), *filled)
    assert code == 2
    assert words.format(scheme=scheme) in err
    assert scheme.read_bytes() == before
    assert not (tmp_path / "card.csv").exists()


def test_text_that_is_not_in_the_declared_encoding_is_an_input_error(runner: CliRunner, tiny: Path) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_bytes(cases.read_text(encoding="utf-8").encode("utf-16-le"))  # no byte-order mark
    scheme = write_scheme(tiny, TINY_SCHEME, inputs=False)
    text = scheme.read_text(encoding="utf-8")
    scheme.write_text(
        'inputs:\n  cases: {path: "{month}/cases.csv", encoding: utf-16}\n  contacts: {path: "{month}/contacts.csv"}\n'
        + text,
        encoding="utf-8",
    )
    code, _, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme))
    assert code == 2
    assert err.startswith(f"Error: cases: {cases}: not valid utf-16 text") and "set inputs.cases.encoding" in err


def test_output_dash_is_stdout(
    runner: CliRunner, scheme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(runner, "score", "-m", "2025-03", "-c", str(scheme), "-f", "csv", "-o", "-")
    assert code == 0, err
    assert out.startswith("rank,") and not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["validate"], "2025-02..2025-03: rows per table"),
        (["explain", "C003"], "C003 刘洋 · team T01 · 2025-02..2025-03 ·"),
    ],
)
def test_explain_and_validate_take_month_ranges(runner: CliRunner, command: list[str], shown: str) -> None:
    sample = str(ROOT / "configs" / "default.yaml")
    code, out, err = invoke(runner, *command, "-m", "2025-02..2025-03", "-c", sample)
    assert code == 0, err
    assert shown in out
    # a quarter reads its three months: the sample has no January
    code, _, err = invoke(runner, *command, "--quarter", "2025Q1", "-c", sample)
    assert code == 2 and "2025-01/cases.csv" in err
