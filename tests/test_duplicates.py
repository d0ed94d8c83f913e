"""Rows that would count twice: copies of a file's rows, and a row key seen twice.

On conftest.py's tiny month (roster A 5000, B 2000, C 1000, D 1000; cases without a
month column; contacts k01..k11 in order).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collector_kpi import load_month, load_scheme
from collector_kpi.aggregate import month_sums
from collector_kpi.duplicates import row_key
from collector_kpi.errors import InputError
from tests.conftest import write_month, write_scheme

TARGETS = """\
name: targets
missing: reweight
metrics:
  target_attainment: {weight: 100, score: {method: target, target: 1.0}}
"""


def _with_policy(root: Path, table: str, policy: str, body: str = TARGETS) -> Path:
    scheme = write_scheme(root, body)
    path = f'"{{month}}/{table}.csv"'
    text = scheme.read_text(encoding="utf-8").replace(f"{path}}}", f"{path}, duplicates: {policy}}}")
    scheme.write_text(text, encoding="utf-8")
    return scheme


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "columns", "scoped", "expected"),
    [
        ("cases", ["case_id", "collector_id", "team_id"], False, ["case_id", "collector_id"]),
        ("cases", ["case_id", "collector_id", "month"], True, ["case_id", "collector_id", "month"]),
        ("cases", ["case_id", "collector_id"], True, ["case_id", "collector_id", "_scope"]),
        ("contacts", ["contact_id", "case_id", "collector_id"], True, ["contact_id"]),
        ("contacts", ["case_id", "collector_id"], False, []),
        ("reviews", ["collector_id", "month", "knowledge"], False, ["collector_id", "month"]),
        ("reviews", ["collector_id"], False, ["collector_id"]),
        ("roster", ["collector_id", "target_amount"], True, ["collector_id", "_scope"]),
    ],
)
def test_row_key(table: str, columns: list[str], scoped: bool, expected: list[str]) -> None:
    assert row_key(table, columns, scoped) == expected


def test_a_collector_listed_twice_on_the_roster_is_an_error(tiny: Path) -> None:
    scheme = load_scheme(write_scheme(tiny, TARGETS))
    roster = tiny / "2025-03" / "roster.csv"
    _append(roster, "D,Di,T2,3000,true\n")  # row 6; D is row 5
    with pytest.raises(InputError) as caught:
        month_sums(scheme, load_month(scheme, "2025-03"))
    assert caught.value.message.startswith(
        f"roster: the same collector_id (collector_id D) is in {roster} row 5 and {roster} row 6;"
    )


@pytest.mark.parametrize(("policy", "target"), [("first", 1000), ("last", 3000)])
def test_a_roster_target_is_one_row_s_never_a_sum(tiny: Path, policy: str, target: int) -> None:
    scheme = load_scheme(_with_policy(tiny, "roster", policy))
    _append(tiny / "2025-03" / "roster.csv", "D,Di,T2,3000,true\n")
    sums = month_sums(scheme, load_month(scheme, "2025-03"))
    targets = dict(sums.collectors.select("collector_id", "target_cents").iter_rows())
    assert targets == {"A": 500_000, "B": 200_000, "C": 100_000, "D": target * 100}
    roster = sums.stats["roster"]
    assert (roster.read, roster.used, roster.rejected, roster.duplicates) == (5, 4, 0, 1)
    assert roster.dropped is not None and roster.dropped.rows == ((6,) if policy == "first" else (5,))


def test_contact_ids_out_of_order_are_still_checked(tiny: Path) -> None:
    scheme = load_scheme(
        write_scheme(
            tiny,
            "name: c\nmissing: reweight\nmetrics:\n  call_connect_rate: {weight: 100, score: {method: percentile}}\n",
        )
    )
    contacts = tiny / "2025-03" / "contacts.csv"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_text(text.replace("k01,", "k99,"), encoding="utf-8")  # unique, not in order
    sums = month_sums(scheme, load_month(scheme, "2025-03"))
    assert sums.stats["contacts"].used == 10
    contacts.write_text(text.replace("k01,", "k07,"), encoding="utf-8")  # k07 is row 8
    with pytest.raises(InputError, match=f"contact_id k07\\) is in {contacts} row 2 and {contacts} row 8"):
        month_sums(scheme, load_month(scheme, "2025-03"))


def test_each_month_of_a_period_may_hold_the_same_rows(tmp_path: Path) -> None:
    # The tiny cases have no month column: each month's file is that month's, the same rows.
    write_month(tmp_path, "2025-02")
    write_month(tmp_path, "2025-03")
    scheme = load_scheme(write_scheme(tmp_path, TARGETS))
    sums = month_sums(scheme, load_month(scheme, "2025-02..2025-03"))
    assert (sums.stats["cases"].read, sums.stats["roster"].read) == (24, 8)
    # a monthly target for each month: D 1000 twice
    assert dict(sums.collectors.select("collector_id", "target_cents").iter_rows())["D"] == 200_000
    # but one glob reaching both months' rosters names them for the whole period: the same rows twice
    glob = str(tmp_path / "*" / "roster.csv")
    with pytest.raises(InputError, match="hold the same 4 rows"):
        month_sums(scheme, load_month(scheme, "2025-02..2025-03", {"roster": glob}))
    # … and where they differ, each collector twice: their targets would add up (and count for each month)
    february = tmp_path / "2025-02" / "roster.csv"
    february.write_text(february.read_text(encoding="utf-8").replace("D,Di,T2,1000", "D,Di,T2,1500"), encoding="utf-8")
    with pytest.raises(
        InputError, match=f"roster: the same collector_id \\(collector_id A\\) is in {february} row 2 and"
    ):
        month_sums(scheme, load_month(scheme, "2025-02..2025-03", {"roster": glob}))


def test_a_dropped_row_is_dropped_once_when_scored_again(tiny: Path) -> None:
    scheme = load_scheme(_with_policy(tiny, "cases", "first"))
    _append(tiny / "2025-03" / "cases.csv", "a1,A,Ann,T1,2025-03-01,1000,900,0,,,M1\n")
    data = load_month(scheme, "2025-03")
    first, again = month_sums(scheme, data), month_sums(scheme, data)
    assert first.collectors.equals(again.collectors)
    assert (again.stats["cases"].read, again.stats["cases"].used, again.stats["cases"].duplicates) == (13, 12, 1)


def test_small_files_of_as_many_rows_read_together_are_compared_by_their_own_rows(tmp_path: Path) -> None:
    """The contact log in three small files, two of them with as many rows (so compared for
    copies) and read in one scan: not copies, and the month scores as from one file."""
    from collector_kpi import score
    from tests.conftest import CONTACTS, GRADES, INPUTS, TINY_SCHEME

    folder = write_month(tmp_path)
    one = tmp_path / "one.yaml"
    one.write_text(INPUTS + TINY_SCHEME + GRADES, encoding="utf-8")
    scheme = load_scheme(one)
    want = score(scheme, load_month(scheme, "2025-03")).table("collector")
    header, *rows = CONTACTS.splitlines()
    for number, part in enumerate((rows[:5], rows[5:10], rows[10:])):
        (folder / f"log{number}.csv").write_text("\n".join([header, *part]) + "\n", encoding="utf-8")
    split = tmp_path / "split.yaml"
    split.write_text(
        INPUTS.replace("{month}/contacts.csv", "{month}/log*.csv") + TINY_SCHEME + GRADES, encoding="utf-8"
    )
    scheme = load_scheme(split)
    got = score(scheme, load_month(scheme, "2025-03")).table("collector")
    assert got.equals(want)
