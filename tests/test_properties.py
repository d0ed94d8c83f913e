"""Properties of every valid month (hypothesis): bounded scores, total ranks, order-free
output and complete row accounting.

A month is a few collectors in a few teams, up to 60 cases and 80 contacts (some of them
February's), a roster and reviews, written as CSV into a fresh folder for each example.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.api import validate
from collector_kpi.cli import app
from collector_kpi.metrics import rejects_row
from collector_kpi.sources import OUTCOMES

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

COLUMNS = {
    "cases": [
        "case_id", "collector_id", "collector_name", "team_id", "assigned_date", "overdue_amount",
        "recovered_amount", "waived_amount", "settled_date", "first_payment_date", "dpd_bucket",
    ],
    "contacts": [
        "contact_id", "case_id", "collector_id", "channel", "contacted_at", "outcome", "duration_s", "ptp",
        "qa_score", "logged_at",
    ],
    "reviews": ["collector_id", "month", "call_quality", "knowledge", "teamwork", "violations"],
    "roster": ["collector_id", "collector_name", "team_id", "target_amount", "active"],
}  # fmt: skip

MARCH = date(2025, 3, 1)

# Every method, a gate, eligibility and the fallbacks (call_quality, sms with no sms …).
MANY = """\
name: many
missing: reweight
eligibility: {min_cases: 2}
params: {sla_days: 10, followup_hours: 12}
metrics:
  case_count: {weight: 5, score: {method: percentile}}
  recovery_rate: {weight: 15, score: {method: range, floor: 0.05, ceiling: 0.6}}
  target_attainment: {weight: 10, score: {method: target, target: 1, cap: 1.2}}
  team_recovery_rate: {weight: 5, score: {method: percentile}}
  settlement_rate: {weight: 10, score: {method: band, low: 0.2, high: 0.5, falloff: 0.3}}
  handling_days: {weight: 5, score: {method: range, floor: 40, ceiling: 5}}
  cycle_days: {weight: 5, score: {method: target, target: 7}}
  waiver_rate: {weight: 5, better: lower, score: {method: percentile}}
  call_connect_rate: {weight: 10, score: {method: percentile}}
  sms_reply_rate: {weight: 5, score: {method: range, floor: 0, ceiling: 0.5}}
  visit_rate: {weight: 5, score: {method: band, low: 0.5, high: 1, falloff: 0.5}}
  ptp_rate: {weight: 5, score: {method: target, target: 0.4}}
  call_quality: {weight: 5, score: {method: range, floor: 50, ceiling: 95}}
  contact_coverage: {weight: 5, score: {method: percentile}}
  followup_timeliness: {weight: 5, score: {method: range, floor: 0.2, ceiling: 0.9}}
gates:
  - {metric: violations, above: 1, action: ineligible}
  - {metric: violations, above: 0, action: cap_grade, grade: B}
grades:
  - {grade: A, min: 80}
  - {grade: B, min: 50}
  - {grade: C, min: 0}
"""

# Smaller schemes, so that most collectors are eligible and the percentile has peers.
PAIRS = {
    "percentile+band": """\
  case_count: {weight: 30, score: {method: percentile}}
  settlement_rate: {weight: 70, score: {method: band, low: 0.2, high: 0.5, falloff: 0.3}}
""",
    "range+target": """\
  recovery_rate: {weight: 45, score: {method: range, floor: 0.05, ceiling: 0.6}}
  target_attainment: {weight: 55, score: {method: target, target: 1, cap: 1.2}}
""",
    "contacts": """\
  call_connect_rate: {weight: 50, score: {method: percentile}}
  call_quality: {weight: 50, score: {method: range, floor: 50, ceiling: 95}}
""",
}


def pair_scheme(metrics: str) -> str:
    return (
        "name: pair\nmissing: zero\neligibility: {min_cases: 1}\nmetrics:\n"
        + metrics
        + "grades:\n  - {grade: A, min: 60}\n  - {grade: B, min: 0}\n"
    )


# Fair scores: case mix by bucket and K estimated from the month (float sums everywhere).
FAIR = """\
  recovery_rate:
    weight: 40
    score: {method: range, floor: 0.05, ceiling: 0.6}
    adjust: {segments: [dpd_bucket]}
    shrink: {k: auto, toward: team}
  success_rate: {weight: 30, score: {method: percentile}, shrink: {k: auto}}
  call_connect_rate: {weight: 30, score: {method: percentile}, shrink: {k: auto}}
