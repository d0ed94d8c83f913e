"""The fast reading of the contact log gives exactly what the full per-row reading gives.

The contact log is first reduced through its fast reading (channel and outcome matched as
written, ids grouped as read; see ``TableData.fast_frame``), and only the rows it cannot
take are read in full. These tests score months with the fast reading on and off and
require every sum, every count of the row accounting and every rejected row to be equal,
on clean months and on months with values that need stripping, lowercasing, mapping, or
that are rejected.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from collector_kpi import aggregate, load_month, load_scheme
from collector_kpi.aggregate import month_sums
from collector_kpi.errors import NoDataError
from collector_kpi.sources import WHITESPACE, _maybe_strippable
from tests.conftest import TINY_SCHEME, write_scheme
from tests.test_properties import MANY, SETTINGS, Month, months, scheme_file, write

# (column, value as written): values the fast reading leaves to the full one.
MESSY = [
    ("channel", " call"),
    ("channel", "CALL"),
    ("channel", "Sms "),
    ("channel", "fax"),
    ("channel", ""),
    ("outcome", "Connected"),
    ("outcome", " replied"),
    ("outcome", "maybe"),
    ("outcome", "sent"),  # an sms outcome, wrong for a call or a visit
    ("collector_id", " C1 "),
    ("collector_id", "C2\u3000"),  # an ideographic space, as Chinese exports have
    ("collector_id", "   "),
    ("case_id", " K000"),
    ("case_id", "K001 "),
    ("case_id", "  "),
    ("case_id", "K002\u3000"),
    ("case_id", "\u00a0K003"),
    ("case_id", "K案"),  # nothing to strip, but its last byte may end a space: read in full
    ("collector_id", "C1\u200b"),  # a zero-width space: the same collector C1
    ("collector_id", "Ｃ2"),  # full-width: C2 in NFKC
    ("case_id", "K004\ufeff"),  # a byte-order mark inside the value
    ("case_id", "Ｋ005"),
    ("case_id", "K0\u200d06"),  # a zero-width joiner inside: K006
    ("ptp", "yes"),
    ("ptp", " TRUE"),
    ("ptp", "是"),
    ("ptp", "perhaps"),
    ("qa_score", "101"),
    ("qa_score", " 90"),
    ("qa_score", "95.5 "),
    ("contacted_at", " 2025-03-05 10:00:00"),
    ("contacted_at", "2025-02-27 10:00:00 "),  # last month's, padded: skipped, not lost
    ("logged_at", "2025-03-05 11:00:00 "),
    ("contacted_at", "yesterday"),
    ("logged_at", "later"),
]


def _sums(scheme_path: Path, fast: bool, held: int = aggregate.HELD_ROWS) -> aggregate.MonthSums:
    scheme = load_scheme(scheme_path)
    tables = aggregate.FAST_TABLES if fast else ()
    with mock.patch.object(aggregate, "FAST_TABLES", tables), mock.patch.object(aggregate, "HELD_ROWS", held):
        return month_sums(scheme, load_month(scheme, "2025-03"))


def assert_same(scheme_path: Path) -> aggregate.MonthSums | None:
    try:
        full = _sums(scheme_path, False)
    except NoDataError as exc:  # a month with no usable contact: the same error either way
        with pytest.raises(NoDataError) as fast_error:
            _sums(scheme_path, True)
        assert fast_error.value.message == exc.message
        return None
    # the rows the fast reading leaves held in memory (few), and read again (many)
    for fast in (_sums(scheme_path, True), _sums(scheme_path, True, held=0)):
        assert_frame_equal(fast.collectors, full.collectors)
        assert {t: s.to_dict() for t, s in fast.stats.items()} == {t: s.to_dict() for t, s in full.stats.items()}
        order = ["table", "_file", "_row"]
        assert fast.rejects.sort(order).equals(full.rejects.sort(order))
        assert fast.input_totals == full.input_totals
    return fast


@SETTINGS
@given(month=months(), picks=st.lists(st.tuples(st.sampled_from(MESSY), st.integers(0, 10_000)), max_size=10))
def test_the_fast_reading_equals_the_full_one(month: Month, picks: list[tuple[tuple[str, str], int]]) -> None:
    rows = month.tables["contacts"]
    for (column, value), pick in picks:
        index = pick % len(rows)
        if index == 0 and column in ("contacted_at", "collector_id", "channel", "outcome", "case_id"):
            continue  # keep the first (March) contact usable, so the month has contacts
        rows[index] = {**rows[index], column: value}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(month, folder)
        assert_same(scheme_file(folder, MANY))


def test_messy_values_are_read_as_their_canonical_ones(tiny: Path) -> None:
    """A contact written ' Call ' / 'CONNECTED' by ' A ' counts for A like 'call' / 'connected'."""
    contacts = tiny / "2025-03" / "contacts.csv"
    lines = contacts.read_text(encoding="utf-8").splitlines()
    # k03: a2, A, call, connected → padded and upper-cased, still A's connected call on a2
    lines[3] = lines[3].replace(",a2,A,call,", ", a2 , A , Call ,").replace(",connected,", ",CONNECTED,")
    contacts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scheme = write_scheme(
        tiny,
        """\
        name: messy
        missing: reweight
        metrics:
          call_connect_rate: {weight: 50, score: {method: percentile}}
          contact_coverage: {weight: 50, score: {method: percentile}}
        """,
    )
    sums = assert_same(scheme)
    assert sums is not None
    a = sums.collectors.filter(pl.col("collector_id") == "A").row(0, named=True)
    # A: calls k01 k02 k03, connected k01 k03; contacted cases a1 a2 a3 a4 (k01..k06)
    assert (a["calls"], a["connected_calls"], a["contacted_cases"]) == (3, 2, 4)
    assert sums.stats["contacts"].rejected == 0


def test_spellings_of_the_first_rows_take_the_fast_reading(tiny: Path) -> None:
    """An Excel export writing TRUE / Call everywhere is read fast, as the full reading does."""
    contacts = tiny / "2025-03" / "contacts.csv"
    text = contacts.read_text(encoding="utf-8")
    text = text.replace(",call,", ",Call,").replace(",true,", ",TRUE,").replace(",false,", ",FALSE,")
    contacts.write_text(text, encoding="utf-8")
    scheme = load_scheme(write_scheme(tiny, TINY_SCHEME.replace("call_connect_rate", "ptp_rate")))
    data = load_month(scheme, "2025-03")
    fast = data.tables["contacts"].fast_frame().select(pl.col("_fast").all()).collect().item()
    assert fast  # no row left to the full reading
    sums = assert_same(tiny / "scheme.yaml")
    assert sums is not None
    a = sums.collectors.filter(pl.col("collector_id") == "A").row(0, named=True)
    assert (a["connected_calls"], a["ptp_connected_calls"]) == (2, 1)  # k01 promised, k03 did not


def test_mapped_codes_take_the_fast_reading_where_exact(tmp_path: Path) -> None:
    """`values` codes (电话 → call, 1 → connected) read fast; a value written with spaces
    around it is stripped first (" 电话 " is call) in either reading."""
    folder = tmp_path / "2025-03"
    folder.mkdir()
    (folder / "contacts.csv").write_text(
        "case_id,collector_id,channel,contacted_at,outcome\n"
        "a1,A,电话,2025-03-02 10:00:00,1\n"
        "a1,A,电话,2025-03-03 10:00:00,2\n"
        "a2,A, 电话 ,2025-03-04 10:00:00,1\n"
        "a3,A,短信,2025-03-05 10:00:00,1\n"  # 1 is connected, not an sms outcome: rejected
        "b1,B,Call,2025-03-05 10:00:00,1\n"
        "b1,B, x ,2025-03-06 10:00:00,1\n",
        encoding="utf-8",
    )
    scheme = tmp_path / "scheme.yaml"
    scheme.write_text(
        "name: mapped\nmissing: reweight\n"
        "inputs:\n  contacts:\n    path: '{month}/contacts.csv'\n"
        "    values:\n      channel: {电话: call, 短信: sms}\n"
        "      outcome: {1: connected, 2: no_answer}\n"
        "metrics:\n  call_connect_rate: {weight: 100, score: {method: percentile}}\n"
        "grades:\n  - {grade: A, min: 0}\n",
        encoding="utf-8",
    )
    sums = assert_same(scheme)
    assert sums is not None
    by_id = {row["collector_id"]: row for row in sums.collectors.iter_rows(named=True)}
    assert (by_id["A"]["calls"], by_id["A"]["connected_calls"]) == (3, 2)
    assert (by_id["B"]["calls"], by_id["B"]["connected_calls"]) == (1, 1)
    assert sums.stats["contacts"].rejected_by_reason == {}  # the rows are used, their cells rejected
    assert sums.stats["contacts"].cells_by_reason == {
        "channel: unknown channel": 1,
        "outcome: not an outcome of this channel": 1,
    }


CALLS = """\
name: calls
missing: reweight
metrics:
  call_connect_rate: {weight: 50, score: {method: percentile}}
  contact_coverage: {weight: 50, score: {method: percentile}}
