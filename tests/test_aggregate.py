"""Month sums: contact coverage matched as packed integers, and rows with rejected cells counted where they may."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector_kpi import aggregate, load_month, load_scheme
from collector_kpi.aggregate import MonthSums, _coverage_query, month_sums
from tests.conftest import write_scheme
from tests.test_fast_reading import _contacts, _month, assert_same


def _coverage(
    cases: Sequence[tuple[str, str | None]], contacts: Sequence[tuple[str, str | None]], packed: bool = True
) -> pl.DataFrame:
    def frame(pairs: Sequence[tuple[str, str | None]]) -> pl.LazyFrame:
        return pl.LazyFrame(
            {"collector_id": [p[0] for p in pairs], "case_id": [p[1] for p in pairs]},
            schema={"collector_id": pl.String, "case_id": pl.String},
        )

    # every case row in team T1 (the coverage is counted per collector and team)
    used = {"cases": frame(cases).with_columns(team_id=pl.lit("T1")), "contacts": frame(contacts)}
    codes = pl.Enum(sorted({c for c, _ in cases})) if packed else None
    covered = _coverage_query(used, codes).collect().sort("collector_id")
    assert (covered["team_id"] == "T1").all()
    return covered.drop("team_id")


def test_pairs_match_exactly_on_their_packed_keys() -> None:
    cases = [
        ("A", "K1"),  # contacted by A
        ("A", "K10"),  # only "K1" and "K100" were contacted: a prefix is not a match
        ("A", "K1\0"),  # a trailing NUL byte is a different id (the padding is NULs)
        ("A", "x" * 12),  # twelve bytes, the longest that packs: contacted
        ("B", "K1"),  # A's contact on K1 is not B's
        ("B", "K2"),  # B's contact
        ("B", ""),  # an empty id (length 0): contacted
    ]
    contacts = [
        ("A", "K1"),
        ("A", "K1"),
        ("A", "K100"),
        ("A", "x" * 12),
        ("B", "K2"),
        ("B", ""),
        ("C", "K10"),  # a collector without case rows matches nothing (not A's K10)
        ("B", None),
        ("A", "x" * 13),  # case ids that do not pack match no case row (none of them packs)
        ("A", "K1é"),
    ]
    result = _coverage(cases, contacts)
    assert result.rows() == [("A", 2), ("B", 2)]
    assert _coverage(cases, contacts, packed=False).equals(result)


def test_any_other_collector_matches_nothing_whatever_the_count() -> None:
    # 256 collectors: their codes need 16 bits.
    cases = [(f"C{i:03d}", "K1") for i in range(256)]
    result = _coverage(cases, [("X", "K1"), ("C255", "K1")])
    assert result.filter(pl.col("contacted_cases") > 0).rows() == [("C255", 1)]


def _codes_used(scheme: Path, monkeypatch: pytest.MonkeyPatch) -> list[pl.Enum | None]:
    """The collector codes each coverage of a month was matched with."""
    seen: list[pl.Enum | None] = []

    def spy(used: dict[str, pl.LazyFrame], codes: pl.Enum | None = None, coded: bool = False) -> pl.LazyFrame:
        seen.append(codes)
        return _coverage_query(used, codes, coded)

    monkeypatch.setattr(aggregate, "_coverage_query", spy)
    month_sums(load_scheme(scheme), load_month(load_scheme(scheme), "2025-03"))
    monkeypatch.undo()
    return seen


def test_case_ids_that_do_not_pack_are_matched_as_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A's case rows: a1, a2, a3 (from _month); contacted: a1, a3, and ids no case row has.
    contacts = _contacts(["A"] * 5, ["a1", "a3", "a" + "1" * 20, "案件1", "a1 "])
    scheme = _month(tmp_path, contacts)
    codes = _codes_used(scheme, monkeypatch)
    assert codes and all(c is not None and c.categories.to_list() == ["A"] for c in codes)
    sums = assert_same(scheme)
    assert sums is not None and sums.collectors.row(0, named=True)["contacted_cases"] == 2
    for long_or_not_ascii in ("a" + "1" * 20, "案件1"):
        cases = tmp_path / "2025-03" / "cases.csv"
        text = cases.read_text(encoding="utf-8").replace("a2,", f"{long_or_not_ascii},")
        cases.write_text(text, encoding="utf-8")
        codes = _codes_used(scheme, monkeypatch)
        assert codes and all(c is None for c in codes)
        sums = assert_same(scheme)
        assert sums is not None and sums.collectors.row(0, named=True)["contacted_cases"] == 3


PACKED = st.text(alphabet=st.sampled_from(["K", "1", "\0", " "]), max_size=12)
IDS = st.text(alphabet=st.sampled_from(["K", "1", "\0", " ", "é", "案"]), max_size=14)
COLLECTORS = st.sampled_from(["A", "B", "C"])


@given(cases=st.lists(st.tuples(COLLECTORS, PACKED), max_size=12), contacts=st.lists(st.tuples(COLLECTORS, IDS)))
def test_packed_keys_count_what_the_strings_do(cases: list[tuple[str, str]], contacts: list[tuple[str, str]]) -> None:
    assert _coverage(cases, contacts).equals(_coverage(cases, contacts, packed=False))


def test_contacts_are_summed_by_collector_code_and_the_others_by_their_id(tmp_path: Path) -> None:
    # A has case rows, so a code; B has none, " A" needs stripping, "" is blank: these
    # share the null code, and are grouped again by their ids.
    contacts = _contacts(["A", "B", "B", " A", ""], ["a1", "a2", "b9", "a3", "a1"])
    sums = assert_same(_month(tmp_path, contacts))
    assert sums is not None
    rows = {r["collector_id"]: r for r in sums.collectors.iter_rows(named=True)}
    assert (rows["A"]["calls"], rows["A"]["connected_calls"], rows["A"]["contacted_cases"]) == (2, 2, 2)
    assert (rows["B"]["calls"], rows["B"]["case_rows"]) == (2, 0)
    assert sums.stats["contacts"].rejected_by_reason == {"collector_id: missing value": 1}


def test_the_rows_without_a_code_are_read_again_only_if_there_are_any(tmp_path: Path) -> None:
    scheme = _month(tmp_path, _contacts(["A"], ["a1"]))
    data = load_month(load_scheme(scheme), "2025-03")
    params = aggregate.Params(data.start, data.end, 30, 24)
    codes = pl.Enum(["A", "C"])
    # C's code is 1: 1 * 4 + in the month (2) + fast (1) = 7; A's rows of another month: 0 + 0 + 1
    groups = pl.DataFrame({"_group": [7, 1], "_rows": [3, 1], "calls": [2, 1]}, schema_overrides={"_group": pl.UInt32})
    unreadable = pl.scan_parquet(tmp_path / "missing.parquet")  # fails if it is read
    decoded = aggregate._decode_groups(data, groups, unreadable, codes, ["calls"], params, by_sum=False)
    assert decoded.rows() == [("C", True, True, 3, 2), ("A", False, True, 1, 1)]
    # The columns whose cells can be rejected alone are counted too (the rows holding a value).
    cells = {column: [None] * 3 for column in data.tables["contacts"].cell_columns}
    uncoded = pl.LazyFrame(
        cells
        | {"collector_id": ["B", "B", None], "_in_month": [True] * 3, "_fast": [True] * 3, "channel": ["call"] * 3}
    )
    with_null = pl.concat([groups, pl.DataFrame({"_group": [None], "_rows": [3], "calls": [3]}, schema=groups.schema)])
    decoded = aggregate._decode_groups(data, with_null, uncoded, codes, ["calls"], params, by_sum=False)
    assert sorted(decoded.rows(), key=str) == [
        ("A", False, True, 1, 1),
        ("B", True, True, 2, 2),
        ("C", True, True, 3, 2),
        (None, True, True, 1, 1),
    ]
    with pytest.raises(RuntimeError, match="not read again in full"):  # a row lost on the way stops the run
        aggregate._decode_groups(data, with_null, uncoded.head(2), codes, ["calls"], params, by_sum=False)


def _tiny_with(tiny: Path, edits: list[tuple[str, str, str]], body: str) -> MonthSums:
    for name, old, new in edits:
        path = tiny / "2025-03" / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    scheme = load_scheme(write_scheme(tiny, body))
    return month_sums(scheme, load_month(scheme, "2025-03"))


def _sums_of(sums: MonthSums, collector: str) -> dict[str, Any]:
    return sums.collectors.filter(pl.col("collector_id") == collector).row(0, named=True)


CASE_METRICS = """\
name: cells
missing: reweight
metrics:
  recovery_rate: {weight: 40, score: {method: range, floor: 0.1, ceiling: 0.5}}
  settlement_rate: {weight: 30, score: {method: percentile}}
  handling_days: {weight: 30, score: {method: range, floor: 60, ceiling: 10}}
