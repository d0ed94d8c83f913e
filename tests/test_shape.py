"""A CSV line with a field too many or too few must stop the run, never shift values."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from collector_kpi.cli import app
from collector_kpi.scheme import InputSpec, parse_scheme
from collector_kpi.sources import ShapeCheck, _scan_file
from tests.conftest import CASES, write_scheme
from tests.test_scoring import MIXED


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # an unquoted thousands separator: 12 fields where the header has 11
        ("b1,B,Bo,T1,2025-03-01,4000,1000,", "b1,B,Bo,T1,2025-03-01,4,000,1000,", "line 6 has 12"),
        # a field lost: 10 fields
        ("c2,C,Cy,T2,2025-03-01,1000,0,0,,,M1", "c2,C,Cy,T2,2025-03-01,1000,0,0,,M1", "line 10 has 10"),
    ],
)
@pytest.mark.parametrize("command", ["score", "validate"])
def test_ragged_lines_are_an_error(tiny: Path, old: str, new: str, words: str, command: str) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    assert old in cases.read_text()
    cases.write_text(cases.read_text().replace(old, new))
    result = CliRunner().invoke(app, [command, "-m", "2025-03", "-c", str(write_scheme(tiny, MIXED))])
    assert result.exit_code == 2
    assert f"do not have the header's 11 fields ({words})" in result.stderr
    assert "Traceback" not in result.stderr


def test_quoted_separators_are_fine(tiny: Path) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text().replace("b1,B,Bo,T1", 'b1,B,"Bo, Jr.",T1'))
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(write_scheme(tiny, MIXED)), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    # the quoted comma is part of the name: B's numbers are those of the clean file
    assert "\n2,B,Bo,T1,25.95238095238095," in result.stdout


def test_value_map_keys_may_be_numbers_or_yes_no() -> None:
    text = """\
inputs:
  contacts:
    values:
      channel: {1: call, 2: sms, 3: visit}
      ptp: {yes: true, no: false}
missing: zero
metrics:
  call_connect_rate: {weight: 100, score: {method: percentile}}
