"""Rejected rows are kept: counted in the summary, written by --rejects, fatal with --strict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.cli import app
from tests.conftest import TINY_SCHEME, write_scheme

SCHEME = TINY_SCHEME

# (file, old text, new text): three bad case rows and a bad cell of a contact (its channel)
BAD = [
    ("cases.csv", "a3,A,Ann,T1,2025-03-05,1000,0", "a3,A,Ann,T1,2025-03-05,1000,n/a"),  # row 4
    ("cases.csv", "b2,B,Bo,T1,2025-01-01,2000,0", "b2,B,Bo,T1,2025-01-01,-2000,0"),  # row 7
    ("cases.csv", "c4,C,Cy,T2", "c4,,Cy,T2"),  # row 12
    ("contacts.csv", "k08,b1,B,call", "k08,b1,B,telegram"),  # row 9
]


@pytest.fixture
def bad_month(tiny: Path) -> Path:
    for name, old, new in BAD:
        path = tiny / "2025-03" / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    return write_scheme(tiny, SCHEME)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_rejects_file_lists_the_exact_rows(bad_month: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "rejects.csv"
    target.parent.mkdir()
    code, out, err = invoke("score", "-m", "2025-03", "-c", str(bad_month), "-f", "csv", "--rejects", str(target))
    assert code == 0, err
    cases, contacts = bad_month.parent / "2025-03" / "cases.csv", bad_month.parent / "2025-03" / "contacts.csv"
    assert err.splitlines() == [
        "2025-03: cases 12 read, 9 used, 3 rejected; contacts 10 read, 10 used, 0 rejected "
        "(1 of other months skipped), 1 cell(s) rejected (channel: 1); roster 4 read, 4 used, 0 rejected",
        f"warning: 3 row(s) of 2025-03 rejected and left out of every score (first: "
        f"{cases} row 4: recovered_amount: not a number (value 'n/a'; "
        f"expected a number such as 1234.56)); listed in {target}, or stop on them with --strict",
        "warning: 1 cell(s) of 2025-03 rejected, each row left out of the metrics that read its column and "
        f"counted in the others (first: {contacts} row 9: channel: unknown channel (value 'telegram')); "
        f"listed in {target}, or stop on them with --strict",
        f"wrote 3 rejected row(s) and 1 rejected cell(s) to {target}",
    ]
    # the raw values as they were in the file (a text cell starting with '-' is neutralised for spreadsheets)
    assert target.read_text(encoding="utf-8-sig").splitlines() == [
        # each row keeps its case_id (and a contact its contact_id), though no metric here reads them
        "table,source_file,row,rejected,column,reason,value,collector_id,team_id,recovered_amount,overdue_amount,"
        "collector_name,case_id,contacted_at,channel,outcome,contact_id",
        f"cases,{cases},4,row,recovered_amount,recovered_amount: not a number,n/a,A,T1,n/a,1000,Ann,a3,,,,",
        f"cases,{cases},7,row,overdue_amount,overdue_amount: negative,'-2000,B,T1,0,'-2000,Bo,b2,,,,",
        f"cases,{cases},12,row,collector_id,collector_id: missing value,,,T2,0,1000,Cy,c4,,,,",
        f"contacts,{contacts},9,cell,channel,channel: unknown channel,telegram,B,,,,,b1,2025-03-09 10:00:00,"
        "telegram,connected,k08",
    ]
    # the rejected rows count nowhere: A without a3 (1000 overdue, 0 recovered): 3100 / 4000
    rows = {line.split(",")[1]: line.split(",") for line in out.splitlines()[1:]}
    assert float(rows["A"][9]) == pytest.approx(3100 / 4000)
    # k08's channel is rejected: B's calls are k07 (busy) alone, 0 connected of 1 (0.5 with k08)
    assert float(rows["B"][11]) == 0.0


def test_strict_makes_a_rejected_row_an_error(bad_month: Path) -> None:
    code, out, err = invoke("score", "-m", "2025-03", "-c", str(bad_month), "--strict")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("2025-03: cases 12 read, 9 used, 3 rejected")
    cases = bad_month.parent / "2025-03" / "cases.csv"
    assert lines[1] == (
        f"Error: 3 row(s) rejected (--strict); first: {cases} row 4: recovered_amount: not a number "
        "(value 'n/a'; expected a number such as 1234.56)"
    )


def test_strict_makes_a_rejected_cell_an_error(tiny: Path) -> None:
    contacts = tiny / "2025-03" / "contacts.csv"
    contacts.write_text(contacts.read_text().replace("k08,b1,B,call", "k08,b1,B,telegram"))
    code, out, err = invoke("score", "-m", "2025-03", "-c", str(write_scheme(tiny, SCHEME)), "--strict")
    assert code == 2 and out == ""
    assert err.splitlines()[1] == (
        f"Error: 1 cell(s) rejected (--strict); first: {contacts} row 9: channel: unknown channel (value 'telegram')"
    )


def test_strict_still_writes_the_rejects(bad_month: Path, tmp_path: Path) -> None:
    target = tmp_path / "rejects.csv"
    code, _, _ = invoke("score", "-m", "2025-03", "-c", str(bad_month), "--strict", "--rejects", str(target))
    assert code == 2
    assert len(target.read_text(encoding="utf-8-sig").splitlines()) == 5


def test_clean_month_with_strict_and_rejects(tiny: Path, tmp_path: Path) -> None:
    scheme = write_scheme(tiny, SCHEME)
    target = tmp_path / "rejects.csv"
    code, out, err = invoke(
        "score", "-m", "2025-03", "-c", str(scheme), "--strict", "--rejects", str(target), "-f", "csv"
    )
    assert code == 0, err
    assert out.startswith("rank,collector_id")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # so Excel reads the UTF-8 (Chinese names) right
    assert target.read_text(encoding="utf-8-sig").splitlines() == ["table,source_file,row,rejected,column,reason,value"]
    assert f"wrote 0 rejected row(s) to {target}" in err


def test_read_is_used_plus_rejected_in_the_library(bad_month: Path) -> None:
    scheme = load_scheme(bad_month)
    card = score(scheme, load_month(scheme, "2025-03"))
    for stats in card.stats.values():
        assert stats.read == stats.used + stats.rejected
    assert card.stats["cases"].rejected_by_reason == {
        "collector_id: missing value": 1,
        "overdue_amount: negative": 1,
        "recovered_amount: not a number": 1,
    }
    assert card.rejects.height == 3
    assert sorted(card.rejects["_row"].to_list()) == [4, 7, 12]
    # the contact with a bad channel is used, its cell rejected
    assert (card.stats["contacts"].read, card.stats["contacts"].used, card.stats["contacts"].rejected) == (10, 10, 0)
    assert card.stats["contacts"].cells_by_column == {"channel": 1}
    assert card.stats["contacts"].cells_by_reason == {"channel: unknown channel": 1}
    assert card.cell_rejects.select("table", "_row", "_reject").rows() == [("contacts", 9, "channel: unknown channel")]


def test_a_rejected_row_of_another_month_is_skipped_not_rejected(tiny: Path) -> None:
    """k11 is February's: a bad outcome there does not concern March."""
    contacts = tiny / "2025-03" / "contacts.csv"
    contacts.write_text(contacts.read_text().replace("2025-02-27 10:00:00,connected", "2025-02-27 10:00:00,???"))
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    card = score(scheme, load_month(scheme, "2025-03"))
    assert (card.stats["contacts"].rejected, card.stats["contacts"].other_month) == (0, 1)