"""

# … and teams scored by the mean of their members' scores (a float mean per team).
SCHEMES = {
    "many": MANY,
    "fair": pair_scheme(FAIR) + "team: {method: mean}\n",
    **{name: pair_scheme(body) for name, body in PAIRS.items()},
}

BUCKETS = ["M1", "M2", "M3", "M4+"]


INPUTS = {
    "cases": "cases*.csv",
    "contacts": "contacts*.csv",
    "reviews": "reviews*.csv",
    "roster": "roster*.csv",
}


@dataclass
class Month:
    tables: dict[str, list[dict[str, Any]]]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _day(offset: int) -> str:
    return (MARCH + timedelta(days=offset)).isoformat()


@st.composite
def months(draw: st.DrawFn) -> Month:
    n_collectors = draw(st.integers(2, 6))
    teams = {f"C{i}": f"T{draw(st.integers(1, 3))}" for i in range(1, n_collectors + 1)}
    ids = list(teams)
    cases: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 60))):
        who = draw(st.sampled_from(ids))
        overdue = draw(st.integers(0, 5_000_000))
        recovered = draw(st.integers(0, overdue))
        waived = draw(st.integers(0, overdue - recovered))
        assigned = draw(st.integers(-40, 30))
        settled = draw(st.none() | st.integers(assigned, 45))
        paid = draw(st.none() | st.integers(assigned, 45))
        cases.append(
            {
                "case_id": f"K{index:03d}",
                "collector_id": who,
                "collector_name": f"name {who}",
                "team_id": teams[who],
                "assigned_date": _day(assigned),
                "overdue_amount": _money(overdue),
                "recovered_amount": _money(recovered),
                "waived_amount": _money(waived),
                "settled_date": "" if settled is None else _day(settled),
                "first_payment_date": "" if paid is None else _day(paid),
                "dpd_bucket": draw(st.sampled_from(BUCKETS)),
            }
        )
    contacts: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 80))):
        case = draw(st.sampled_from(cases))
        who = case["collector_id"] if draw(st.booleans()) else draw(st.sampled_from(ids))
        channel = draw(st.sampled_from(sorted(OUTCOMES)))
        # the first contact is always March's, so the month has contacts; a few are February's
        minute = (
            draw(st.integers(0, 31 * 24 * 60 - 1)) if index == 0 else draw(st.integers(-3 * 24 * 60, 31 * 24 * 60 - 1))
        )
        at = datetime(2025, 3, 1) + timedelta(minutes=minute)
        logged = draw(st.none() | st.integers(0, 48 * 60))
        call = channel == "call"
        contacts.append(
            {
                "contact_id": f"k{index:03d}",
                "case_id": case["case_id"],
                "collector_id": who,
                "channel": channel,
                "contacted_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "outcome": draw(st.sampled_from(OUTCOMES[channel])),
                "duration_s": str(draw(st.integers(0, 900))) if call else "",
                "ptp": draw(st.sampled_from(["true", "false", ""])) if call else "",
                "qa_score": str(draw(st.integers(0, 100))) if call and draw(st.booleans()) else "",
                "logged_at": "" if logged is None else (at + timedelta(minutes=logged)).strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
    roster_ids = ids + (["C9"] if draw(st.booleans()) else [])  # someone with no case at all
    roster = [
        {
            "collector_id": who,
            "collector_name": f"name {who}",
            "team_id": teams.get(who, "T1"),
            "target_amount": _money(draw(st.integers(1, 10_000_000))),
            "active": draw(st.sampled_from(["true", "true", "false"])),
        }
        for who in roster_ids
    ]
    reviews = [
        {
            "collector_id": who,
            "month": "2025-03",
            "call_quality": str(draw(st.integers(0, 100))),
            "knowledge": str(draw(st.integers(0, 100))),
            "teamwork": str(draw(st.integers(0, 100))),
            "violations": str(draw(st.sampled_from([0, 0, 0, 1, 2]))),
        }
        for index, who in enumerate(ids)
        if index == 0 or draw(st.booleans())  # a reviews file without March's rows is an error
    ]
    if draw(st.booleans()):  # last month's review of the first collector, skipped
        reviews.append({**reviews[0], "month": "2025-02", "violations": "5"})
    return Month({"cases": cases, "contacts": contacts, "reviews": reviews, "roster": roster})


def write(month: Month, folder: Path, shuffle: int | None = None) -> None:
    """The month as CSV; with ``shuffle`` every table in another row order and split in two files."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in month.tables.items():
        rows = list(rows)
        parts = [rows]
        if shuffle is not None:
            random.Random(shuffle).shuffle(rows)
            cut = random.Random(shuffle + 1).randint(0, len(rows))
            parts = [rows[:cut], rows[cut:]]
        for number, part in enumerate(parts):
            header = ",".join(COLUMNS[table])
            lines = [header] + [",".join(str(row[c]) for c in COLUMNS[table]) for row in part]
            (folder / f"{table}{number}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def scheme_file(folder: Path, body: str) -> Path:
    inputs = "inputs:\n" + "".join(f"  {t}: {{path: '{p}'}}\n" for t, p in INPUTS.items())
    path = folder / "scheme.yaml"
    path.write_text(inputs + body, encoding="utf-8")
    return path


def check_level(frame: pl.DataFrame, key: str, metric_ids: list[str]) -> None:
    for row in frame.iter_rows(named=True):
        if row["score"] is not None:
            assert 0 <= row["score"] <= 100, row
        for metric in metric_ids:
            points = row[f"{metric}_score"]
            assert points is None or 0 <= points <= 100, (metric, row)
        assert (row["rank"] is not None) == row["eligible"], row
    ranked = frame.filter(pl.col("rank").is_not_null())
    assert sorted(ranked["rank"].to_list()) == list(range(1, ranked.height + 1))
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))  # ranked rows come first, in order
    assert frame.head(ranked.height)["rank"].null_count() == 0
    order = ranked.sort(["score", key], descending=[True, False])
    assert order[key].to_list() == ranked[key].to_list()
    assert frame[key].n_unique() == frame.height


