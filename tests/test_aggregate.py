"""Contact coverage: (collector, case) pairs matched as packed integers, exactly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector_kpi import aggregate, load_month, load_scheme
from collector_kpi.aggregate import _coverage_query, month_sums
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
    uncoded = pl.LazyFrame(
        {"collector_id": ["B", "B", None], "_in_month": [True] * 3, "_fast": [True] * 3, "channel": ["call"] * 3}
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