grades: [{grade: A, min: 0}]
"""
    spec = parse_scheme(text).inputs.contacts
    assert spec.values["channel"] == {"1": "call", "2": "sms", "3": "visit"}
    assert spec.values["ptp"]["yes"] is True and spec.values["ptp"]["No"] is False


def _score(tiny: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(write_scheme(tiny, MIXED)), "-f", "csv"])
    return result.exit_code, result.stdout, result.stderr


def test_a_field_too_many_and_one_too_few_do_not_cancel_out(tiny: Path) -> None:
    # The file's separators add up to the header's count over all lines: only a count per
    # line (or a read that stops at the longer one) tells.
    cases = tiny / "2025-03" / "cases.csv"
    text = cases.read_text()
    text = text.replace("b1,B,Bo,T1,2025-03-01,4000,1000,", "b1,B,Bo,T1,2025-03-01,4,000,1000,")
    text = text.replace("c2,C,Cy,T2,2025-03-01,1000,0,0,,,M1", "c2,C,Cy,T2,2025-03-01,1000,0,0,,M1")
    cases.write_text(text)
    code, _, err = _score(tiny)
    assert code == 2
    assert "2 line(s) do not have the header's 11 fields (line 6 has 12, line 10 has 10)" in err


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_too_few_is_found_with_windows_line_ends(tiny: Path, quoted: bool) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    text = cases.read_text().replace("c2,C,Cy,T2,2025-03-01,1000,0,0,,,M1", "c2,C,Cy,T2,2025-03-01,1000,0,0,,M1")
    if quoted:  # a quote anywhere: the lines are counted one by one
        text = text.replace("b1,B,Bo,T1", 'b1,B,"Bo",T1')
    cases.write_bytes(text.replace("\n", "\r\n").encode())
    code, _, err = _score(tiny)
    assert code == 2
    assert "1 line(s) do not have the header's 11 fields (line 10 has 10)" in err


def test_windows_and_mixed_line_ends_score_as_the_clean_file(tiny: Path) -> None:
    _, clean, _ = _score(tiny)
    cases = tiny / "2025-03" / "cases.csv"
    lines = cases.read_text().splitlines(keepends=True)
    cases.write_bytes("".join(lines).replace("\n", "\r\n").encode())
    code, out, err = _score(tiny)
    assert (code, out) == (0, clean), err
    # one bare \n among \r\n: the sum falls short, and the count per line finds nothing wrong
    mixed = "".join(line.replace("\n", "\r\n") if i % 2 else line for i, line in enumerate(lines))
    cases.write_bytes(mixed.encode())
    code, out, err = _score(tiny)
    assert (code, out) == (0, clean), err


_VALUES = st.sampled_from(["", "x", "yy", "é", "案", " ", "a\rb", '"q"', "1.5"])
_LINES = st.lists(
    st.tuples(st.lists(_VALUES, min_size=1, max_size=5), st.sampled_from(["\n", "\r\n"])), min_size=1, max_size=8
)


def _verdicts(tmp: Path, text: str) -> tuple[bool, int]:
    """(whether the sum shows every line sound, the wrong lines counted one by one)."""
    path = tmp / "t.csv"
    path.write_bytes(text.encode())
    shape: list[ShapeCheck] = []
    frame = _scan_file(str(path), InputSpec(), "cases", shape)
    check = shape[0]
    try:
        total = frame.select(pl.col("_line_bytes").sum()).collect().item()
    except pl.exceptions.ComputeError:  # a line with a field too many
        total = None
    fit = check.fit is not None and check.fit.result()
    by_sum = check.line_bytes is not None and fit and total == check.line_bytes
    return by_sum, check.count_query().collect()["count"][0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_LINES, end=st.booleans())
def test_the_sum_never_passes_a_file_the_count_per_line_rejects(tmp_path: Path, lines: list, end: bool) -> None:
    body = "".join(",".join(values) + eol for values, eol in lines)
    text = "a,b,c\n" + (body if end else body.rstrip("\r\n"))
    by_sum, wrong = _verdicts(tmp_path, text)
    if by_sum:
        assert wrong == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.lists(_VALUES.filter(lambda v: '"' not in v and "\r" not in v), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    ),
    crlf=st.booleans(),
)
def test_the_sum_passes_a_sound_file_without_quotes(tmp_path: Path, rows: list, crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    text = eol.join(["a,b,c", *(",".join(r) for r in rows)]) + eol
    assert _verdicts(tmp_path, text) == (True, 0)


def _check(tmp_path: Path, text: str, **spec: Any) -> tuple[ShapeCheck, pl.DataFrame]:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    shape: list[ShapeCheck] = []
    _scan_file(str(path), InputSpec(**spec), "cases", shape)
    check = replace(shape[0], typed=frozenset({"id", "amount"}))
    return check, check.count_query().collect()


def test_lines_that_continue_a_record_are_counted(tmp_path: Path) -> None:
    text = 'id,name,amount\r\na1,"Ann\r\nSmith\r\nJr",1\r\na2,"Bo, ""B""",2\r\n'
    check, counts = _check(tmp_path, text)
    assert counts.row(0, named=True) == {"count": 0, "stray": 0, "continued": 2, "unclosed": False}
    assert check.error("cases", counts) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('id,name,amount\na1,"Ann\nSmith",1\na2,Bo,"2\n"\n', "lines 4–5 are one record: its amount holds a line break"),
        ('id,name,amount\na1,"Ann,1\na2,Bo,2\na3,Cy",3\n', "lines 2–4 are one record: its name holds 4 ','"),
        ('id,name,amount\na1,Ann "the boss",1\na2,Bo,2\n', "1 line(s) have a quote inside a value (line 2: a1,Ann"),
        ('id,name,amount\na1,x"y,1\na2,Bo,2\na3,p"q,3\n', 'line 2 has a quote inside a value (a1,x"y,1)'),
        ('id,name,amount\na1,Ann,1\n"a2,Bo,2\na3,Cy,3\n', "a quote is opened and never closed in column 'id' (line 3;"),
        ('id,name,amount\na1,"Ann\nSmith",1\na2,Bo\n', "1 line(s) do not have the header's 3 fields (line 4 has 2)"),
    ],
)
def test_records_across_lines_and_quotes_out_of_place_name_their_lines(tmp_path: Path, text: str, words: str) -> None:
    check, counts = _check(tmp_path, text)
    error = check.error("cases", counts)
    assert error is not None and words in error.message


