"""Records that run across lines, and quotes out of place, told apart line by line."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector_kpi.csv_records import QuoteOutOfPlace, Record, record_problem, records, split_record, well_quoted_line


def test_split_record_reads_quoted_values_as_the_csv_module_does() -> None:
    text = 'a,"b, c","say ""hi""\nthere",\r\nnext,row\n'
    values, end = split_record(text, ",")
    assert values == ["a", "b, c", 'say "hi"\nthere', ""]
    assert text[end:] == "next,row\n"
    assert values == next(csv.reader(io.StringIO(text)))


def test_an_open_quote_runs_to_the_end() -> None:
    values, end = split_record('a,"b\nc', ",")
    assert values == ["a", "b\nc"] and end == len('a,"b\nc') + 1


@pytest.mark.parametrize(("text", "offset"), [('a,x"y,b', 3), ('a,"Ann"x,b', 7), ('a, "x",b', 3)])
def test_a_quote_out_of_place_is_found_where_it_is(text: str, offset: int) -> None:
    with pytest.raises(QuoteOutOfPlace) as caught:
        split_record(text, ",")
    assert caught.value.offset == offset


_VALUE = st.text(alphabet='ab,"\n ', max_size=6)


@given(rows=st.lists(st.lists(_VALUE, min_size=1, max_size=4), min_size=1, max_size=4))
def test_split_record_reads_what_the_csv_module_writes(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text, read = buffer.getvalue(), []
    while text:
        values, end = split_record(text, ",")
        read.append(values)
        text = text[end:]
    assert read == rows


def test_well_quoted_lines() -> None:
    pattern = re.compile(well_quoted_line(","))
    for line in ('a,"b, c",d', '"say ""hi""",x\r', ",,", ""):
        assert pattern.match(line), line
    for line in ('a,x"y,b', 'a,Ann "the boss",b', 'a,"b"c', 'a, "b"'):
        assert not pattern.match(line), line


def test_records_group_the_lines_of_each_record() -> None:
    lines = [(2, 'a,"one', False), (3, 'two",b', True), (5, 'c,"x', False), (6, "", True), (7, 'y"', True)]
    found = list(records(lines, ","))
    assert found == [Record(2, 3, ["a", "one\ntwo", "b"]), Record(5, 7, ["c", "x\n\ny"])]


def test_records_name_the_line_of_a_quote_out_of_place() -> None:
    with pytest.raises(QuoteOutOfPlace) as caught:
        list(records([(4, 'a,x"y', False), (5, "b", True), (6, 'c,p"q', True)], ","))
    assert caught.value.offset == 4


NAMES = ("case_id", "collector_name", "overdue_amount")


def _problem(record: Record) -> str | None:
    return record_problem(record, NAMES, 3, ",", {"case_id", "overdue_amount"})


def test_a_line_break_in_free_text_is_no_problem() -> None:
    assert _problem(Record(2, 3, ["a1", "Ann\nSmith", "100"])) is None


def test_a_line_break_in_an_id_or_amount_is() -> None:
    assert "lines 2–3 are one record: its case_id holds a line break" in str(_problem(Record(2, 3, ["a\n1", "", "1"])))
    problem = _problem(Record(2, 3, ["a1", "", "1\n"]))
    assert problem is not None and "its overdue_amount holds a line break" in problem


def test_rows_merged_into_a_free_text_value_are() -> None:
    # a quote opened in the name on line 2 closes on line 4: two rows' worth of ',' inside
    merged = Record(2, 4, ["a1", "李四,100\na2,Bo,200\na3,王五", "300"])
    assert _problem(merged) == (
        "lines 2–4 are one record: its collector_name holds 4 ',' across 2 line break(s), whole rows merged into "
        "one value; a quote opened on line 2 closes only on line 4"
    )


def test_a_record_of_another_field_count_or_never_closed_is() -> None:
    assert "with 4 fields, not the header's 3" in str(_problem(Record(2, 3, ["a", "b\nc", "1", "x"])))
    assert _problem(Record(5, 9, ["a", "b\nc\nd\ne\nf"], closed=False)) == (
        "cannot read: a quote is opened and never closed in column 'collector_name' "
        "(line 5; the 4 line(s) below it would be one value)"
    )