@SETTINGS
@given(month=months())
def test_scores_are_bounded_and_ranks_are_a_permutation(month: Month) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(month, folder)
        scheme = load_scheme(scheme_file(folder, MANY))
        card = score(scheme, load_month(scheme, "2025-03"))
        metric_ids = list(scheme.metrics)
        check_level(card.table("collector"), "collector_id", metric_ids)
        check_level(card.table("team"), "team_id", metric_ids)
        collectors = card.table("collector")
        # everyone with a case or on the roster gets a line
        expected = {r["collector_id"] for t in ("cases", "roster") for r in month.tables[t]}
        assert set(collectors["collector_id"].to_list()) >= expected


def _csv(scheme: Path, level: str) -> bytes:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "csv", "--level", level])
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


@SETTINGS
@given(month=months(), seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(SCHEMES)))
def test_shuffled_and_split_inputs_change_no_byte(month: Month, seed: int, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, shuffled = Path(tmp) / "plain", Path(tmp) / "shuffled"
        write(month, plain)
        write(month, shuffled, shuffle=seed)
        assert sorted(p.name for p in shuffled.iterdir()) == sorted(f"{t}{n}.csv" for t in month.tables for n in (0, 1))
        body = SCHEMES[name]
        for level in ("collector", "team"):
            want = _csv(scheme_file(plain, body), level)
            got = _csv(scheme_file(shuffled, body), level)
            assert got == want, level


# (table, column, bad value, reason) — one corrupted cell rejects its row (a key, an amount, the
# roster) or that cell alone (see metrics.rejects_row)
CORRUPTIONS = [
    ("cases", "overdue_amount", "lots", "overdue_amount: not a number"),
    ("cases", "recovered_amount", "-1.00", "recovered_amount: negative"),
    ("cases", "assigned_date", "2025-02-30", "assigned_date: not a date"),
    ("cases", "collector_id", "", "collector_id: missing value"),
    ("contacts", "channel", "fax", "channel: unknown channel"),
    ("contacts", "outcome", "maybe", "outcome: unknown outcome"),
    ("contacts", "contacted_at", "yesterday", "contacted_at: not a date and time"),
    ("contacts", "qa_score", "101", "qa_score: outside 0–100"),
    ("reviews", "violations", "-1", "violations: negative"),
    ("roster", "active", "perhaps", "active: not yes/no"),
]


@SETTINGS
@given(month=months(), picks=st.lists(st.tuples(st.sampled_from(CORRUPTIONS), st.integers(0, 10_000)), max_size=8))
def test_every_row_is_accounted_for(month: Month, picks: list[tuple[tuple[str, str, str, str], int]]) -> None:
    """read = used + rejected for every table; with other months, every row of the files; each
    corrupted cell is counted once, as a rejected row or as a rejected cell of a used row."""
    expected: dict[str, dict[str, int]] = {t: {} for t in month.tables}
    expected_cells: dict[str, dict[str, int]] = {t: {} for t in month.tables}
    touched: set[tuple[str, int]] = set()
    for (table, column, bad, reason), pick in picks:
        rows = month.tables[table]
        if table == "contacts":  # a February contact is skipped, not rejected: corrupt March's only
            candidates = [i for i, r in enumerate(rows) if r["contacted_at"] >= "2025-03"]
        elif table == "reviews":
            candidates = [i for i, r in enumerate(rows) if r["month"] == "2025-03"]
        else:
            candidates = list(range(len(rows)))
        candidates = [i for i in candidates if (table, i) not in touched]
        if len(candidates) <= 1:  # keep one good row, so the month still has data
            continue
        index = candidates[pick % len(candidates)]
        touched.add((table, index))
        if column == "qa_score" and rows[index]["channel"] != "call":
            continue
        rows[index] = {**rows[index], column: bad}
        counts = expected if rejects_row(table, column) else expected_cells
        counts[table][reason] = counts[table].get(reason, 0) + 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(month, folder)
        scheme = load_scheme(scheme_file(folder, MANY))
        card = score(scheme, load_month(scheme, "2025-03"))
        report = validate(scheme, "2025-03")
        for table, rows in month.tables.items():
            for stats in (card.stats[table], report.tables[table]):
                assert stats.read == stats.used + stats.rejected, stats
                assert stats.read + stats.other_month == len(rows), stats
                assert stats.rejected_by_reason == expected[table], (table, stats)
                assert stats.cells_by_reason == expected_cells[table], (table, stats)
        assert card.rejects.height == sum(sum(r.values()) for r in expected.values())
        assert card.cell_rejects.height == sum(sum(r.values()) for r in expected_cells.values())
        assert report.valid == (card.rejects.height + card.cell_rejects.height == 0)


def test_the_generator_makes_valid_months() -> None:
    """A hand-picked example of the strategy scores without any rejected row."""

    @settings(max_examples=5, deadline=None)
    @given(month=months())
    def inner(month: Month) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write(month, folder)
            scheme = load_scheme(scheme_file(folder, MANY))
            card = score(scheme, load_month(scheme, "2025-03"))
            assert card.rejects.height == 0
            assert all(s.rejected == 0 for s in card.stats.values())

    inner()


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_schemes_load(name: str, tmp_path: Path) -> None:
    assert len(load_scheme(scheme_file(tmp_path, SCHEMES[name])).metrics) == {"many": 15, "fair": 3}.get(name, 2)


def big_month(seed: int) -> Month:
    """A month of 14 collectors in 3 teams with ~25 cases and ~40 contacts each: enough
    collectors for K = auto to be estimated by Bühlmann–Straub rather than fall back."""
    rng = random.Random(seed)
    ids = [f"C{i:02d}" for i in range(14)]
    teams = {who: f"T{i % 3}" for i, who in enumerate(ids)}
    skill = {who: rng.uniform(0.3, 1.7) for who in ids}
    cases: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    for who in ids:
        for _ in range(rng.randint(15, 35)):
            bucket = rng.choice(BUCKETS)
            overdue = rng.randint(10_000, 2_000_000)
            share = min(1.0, skill[who] * rng.uniform(0, 0.6) / (1 + BUCKETS.index(bucket)))
            recovered = round(overdue * share) if rng.random() < 0.7 else 0
            case_id = f"K{len(cases):04d}"
            cases.append(
                {
                    "case_id": case_id, "collector_id": who, "collector_name": f"name {who}",
                    "team_id": teams[who], "assigned_date": _day(rng.randint(-20, 10)),
                    "overdue_amount": _money(overdue), "recovered_amount": _money(recovered),
                    "waived_amount": "0.00", "settled_date": "", "first_payment_date": "",
                    "dpd_bucket": bucket,
                }
            )  # fmt: skip
            for _ in range(rng.randint(0, 3)):
                at = datetime(2025, 3, 1) + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
                outcome = "connected" if rng.random() < 0.4 * skill[who] else rng.choice(OUTCOMES["call"][1:])
                contacts.append(
                    {
                        "contact_id": f"k{len(contacts):05d}", "case_id": case_id, "collector_id": who,
                        "channel": "call", "contacted_at": at.strftime("%Y-%m-%d %H:%M:%S"), "outcome": outcome,
                        "duration_s": "60", "ptp": "false", "qa_score": "", "logged_at": "",
                    }
                )  # fmt: skip
    roster = [
        {"collector_id": who, "collector_name": f"name {who}", "team_id": teams[who], "target_amount": "1000000.00",
         "active": "true"}
        for who in ids
    ]  # fmt: skip
    reviews = [{"collector_id": ids[0], "month": "2025-03", "call_quality": "80", "knowledge": "80",
                "teamwork": "80", "violations": "0"}]  # fmt: skip
    return Month({"cases": cases, "contacts": contacts, "reviews": reviews, "roster": roster})


@pytest.mark.parametrize("seed", [3, 17])
def test_k_auto_gives_the_same_bytes_every_run_and_in_any_row_order(seed: int, tmp_path: Path) -> None:
    """Fair scores with K estimated from the month: several runs, and the rows shuffled and
    split over two files, give byte-identical scorecards."""
    month = big_month(seed)
    plain = tmp_path / "plain"
    write(month, plain)
    scheme = scheme_file(plain, SCHEMES["fair"])
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    for metric in ("recovery_rate", "success_rate", "call_connect_rate"):
        assert f"{metric}: shrink K = " in result.stderr and "estimated by Bühlmann–Straub" in result.stderr
    want = {level: _csv(scheme, level) for level in ("collector", "team")}
    assert want["collector"] == result.stdout_bytes
    for run in range(4):
        shuffled = tmp_path / f"shuffled{run}"
        write(month, shuffled, shuffle=seed * 100 + run)
        for level in ("collector", "team"):
            assert _csv(scheme, level) == want[level], (run, level)  # the same files again
            assert _csv(scheme_file(shuffled, SCHEMES["fair"]), level) == want[level], (run, level)


def write_copies(month: Month, folder: Path, seed: int) -> None:
    """The month shuffled, split in two files per table, some rows of the first file copied
    into the second, each file in its own encoding and line ends (UTF-8, with a BOM, GB18030;
    LF or CRLF), and the names written in Chinese so the encodings differ in their bytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in month.tables.items():
        rows = list(rows)
        rng.shuffle(rows)
        cut = rng.randint(0, len(rows))
        first, second = rows[:cut], rows[cut:]
        if first and second:  # a copy of some rows, never a copy of the whole first file
            second = second + rng.sample(first, rng.randint(0, len(first)))
            rng.shuffle(second)
        for number, part in enumerate((first, second)):
            encoding = rng.choice(["utf-8", "utf-8-sig", "gb18030"])
            end = rng.choice(["\n", "\r\n"])
            header = ",".join(COLUMNS[table])
            lines = [header] + [",".join(_chinese(str(row[c])) for c in COLUMNS[table]) for row in part]
            (folder / f"{table}{number}.csv").write_bytes((end.join(lines) + end).encode(encoding))


def _chinese(value: str) -> str:
    return value.replace("name ", "姓名")


@SETTINGS
@given(month=months(), seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(SCHEMES)))
def test_split_copied_reencoded_and_shuffled_inputs_change_no_byte(month: Month, seed: int, name: str) -> None:
    """With `duplicates: first`, a month whose files are split, hold copies of rows, are
    re-encoded and shuffled scores to the byte as the plain month."""
    with tempfile.TemporaryDirectory() as tmp:
        plain, copies = Path(tmp) / "plain", Path(tmp) / "copies"
        write(month, plain)
        for path in plain.iterdir():
            path.write_text(_chinese(path.read_text(encoding="utf-8")), encoding="utf-8")
        write_copies(month, copies, seed)
        body = SCHEMES[name]
        policy = "inputs:\n" + "".join(f"  {t}: {{path: '{p}', duplicates: first}}\n" for t, p in INPUTS.items())
        for level in ("collector", "team"):
            want = _csv(scheme_file(plain, body), level)
            (copies / "scheme.yaml").write_text(policy + body, encoding="utf-8")
            got = _csv(copies / "scheme.yaml", level)
            assert got == want, level