def test_lines_are_numbered_below_skipped_lines(tmp_path: Path) -> None:
    check, counts = _check(tmp_path, 'exported 2025-04-01\nid,name,amount\na1,x"y,1\n', skip_rows=1)
    error = check.error("cases", counts)
    assert error is not None and 'line 3 has a quote inside a value (a1,x"y,1)' in error.message


NOTES_CASES = CASES.replace("dpd_bucket\n", "dpd_bucket,notes\n")
NOTES_CASES = NOTES_CASES.replace(",M1\n", ",M1,\n").replace(",M4+\n", ",M4+,\n")


def test_free_text_across_lines_keeps_every_row_and_counts_the_lines(tiny: Path) -> None:
    _, clean, _ = _score(tiny)
    cases = tiny / "2025-03" / "cases.csv"
    contacts = tiny / "2025-03" / "contacts.csv"
    # notes on three lines each in two case rows, one on two lines in the contact log
    cases.write_text(NOTES_CASES.replace(",M1,\n", ',M1,"called\nno answer, retry\nMonday"\n', 2))
    header, *rows = contacts.read_text().splitlines()
    notes = ['"a\r\nb"' if row.startswith("k11,") else "" for row in rows]
    contacts.write_text("\n".join([f"{header},note", *(f"{r},{n}" for r, n in zip(rows, notes, strict=True))]) + "\n")
    code, out, err = _score(tiny)
    assert (code, out) == (0, clean), err
    assert "cases 12 read, 12 used, 0 rejected (12 records on 16 lines);" in err
    # the note on two lines is the February contact's: of another month, not of this one
    assert "contacts 10 read, 10 used, 0 rejected (11 records on 12 lines) (1 of other months" in err
    scheme = str(write_scheme(tiny, MIXED))
    result = CliRunner().invoke(app, ["validate", "-m", "2025-03", "-c", scheme, "-f", "json"])
    tables = {t["table"]: t for t in json.loads(result.stdout)["tables"]}
    assert (tables["cases"]["read"], tables["cases"]["lines"]) == (12, 16)
    assert (tables["contacts"]["read"], tables["contacts"]["other_month"], tables["contacts"]["lines"]) == (10, 1, 12)


def test_the_lines_of_many_files_are_checked_each(tiny: Path) -> None:
    # a quoted header: each file's lines are counted one by one (more files than are counted
    # in one go), and a line with a field too many in the 90th is found
    header, *rows = (tiny / "2025-03" / "cases.csv").read_text().splitlines()
    folder = tiny / "2025-03" / "cases"
    folder.mkdir()
    quoted = header.replace("case_id", '"case_id"')
    for i in range(100):
        row = rows[i % len(rows)].replace(",", f",{i}x", 1) if i >= len(rows) else rows[i]
        (folder / f"part{i:03d}.csv").write_text(f"{quoted}\n{row}\n")
    scheme = str(write_scheme(tiny, MIXED))
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", scheme, "--cases", str(folder)])
    assert result.exit_code == 0, result.stderr
    assert "cases 100 read, 100 used" in result.stderr
    broken = folder / "part090.csv"
    broken.write_text(broken.read_text().replace(",4000,", ",4,000,").replace(",1000,", ",1,000,"))
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", scheme, "--cases", str(folder)])
    assert result.exit_code == 2
    assert f"cases: {broken}: 1 line(s) do not have the header's 11 fields (line 2 has 12)" in result.stderr