"""


def test_a_rejected_cell_leaves_its_row_out_of_the_sums_that_read_its_column(tiny: Path) -> None:
    """A's a2 has a settled_date that is no date, a4 an assigned_date that is no date.

    settled_cases: a4 only (a2's cell is rejected) = 1; settlement_rate's case rows: a1, a3, a4 = 3
    (a2 out of both sums); handling days read both dates: a2 and a4 out, 0 days over 0 cases; case
    rows and money count all four: 4 rows, 500 + 2000 + 0 + 600 = 3,100.00 of 5,000.00.
    """
    sums = _tiny_with(
        tiny,
        [
            ("cases.csv", "2000,2000,0,2025-03-10", "2000,2000,0,2025-03-1O"),
            ("cases.csv", "a4,A,Ann,T1,2025-03-01", "a4,A,Ann,T1,2025-03-x"),
        ],
        CASE_METRICS,
    )
    a = _sums_of(sums, "A")
    assert {name: a[name] for name in sums.components if name in a} == {
        "case_rows": 4,
        "recovered_cents": 310_000,
        "overdue_cents": 500_000,
        "settled_cases": 1,
        "case_rows[settled_date]": 3,
        "handling_days_total": 0,
        "settled_cases[assigned_date]": 0,
    }
    stats = sums.stats["cases"]
    assert (stats.read, stats.used, stats.rejected) == (12, 12, 0)
    assert stats.cells_by_column == {"settled_date": 1, "assigned_date": 1}
    assert sums.cell_rejects.select("_row", "_reject").rows() == [
        (3, "settled_date: not a date"),
        (5, "assigned_date: not a date"),
    ]
    # B and C have no rejected cell: their sums are the clean month's (B: b1 b2 b3, b2 settled in 73 days)
    b = _sums_of(sums, "B")
    assert (b["settled_cases"], b["case_rows[settled_date]"], b["handling_days_total"]) == (1, 3, 73)


CONTACT_METRICS = """\
name: cells
missing: reweight
metrics:
  call_connect_rate: {weight: 40, score: {method: percentile}}
  call_quality: {weight: 30, score: {method: range, floor: 50, ceiling: 100}}
  followup_timeliness: {weight: 30, score: {method: range, floor: 0.5, ceiling: 1}}
"""


@pytest.mark.parametrize("engine", ["fast", "held", "full"])
def test_rejected_contact_cells_give_the_same_sums_on_every_reading_path(
    tiny: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """k03's qa_score is 150, k02 is logged before its call.

    A's sampled calls: k01 alone (90.00 points); calls k01 k02 k03, connected k01 k03 (both
    cells are in columns those do not read); logged: k01 k03 k05 k06 (k02 out), on time within
    24 h: k01 (1 h) and k05 (0 h) = 2 of 4 (3 of 5 on the clean month).
    """
    if engine == "full":
        monkeypatch.setattr(aggregate, "FAST_TABLES", ())
    if engine == "held":
        monkeypatch.setattr(aggregate, "HELD_ROWS", 0)
    sums = _tiny_with(
        tiny,
        [
            ("contacts.csv", "false,,70,", "false,,150,"),
            ("contacts.csv", "no_answer,0,false,,,2025-03-03 12:00:00", "no_answer,0,false,,,2025-03-03 09:00:00"),
        ],
        CONTACT_METRICS,
    )
    a = _sums_of(sums, "A")
    assert (a["qa_sampled_calls"], a["qa_score_total"]) == (1, 9000)
    assert (a["calls[outcome]"], a["connected_calls"]) == (3, 2)
    assert (a["logged_contacts"], a["logged_on_time"]) == (4, 2)
    assert sums.stats["contacts"].cells_by_reason == {"qa_score: outside 0–100": 1, "logged_at: before contacted_at": 1}
    assert (sums.stats["contacts"].used, sums.stats["contacts"].rejected) == (10, 0)


def test_reconciliation_is_stated_per_file(tiny: Path) -> None:
    """cases.csv: a3's recovered_amount is no number (its row rejected, its overdue 1,000 rejected);
    b2's settled_date is no date (its cell rejected, its row and money used).

    recovered: 5,100 in all (a3's unread) = 5,100 used + 0 rejected; overdue: 17,000 in all = 16,000
    used + 1,000 rejected.
    """
    from collector_kpi import score

    edits = [
        ("cases.csv", "a3,A,Ann,T1,2025-03-05,1000,0", "a3,A,Ann,T1,2025-03-05,1000,n/a"),
        ("cases.csv", "2000,0,2000,2025-03-15", "2000,0,2000,2025-03-xx"),
    ]
    for name, old, new in edits:
        path = tiny / "2025-03" / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    scheme = load_scheme(write_scheme(tiny, CASE_METRICS))
    card = score(scheme, load_month(scheme, "2025-03"))
    assert card.reconciliation["inputs"] == {"recovered": 5100.0, "overdue": 16000.0, "case_rows": 11}
    assert card.reconciliation["files"] == [
        {
            "file": str(tiny / "2025-03" / "cases.csv"),
            "rows": 12,
            "used_rows": 11,
            "rejected_rows": 1,
            "recovered": {"total": 5100.0, "used": 5100.0, "rejected": 0.0, "unread_rows": 1},
            "overdue": {"total": 17000.0, "used": 16000.0, "rejected": 1000.0, "unread_rows": 0},
        }
    ]


def test_a_rejected_cell_leaves_its_row_out_of_the_fair_cells_too(tiny: Path) -> None:
    """settlement_rate adjusted by dpd_bucket, a2's settled_date no date: A's M1 cell holds a1 and a4
    (1 settled of 2), its M4+ cell a3 (0 of 1)."""
    body = CASE_METRICS.replace(
        "settlement_rate: {weight: 30, score: {method: percentile}}",
        "settlement_rate: {weight: 30, score: {method: percentile}, adjust: {segments: [dpd_bucket]}}",
    )
    sums = _tiny_with(tiny, [("cases.csv", "2000,2000,0,2025-03-10", "2000,2000,0,2025-03-1O")], body)
    cells = sums.cells["settlement_rate"].filter(pl.col("collector_id") == "A")
    assert cells.select("dpd_bucket", "num", "den").rows() == [("M1", 1, 2), ("M4+", 0, 1)]