grades:
  - {grade: A, min: 0}
"""


def _month(tmp_path: Path, contacts: pl.DataFrame, inputs: str = "") -> Path:
    folder = tmp_path / "2025-03"
    folder.mkdir()
    contacts.write_parquet(folder / "contacts.parquet")
    pl.DataFrame(
        {
            "case_id": ["a1", "a2", "a3"],
            "collector_id": ["A", "A", "A"],
            "team_id": ["T1"] * 3,
            "assigned_date": ["2025-03-01"] * 3,
            "overdue_amount": ["100"] * 3,
            "recovered_amount": ["0"] * 3,
        }
    ).write_csv(folder / "cases.csv")
    scheme = tmp_path / "scheme.yaml"
    scheme.write_text(
        "inputs:\n  cases: {path: '{month}/cases.csv'}\n  contacts:\n    path: '{month}/contacts.parquet'\n"
        + inputs
        + CALLS,
        encoding="utf-8",
    )
    return scheme


def _contacts(collectors: list[str], cases: list[str]) -> pl.DataFrame:
    n = len(collectors)
    return pl.DataFrame(
        {
            "case_id": cases,
            "collector_id": collectors,
            "channel": ["call"] * n,
            "contacted_at": ["2025-03-02 10:00:00"] * n,
            "outcome": ["connected"] * n,
        }
    )


def test_categorical_ids_are_stripped_in_both_readings(tmp_path: Path) -> None:
    contacts = _contacts(["A", " A", "", "A\u3000"], ["a1", "a2", "a3", "a3"])
    scheme = _month(tmp_path, contacts.with_columns(pl.col("collector_id").cast(pl.Categorical)))
    sums = assert_same(scheme)
    assert sums is not None
    a = sums.collectors.filter(pl.col("collector_id") == "A").row(0, named=True)
    assert (a["calls"], a["contacted_cases"]) == (3, 3)
    assert sums.stats["contacts"].rejected_by_reason == {"collector_id: missing value": 1}


def test_zero_width_and_full_width_ids_are_one_id_in_both_readings(tmp_path: Path) -> None:
    """A\u200b, \ufeffA and Ａ are collector A; a\u200b1 and ａ2 are cases a1 and a2."""
    contacts = _contacts(["A\u200b", "\ufeffA", "Ａ", "A"], ["a\u200b1", "ａ2", "a3\u2060", "a1"])
    for stored in (pl.String, pl.Categorical):
        folder = tmp_path / str(stored)
        folder.mkdir()
        sums = assert_same(_month(folder, contacts.with_columns(pl.col("collector_id").cast(stored))))
        assert sums is not None
        assert sums.collectors["collector_id"].to_list() == ["A"]
        a = sums.collectors.row(0, named=True)
        assert (a["calls"], a["contacted_cases"]) == (4, 3)
        assert sums.stats["contacts"].rejected == 0


def test_mapped_ids_take_the_full_reading(tmp_path: Path) -> None:
    """`values` on an id (old staff numbers → ids) counts the mapped rows as the mapped id."""
    contacts = _contacts(["A", "007", "A", "００７\u200b"], ["a1", "a2", "X3", "a2"])  # ００７: 007 as matched
    inputs = "    values:\n      collector_id: {'007': A}\n      case_id: {X3: a3}\n"
    sums = assert_same(_month(tmp_path, contacts, inputs))
    assert sums is not None
    assert sums.collectors["collector_id"].to_list() == ["A"]
    a = sums.collectors.row(0, named=True)
    assert (a["calls"], a["contacted_cases"]) == (4, 3)


def test_ids_are_text_per_file_and_categories_stack(tmp_path: Path) -> None:
    """An id stored as 1 in one file and 2.5 in another stays "1" (not "1.0"); a channel
    stored as an Enum in one file and a Categorical in another still stacks."""
    scheme = _month(tmp_path, _contacts(["A"], ["a1"]))
    folder = tmp_path / "2025-03"
    (folder / "contacts.parquet").unlink()
    (folder / "contacts").mkdir()
    scheme.write_text(scheme.read_text(encoding="utf-8").replace("contacts.parquet", "contacts/"), encoding="utf-8")
    (folder / "cases.csv").write_text(
        "case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount\n"
        "1,A,T1,2025-03-01,100,0\n2.5,A,T1,2025-03-01,100,0\n",
        encoding="utf-8",
    )
    first = _contacts(["A"], ["x"]).with_columns(case_id=pl.lit(1), channel=pl.col("channel").cast(pl.Categorical))
    second = _contacts([" A"], ["x"]).with_columns(
        case_id=pl.lit(2.5), channel=pl.col("channel").cast(pl.Enum(["call", "sms"]))
    )
    first.write_parquet(folder / "contacts" / "a.parquet")
    second.write_parquet(folder / "contacts" / "b.parquet")
    sums = assert_same(scheme)
    assert sums is not None
    a = sums.collectors.row(0, named=True)
    assert (a["collector_id"], a["calls"], a["contacted_cases"]) == ("A", 2, 2)


def test_a_blank_channel_is_missing_not_unknown(tmp_path: Path) -> None:
    contacts = _contacts(["A", "A"], ["a1", "a2"]).with_columns(channel=pl.Series(["call", "   "]))
    sums = assert_same(_month(tmp_path, contacts))
    assert sums is not None
    assert sums.stats["contacts"].cells_by_reason == {"channel: missing value": 1}


def test_whitespace_is_what_polars_strips() -> None:
    points = pl.Series([chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF])
    stripped = points.filter(points.str.strip_chars() == "")
    assert stripped.to_list() == list(WHITESPACE)


def test_a_text_not_maybe_strippable_has_nothing_to_strip() -> None:
    # Every text of up to three characters from the whitespace and a few others.
    alphabet = [*WHITESPACE, "K", "1", "é", "案", "件", "ア", "\x1c", "\u200b"]
    texts = [""] + ["".join(chars) for size in (1, 2, 3) for chars in itertools.product(alphabet, repeat=size)]
    frame = pl.DataFrame({"t": [*texts, None]}).with_columns(maybe=_maybe_strippable(pl.col("t")))
    clean = frame.filter(~pl.col("maybe"))["t"]
    assert clean.null_count() == 0 and (clean != "").all()
    assert (clean.str.strip_chars() == clean).all()
    assert {"K", "1K", "件", "K案K", "K\u200b"} <= set(clean)  # the usual ids are not