@pytest.mark.parametrize("engine", ["fast", "held", "full"])
def test_blank_rows_are_skipped_and_counted_not_rejected(
    tiny: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel leaves empty lines and lines of bare separators; they are no records."""
    from collector_kpi import aggregate

    if engine == "full":
        monkeypatch.setattr(aggregate, "FAST_TABLES", ())
    if engine == "held":
        monkeypatch.setattr(aggregate, "HELD_ROWS", 0)
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text() + "\n,,,,,,,,,,\n\n", encoding="utf-8")
    contacts = tiny / "2025-03" / "contacts.csv"
    lines = contacts.read_text().splitlines(keepends=True)
    contacts.write_text("".join([*lines[:4], ",,,,,,,,,,\n", *lines[4:], ",,,,,,,,,,\n"]), encoding="utf-8")
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.rejects.height == 0
    assert (card.stats["cases"].blank, card.stats["contacts"].blank) == (3, 2)  # an empty line is a row too
    assert (card.stats["cases"].read, card.stats["contacts"].read) == (12, 10)
    assert card.table().equals(clean.table())
    code, _, err = invoke("score", "-m", "2025-03", "-c", str(tiny / "scheme.yaml"), "--strict", "-f", "csv")
    assert code == 0
    assert "cases 12 read, 12 used, 0 rejected (3 blank skipped)" in err


def test_excel_money_spellings_are_amounts_not_rejects(tiny: Path) -> None:
    """Thousands separators, the yuan sign and the accounting format's " - " for zero."""
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    cases = tiny / "2025-03" / "cases.csv"
    old = "a3,A,Ann,T1,2025-03-05,1000,0,0"
    text = cases.read_text(encoding="utf-8")
    assert old in text
    cases.write_text(text.replace(old, 'a3,A,Ann,T1,2025-03-05,"¥1,000.00"," -   ",0'), encoding="utf-8")
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.rejects.height == 0
    assert card.table().equals(clean.table())


@pytest.mark.parametrize("amount", ["1.234,50", "1,2,3", "1,0000"])
def test_a_comma_that_does_not_group_thousands_is_not_a_number(tiny: Path, amount: str) -> None:
    """Never 1.234,50 → 1.2345 (a European decimal comma) or 1,2,3 → 123: such an amount is rejected."""
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    cases = tiny / "2025-03" / "cases.csv"
    old = "a3,A,Ann,T1,2025-03-05,1000,0,0"
    cases.write_text(cases.read_text(encoding="utf-8").replace(old, f'a3,A,Ann,T1,2025-03-05,"{amount}",0,0'))
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.rejects["_reject"].to_list() == ["overdue_amount: not a number"]


def test_a_date_column_written_with_midnight_times_is_read_as_dates(tiny: Path) -> None:
    """Excel writes a date cell of a CSV as 2025/3/1 0:00."""
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    cases = tiny / "2025-03" / "cases.csv"
    text = re.sub(r"2025-0(\d)-(\d\d)", lambda m: f"2025/{m[1]}/{int(m[2])} 0:00", cases.read_text(encoding="utf-8"))
    assert "2025/3/1 0:00" in text
    cases.write_text(text, encoding="utf-8")
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.rejects.height == 0
    assert card.table().equals(clean.table())


def test_empty_text_cells_are_missing_values_not_rejects(tiny: Path) -> None:
    """An export that quotes every field writes an empty cell as "" (Parquet: '')."""
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    for name in ("cases.csv", "contacts.csv"):
        path = tiny / "2025-03" / name
        lines = path.read_text(encoding="utf-8").splitlines()
        quoted = [",".join(f'"{field}"' for field in line.split(",")) for line in lines]
        blank_row = ",".join('""' for _ in lines[0].split(","))
        path.write_text("\n".join([*quoted, blank_row]) + "\n", encoding="utf-8")
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.rejects.height == 0
    assert (card.stats["cases"].blank, card.stats["contacts"].blank) == (1, 1)
    assert card.table().equals(clean.table())


def test_time_zone_aware_timestamps_keep_their_local_time(tiny: Path) -> None:
    """A Parquet export in Asia/Shanghai: 2025-03-01 07:30 there is March, not February in UTC."""
    import polars as pl

    month = tiny / "2025-03"
    contacts = pl.read_csv(month / "contacts.csv", infer_schema=False)
    contacts = contacts.with_columns(
        pl.col("contacted_at", "logged_at").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.replace_time_zone("Asia/Shanghai")
    )
    first = pl.col("contact_id") == "k01"  # the first call of the month, made early on 1 March
    contacts = contacts.with_columns(
        contacted_at=pl.when(first)
        .then(pl.datetime(2025, 3, 1, 7, 30, time_zone="Asia/Shanghai"))
        .otherwise("contacted_at")
    )
    contacts.write_parquet(month / "contacts.parquet")
    naive = contacts.with_columns(pl.col("contacted_at", "logged_at").dt.replace_time_zone(None))
    naive.write_parquet(month / "naive.parquet")
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    cards = [
        score(scheme, load_month(scheme, "2025-03", {"contacts": str(month / name)}))
        for name in ("contacts.parquet", "naive.parquet")
    ]
    assert cards[0].stats["contacts"].other_month == 1  # only k11 of 27 February
    assert cards[0].table().equals(cards[1].table())


@pytest.mark.parametrize("command", [["explain", "A"], ["report", "-o", "{tmp}/r.html"]])
def test_every_command_warns_about_rejected_rows(bad_month: Path, tmp_path: Path, command: list[str]) -> None:
    args = [a.format(tmp=tmp_path) for a in command]
    code, _, err = invoke(*args, "-m", "2025-03", "-c", str(bad_month))
    assert code == 0, err
    assert "warning: 3 row(s) of 2025-03 rejected and left out of every score" in err
    assert "warning: 1 cell(s) of 2025-03 rejected, each row left out of the metrics that read its column" in err
    assert "list them with kpi score --rejects FILE" in err


def test_headers_with_spaces_around_them_match(tiny: Path) -> None:
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    cases = tiny / "2025-03" / "cases.csv"
    text = cases.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    header = header.replace("collector_id", " collector_id ").replace("overdue_amount", "overdue_amount\u3000")
    cases.write_text(f"{header}\n{rest}", encoding="utf-8")
    assert score(scheme, load_month(scheme, "2025-03")).table().equals(clean.table())


@pytest.mark.parametrize("line", [",,", ",,,,,,,,,,,,,,,,"])
def test_separator_only_lines_of_any_length_are_blank_rows(tiny: Path, line: str) -> None:
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.stats["cases"].blank == 1 and card.rejects.height == 0
    assert card.table().equals(clean.table())


def test_datetime_parts_from_excel_date_and_time_cells(tiny: Path) -> None:
    """An xlsx call log with a date cell (2025-03-02 00:00:00) and a time cell (1899-12-31 10:00:00)."""
    import polars as pl

    month = tiny / "2025-03"
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    contacts = pl.read_csv(month / "contacts.csv", infer_schema=False)
    at = pl.col("contacted_at").str.to_datetime("%Y-%m-%d %H:%M:%S")
    contacts = contacts.with_columns(day=at.dt.date(), clock=at.dt.time()).drop("contacted_at")
    contacts.write_excel(month / "contacts.xlsx")
    text = (
        (tiny / "scheme.yaml")
        .read_text(encoding="utf-8")
        .replace(
            '  contacts: {path: "{month}/contacts.csv"}',
            '  contacts: {path: "{month}/contacts.xlsx", datetime_parts: {contacted_at: [day, clock]}}',
        )
    )
    (tiny / "scheme.yaml").write_text(text, encoding="utf-8")
    excel = load_scheme(tiny / "scheme.yaml")
    card = score(excel, load_month(excel, "2025-03"))
    assert card.rejects.height == 0
    assert card.table().equals(clean.table())


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_title_line_above_the_header_is_skipped(tiny: Path, kind: str) -> None:
    """skip_rows: 1 for an export that starts with a title (2025年3月 案件明细); row numbers
    stay the file's own, so a rejected row is found where it is."""
    import polars as pl

    month = tiny / "2025-03"
    scheme = load_scheme(write_scheme(tiny, SCHEME))
    clean = score(scheme, load_month(scheme, "2025-03"))
    text = (
        (month / "cases.csv")
        .read_text(encoding="utf-8")
        .replace("a3,A,Ann,T1,2025-03-05,1000,0", "a3,A,Ann,T1,2025-03-05,n/a,0")
    )
    if kind == "csv":
        (month / "titled.csv").write_text("2025年3月 案件明细\n" + text, encoding="utf-8")
    else:
        import xlsxwriter

        rows = [line.split(",") for line in text.splitlines()]
        with xlsxwriter.Workbook(str(month / "titled.xlsx")) as book:
            sheet = book.add_worksheet()
            sheet.write(0, 0, "2025年3月 案件明细")
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    sheet.write_string(r, c, value)
    titled = (
        (tiny / "scheme.yaml")
        .read_text(encoding="utf-8")
        .replace('  cases: {path: "{month}/cases.csv"}', f'  cases: {{path: "{{month}}/titled.{kind}", skip_rows: 1}}')
    )
    (tiny / "scheme.yaml").write_text(titled, encoding="utf-8")
    loaded = load_scheme(tiny / "scheme.yaml")
    card = score(loaded, load_month(loaded, "2025-03"))
    assert card.rejects.select("_row", "_reject").rows() == [(5, "overdue_amount: not a number")]  # line 5 of the file
    kept = pl.col("collector_id") != "A"  # A lost a3, the others are as before
    assert card.table().filter(kept).equals(clean.table().filter(kept))
