"""Contact coverage: (collector, case) pairs matched as packed integers, exactly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from collector_kpi.aggregate import _coverage_query
from tests.test_fast_reading import _contacts, _month, assert_same


def _coverage(
    cases: Sequence[tuple[str, str | None]], contacts: Sequence[tuple[str, str | None]], packed: bool = True
) -> pl.DataFrame:
    def frame(pairs: Sequence[tuple[str, str | None]]) -> pl.LazyFrame:
        return pl.LazyFrame(
            {"collector_id": [p[0] for p in pairs], "case_id": [p[1] for p in pairs]},
            schema={"collector_id": pl.String, "case_id": pl.String},
        )

    used = {"cases": frame(cases), "contacts": frame(contacts)}
    collectors = pl.Series(sorted({c for c, _ in cases})) if packed else None
    return _coverage_query(used, collectors).collect().sort("collector_id")


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
    ]
    result = _coverage(cases, contacts)
    assert result.rows() == [("A", 2, False), ("B", 2, False)]
    assert _coverage(cases, contacts, packed=False).equals(result)


def test_any_other_collector_matches_nothing_whatever_the_count() -> None:
    # 256 collectors: their codes need 16 bits; the code for any other collector too.
    cases = [(f"C{i:03d}", "K1") for i in range(256)]
    result = _coverage(cases, [("X", "K1"), ("C255", "K1")])
    assert result.filter(pl.col("contacted_cases") > 0).rows() == [("C255", 1, False)]


def test_an_id_that_does_not_pack_says_so() -> None:
    for unpackable in ("K" * 13, "K" * 16, "案1", None):
        assert _coverage([("A", unpackable), ("A", "K1")], [("A", "K1")])["_unpacked"].any()
        assert _coverage([("A", "K1")], [("A", unpackable), ("A", "K1")])["_unpacked"].any()
    assert not _coverage([("A", "K1")], [("A", "K1"), ("A", "K2")])["_unpacked"].any()


def test_a_month_with_ids_that_do_not_pack_is_matched_as_strings(tmp_path: Path) -> None:
    # A's three case rows: a1, a2, a3 (from _month); contacted: a1, a3 and two ids that do not pack.
    contacts = _contacts(["A"] * 4, ["a1", "a3", "a" + "1" * 20, "案件1"])
    sums = assert_same(_month(tmp_path, contacts))
    assert sums is not None
    assert sums.collectors.row(0, named=True)["contacted_cases"] == 2


IDS = st.text(alphabet=st.sampled_from(["K", "1", "\0", " ", "é", "案"]), max_size=14)
PAIRS = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), IDS), max_size=12)


@given(cases=PAIRS, contacts=PAIRS)
def test_packed_keys_count_what_the_strings_do(cases: list[tuple[str, str]], contacts: list[tuple[str, str]]) -> None:
    packed = _coverage(cases, contacts)
    unpackable = any(len(i.encode()) > 12 or not i.isascii() for _, i in cases + contacts)
    assert packed["_unpacked"].any() == unpackable
    if not unpackable:
        assert packed.equals(_coverage(cases, contacts, packed=False))
