"""Generate a large synthetic month (2025-03) in the canonical data contract, for the benchmark.

    python bench/generate.py --cases 1000000                # Parquet and CSV
    python bench/generate.py --cases 5000000 --formats parquet

writes ``bench/data/<size>/{parquet,csv}/{cases,contacts,reviews,roster}.{parquet,csv}``
(``<size>`` is e.g. ``100k``, ``1m``, ``5m``), with 20 contact attempts per case row.

Deterministic and vectorised: every random draw is a splitmix64 hash of (row index, stream)
computed with polars integer expressions (wrapping UInt64 arithmetic), so the files depend
only on ``--cases`` and ``--seed`` — not on chunking, thread count or the polars version's
own hash or RNG. No per-row Python. Contacts are produced in chunks by the streaming engine
(``sink_parquet``), and the CSV is streamed from the Parquet file, so memory stays flat at
100M contact rows.

Shape (scaled with ``--cases``): one collector per ~500 case rows (2,000 at 1M), 20
collectors per team (100 teams at 1M), 1% roster-only collectors (a few inactive), ~3% of
case rows are a second holder of a transferred case (same case_id, another collector), ~10% of
case rows are "quiet" (contacted only by someone else), ~1% of contacts fall outside the
month, some logged_at exactly 24 h after contacted_at (the follow-up boundary).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
MONTH = "2025-03"
MONTH_START = date(2025, 3, 1)
CONTACTS_PER_CASE = 20
CASES_PER_COLLECTOR = 500
COLLECTORS_PER_TEAM = 20

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def size_label(n: int) -> str:
    """1000000 → '1m', 100000 → '100k', 2500000 → '2500k'."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def _mix_py(z: int) -> int:
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _u64(value: int) -> pl.Expr:
    return pl.lit(value & _MASK, dtype=pl.UInt64)


class Rng:
    """Counter-based random numbers: value = splitmix64(index · φ + salt(seed, stream))."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def bits(self, index: pl.Expr, stream: int) -> pl.Expr:
        salt = _mix_py(self.seed * 1_000_003 + stream * 7_919 + 1)
        z = index.cast(pl.UInt64) * _u64(_GOLDEN) + _u64(salt)
        z = z.xor(z // _u64(1 << 30)) * _u64(_M1)
        z = z.xor(z // _u64(1 << 27)) * _u64(_M2)
        return z.xor(z // _u64(1 << 31))

    def uniform(self, index: pl.Expr, stream: int) -> pl.Expr:
        """A float in [0, 1) with 53 random bits."""
        return (self.bits(index, stream) // _u64(1 << 11)).cast(pl.Float64) * (2.0**-53)

    def below(self, index: pl.Expr, stream: int, n: int | pl.Expr) -> pl.Expr:
        """An integer in [0, n)."""
        scaled = (self.uniform(index, stream) * n).floor().cast(pl.Int64)
        return pl.min_horizontal(scaled, pl.lit(n) - 1 if isinstance(n, int) else n - 1)


class Shape:
    """Sizes derived from the number of case rows."""

    def __init__(self, cases: int) -> None:
        self.cases = cases
        self.contacts = cases * CONTACTS_PER_CASE
        self.collectors = max(20, round(cases / CASES_PER_COLLECTOR))
        self.teams = max(2, round(self.collectors / COLLECTORS_PER_TEAM))
        self.roster_only = max(3, self.collectors // 100)


def _pad(expr: pl.Expr, prefix: str, width: int) -> pl.Expr:
    return pl.lit(prefix) + expr.cast(pl.String).str.zfill(width)


def _decimal(units: pl.Expr, digits: int) -> pl.Expr:
    """A non-negative integer of 10^-digits units → the nearest Float64 (4567, 2 → 45.67).

    Formatted as decimal text and parsed: polars divides a column by a literal by
    multiplying with its reciprocal, which can miss the nearest double (…630000000005).
    """
    scale = 10**digits
    return ((units // scale).cast(pl.String) + pl.lit(".") + (units % scale).cast(pl.String).str.zfill(digits)).cast(
        pl.Float64
    )


def _money(cents: pl.Expr) -> pl.Expr:
    """Integer cents → a Float64 amount with 2 decimals (the nearest double)."""
    return _decimal(cents, 2)


# Streams: one number per random draw, so adding a draw never changes another.
S_COLLECTOR, S_TRANSFER, S_BUCKET, S_PRODUCT, S_CARRIED, S_ASSIGN = 1, 2, 3, 4, 5, 6
S_OVERDUE, S_PAY, S_FRACTION, S_SETTLE, S_WAIVE, S_WAIVE_SHARE = 7, 8, 9, 10, 11, 12
S_FIRST_PAY, S_SETTLE_DAY, S_APRIL, S_QUIET, S_SKILL, S_NAME = 13, 14, 15, 16, 17, 18
S_C_CASE, S_C_OTHER, S_C_OTHER_ROW, S_C_CHANNEL, S_C_OUTCOME, S_C_TIME = 31, 32, 33, 34, 35, 36
S_C_OFF_MONTH, S_C_LOG, S_C_DELAY, S_C_DURATION, S_C_PTP, S_C_PTP_AMT, S_C_QA, S_C_QA_VAL = (
    37,
    38,
    39,
    40,
    41,
    42,
    43,
    44,
)
S_R_TARGET, S_R_ACTIVE, S_R_NULL, S_V_CQ, S_V_KN, S_V_TW, S_V_VIOL, S_V_NULL = 51, 52, 53, 54, 55, 56, 57, 58

BUCKETS = ("M1", "M2", "M3", "M4+")
PAY_P = (0.58, 0.38, 0.20, 0.09)
CARRIED_P = (0.30, 0.45, 0.55, 0.65)


def _pick(index: pl.Expr, values: tuple[object, ...]) -> pl.Expr:
    expr = pl.when(index == 0).then(pl.lit(values[0]))
    for k, value in enumerate(values[1:], start=1):
        expr = expr.when(index == k).then(pl.lit(value))
    return expr.otherwise(pl.lit(values[-1]))


class Generator:
    def __init__(self, cases: int, seed: int) -> None:
        self.shape = Shape(cases)
        self.rng = Rng(seed)

    # --- functions of a case row index (used by the cases and the contacts) ---------------

    def collector_of_row(self, row: pl.Expr) -> pl.Expr:
        """Collector index holding case row ``row``: skewed, so caseloads differ."""
        u = self.rng.uniform(row, S_COLLECTOR)
        n = self.shape.collectors
        return pl.min_horizontal((u.pow(1.15) * n).floor().cast(pl.Int64), pl.lit(n - 1))

    def case_no_of_row(self, row: pl.Expr) -> pl.Expr:
        """~3% of rows are the second holder of the previous row's case (a transfer to
        another collector: a case is held once per collector)."""
        other = self.collector_of_row(row) != self.collector_of_row(pl.max_horizontal(row - 1, pl.lit(0)))
        transfer = (self.rng.uniform(row, S_TRANSFER) < 0.03) & (row > 0) & other
        return pl.when(transfer).then(row - 1).otherwise(row)

    def collector_id(self, index: pl.Expr) -> pl.Expr:
        return _pad(index, "E", 5)

    def team_of(self, collector: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(collector // COLLECTORS_PER_TEAM, pl.lit(self.shape.teams - 1))

    def team_id(self, collector: pl.Expr) -> pl.Expr:
        return _pad(self.team_of(collector), "T", 4)

    def collector_name(self, collector: pl.Expr) -> pl.Expr:
        surnames = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周")
        given = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军")
        u = self.rng.below(collector, S_NAME, len(surnames) * len(given))
        return _pick(u // len(given), surnames) + _pick(u % len(given), given)

    def skill(self, collector: pl.Expr) -> pl.Expr:
        """A collector's skill in [0, 1): drives connect rates, payments, timeliness."""
        return self.rng.uniform(collector, S_SKILL)

    # --- tables ----------------------------------------------------------------------------

    def cases(self) -> pl.LazyFrame:
        rng, n = self.rng, self.shape.cases
        row = pl.col("_i")
        coll = pl.col("_coll")
        base = pl.LazyFrame().select(pl.int_range(0, n, dtype=pl.Int64).alias("_i"))
        bucket = rng.below(row, S_BUCKET, 100)
        bucket_idx = pl.when(bucket < 45).then(0).when(bucket < 75).then(1).when(bucket < 90).then(2).otherwise(3)
        lf = base.with_columns(
            _coll=self.collector_of_row(row),
            _case=self.case_no_of_row(row),
            _bucket=bucket_idx,
        ).with_columns(
            _skill=self.skill(coll),
            _carried=rng.uniform(row, S_CARRIED) < _pick(pl.col("_bucket"), CARRIED_P),
        )
        # Assigned: carried-over rows from 90 days before the month, others within it.
        assign_offset = (
            pl.when(pl.col("_carried")).then(-1 - rng.below(row, S_ASSIGN, 90)).otherwise(rng.below(row, S_ASSIGN, 31))
        )
        # Overdue 500.00 … 50,000.00, log-uniform, whole cents.
        overdue = (50_000 * (100.0 ** rng.uniform(row, S_OVERDUE))).round(0).cast(pl.Int64)
        pay_p = _pick(pl.col("_bucket"), PAY_P) * (0.6 + 0.8 * pl.col("_skill"))
        lf = lf.with_columns(
            _assign=assign_offset,
            _overdue=overdue,
            _paying=rng.uniform(row, S_PAY) < pay_p,
            _settled=rng.uniform(row, S_SETTLE) < 0.45,
            _waive=rng.uniform(row, S_WAIVE) < 0.3,
        )
        # Days from assignment to the month's first day (0 for rows assigned within it).
        month_day0 = pl.max_horizontal(pl.lit(0), pl.col("_assign"))
        days_left = 31 - month_day0  # days of the month on or after max(assigned, month start)
        fraction = 0.05 + 0.9 * rng.uniform(row, S_FRACTION)
        waived = (
            pl.when(pl.col("_paying") & pl.col("_settled") & pl.col("_waive"))
            .then((pl.col("_overdue") * (0.05 + 0.3 * rng.uniform(row, S_WAIVE_SHARE))).round(0).cast(pl.Int64))
            .otherwise(None)
        )
        lf = lf.with_columns(_waived=waived).with_columns(
            _recovered=pl.when(~pl.col("_paying"))
            .then(0)
            .when(pl.col("_settled"))
            .then(pl.col("_overdue") - pl.col("_waived").fill_null(0))
            .otherwise((pl.col("_overdue") * fraction).round(0).cast(pl.Int64)),
            # First payment: in the month, on or after assignment (a few non-paying rows
            # carry a date in April: outside the month, so not counted).
            _first_pay=pl.when(pl.col("_paying"))
            .then(month_day0 + rng.below(row, S_FIRST_PAY, days_left))
            .when(rng.uniform(row, S_APRIL) < 0.02)
            .then(31 + rng.below(row, S_FIRST_PAY, 10))
            .otherwise(None),
        )
        # Settled: on or after the first payment; 5% of settled rows settle in April.
        settle_day = pl.col("_first_pay") + rng.below(row, S_SETTLE_DAY, 31 - pl.col("_first_pay").clip(0, 30))
        lf = lf.with_columns(
            _settle=pl.when(pl.col("_paying") & pl.col("_settled"))
            .then(
                pl.when(rng.uniform(row, S_APRIL) < 0.05)
                .then(31 + rng.below(row, S_SETTLE_DAY, 20))
                .otherwise(settle_day)
            )
            .otherwise(None)
        )
        day = pl.lit(MONTH_START)
        return lf.select(
            case_id=_pad(pl.col("_case"), "K", 9),
            collector_id=self.collector_id(coll),
            team_id=self.team_id(coll),
            collector_name=self.collector_name(coll),
            assigned_date=day + pl.duration(days=pl.col("_assign")),
            overdue_amount=_money(pl.col("_overdue")),
            recovered_amount=_money(pl.col("_recovered")),
            waived_amount=_money(pl.col("_waived")),
            settled_date=day + pl.duration(days=pl.col("_settle")),
            first_payment_date=day + pl.duration(days=pl.col("_first_pay")),
            dpd_bucket=_pick(pl.col("_bucket"), BUCKETS),
            product=pl.when(rng.uniform(row, S_PRODUCT) < 0.55)
            .then(pl.lit("credit_card"))
            .otherwise(pl.lit("online_loan")),
        )

    def contacts_chunk(self, start: int, stop: int) -> pl.LazyFrame:
        rng, shape = self.rng, self.shape
        j = pl.col("_j")
        base = pl.LazyFrame().select(pl.int_range(start, stop, dtype=pl.Int64).alias("_j"))
        case_row = rng.below(j, S_C_CASE, shape.cases)
        lf = base.with_columns(_row=case_row)
        row = pl.col("_row")
        # Quiet rows (10%) are only ever contacted by a colleague; elsewhere 3% of attempts are.
        quiet = self.rng.uniform(row, S_QUIET) < 0.10
        by_other = quiet | (rng.uniform(j, S_C_OTHER) < 0.03)
        other_row = rng.below(j, S_C_OTHER_ROW, shape.cases)
        lf = lf.with_columns(
            _case=self.case_no_of_row(row),
            _coll=pl.when(by_other).then(self.collector_of_row(other_row)).otherwise(self.collector_of_row(row)),
        ).with_columns(_skill=self.skill(pl.col("_coll")))
        ch = rng.uniform(j, S_C_CHANNEL)
        lf = lf.with_columns(_ch=pl.when(ch < 0.78).then(0).when(ch < 0.96).then(1).otherwise(2))
        u = rng.uniform(j, S_C_OUTCOME)
        skill = pl.col("_skill")
        connect_p = 0.15 + 0.35 * skill
        call_outcome = (
            pl.when(u < connect_p)
            .then(pl.lit("connected"))
            .when(u < connect_p + 0.35)
            .then(pl.lit("no_answer"))
            .when(u < connect_p + 0.50)
            .then(pl.lit("busy"))
            .when(u < connect_p + 0.62)
            .then(pl.lit("unreachable"))
            .otherwise(pl.lit("refused"))
        )
        reply_p = 0.02 + 0.2 * skill
        sms_outcome = (
            pl.when(u < 0.08)
            .then(pl.lit("failed"))
            .when(u < 0.08 + reply_p)
            .then(pl.lit("replied"))
            .when(u < 0.6)
            .then(pl.lit("delivered"))
            .otherwise(pl.lit("sent"))
        )
        visit_p = 0.3 + 0.6 * skill
        visit_outcome = (
            pl.when(u < visit_p)
            .then(pl.lit("completed"))
            .when(u < visit_p + 0.15)
            .then(pl.lit("not_found"))
            .when(u < visit_p + 0.25)
            .then(pl.lit("cancelled"))
            .otherwise(pl.lit("planned"))
        )
        is_call, is_sms = pl.col("_ch") == 0, pl.col("_ch") == 1
        lf = lf.with_columns(
            _outcome=pl.when(is_call).then(call_outcome).when(is_sms).then(sms_outcome).otherwise(visit_outcome)
        )
        # When: any second of March; ~1% fall in late February or early April.
        off = rng.uniform(j, S_C_OFF_MONTH)
        second = (
            pl.when(off < 0.005)
            .then(-5 * 86_400 + rng.below(j, S_C_TIME, 5 * 86_400))
            .when(off > 0.995)
            .then(31 * 86_400 + rng.below(j, S_C_TIME, 3 * 86_400))
            .otherwise(rng.below(j, S_C_TIME, 31 * 86_400))
        )
        lf = lf.with_columns(_sec=second)
        # Logged: 5% never; else mostly within hours, 1% exactly 24:00:00 later, some late.
        d = rng.uniform(j, S_C_DELAY)
        late_p = 0.25 * (1 - skill)
        delay = (
            pl.when(d < 0.01)
            .then(86_400)
            .when(d < 0.01 + late_p)
            .then(86_401 + rng.below(j, S_C_DURATION + 100, 3 * 86_400))
            .otherwise(rng.below(j, S_C_DURATION + 101, 86_400))
        )
        logged = pl.when(rng.uniform(j, S_C_LOG) < 0.05).then(None).otherwise(pl.col("_sec") + delay)
        connected = is_call & (pl.col("_outcome") == "connected")
        ptp = (
            pl.when(is_call)
            .then(connected & (rng.uniform(j, S_C_PTP) < 0.1 + 0.3 * skill))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
        # QA samples ~5% of calls; every 37th collector is never sampled (falls back to reviews).
        sampled = is_call & (rng.uniform(j, S_C_QA) < 0.05) & (pl.col("_coll") % 37 != 0)
        qa = pl.when(sampled).then(_decimal(500 + rng.below(j, S_C_QA_VAL, 501), 1)).otherwise(None)
        t0 = pl.lit(datetime(2025, 3, 1))
        return lf.with_columns(_ptp=ptp).select(
            contact_id=_pad(j, "A", 10),
            case_id=_pad(pl.col("_case"), "K", 9),
            collector_id=self.collector_id(pl.col("_coll")),
            channel=_pick(pl.col("_ch"), ("call", "sms", "visit")),
            contacted_at=t0 + pl.duration(seconds=pl.col("_sec")),
            outcome=pl.col("_outcome"),
            duration_s=pl.when(connected)
            .then(20 + rng.below(j, S_C_DURATION, 880))
            .when(is_call)
            .then(0)
            .otherwise(None)
            .cast(pl.Int32),
            ptp=pl.col("_ptp"),
            ptp_amount=pl.when(pl.col("_ptp"))
            .then(_money(10_000 + rng.below(j, S_C_PTP_AMT, 1_000_000)))
            .otherwise(None),
            qa_score=qa,
            logged_at=t0 + pl.duration(seconds=logged),
        )

    def contacts(self, chunk: int) -> pl.LazyFrame:
        total = self.shape.contacts
        parts = [self.contacts_chunk(s, min(s + chunk, total)) for s in range(0, total, chunk)]
        return pl.concat(parts) if len(parts) > 1 else parts[0]

    def roster(self) -> pl.LazyFrame:
        rng, shape = self.rng, self.shape
        n = shape.collectors + shape.roster_only
        k = pl.col("_k")
        base = pl.LazyFrame().select(pl.int_range(0, n, dtype=pl.Int64).alias("_k"))
        # Roster-only collectors (no cases this month) get the highest ids.
        target = (
            pl.when(rng.uniform(k, S_R_NULL) < 0.05)
            .then(None)
            .otherwise(_money((200_000 + rng.below(k, S_R_TARGET, 1_800_000)) * 100))
        )
        return base.select(
            collector_id=self.collector_id(k),
            collector_name=self.collector_name(k),
            team_id=self.team_id(k),
            target_amount=target,
            active=rng.uniform(k, S_R_ACTIVE) >= 0.02,
        )

    def reviews(self) -> pl.LazyFrame:
        rng, shape = self.rng, self.shape
        k = pl.col("_k")
        base = pl.LazyFrame().select(pl.int_range(0, shape.collectors, dtype=pl.Int64).alias("_k"))

        def rating(stream: int) -> pl.Expr:
            value = _decimal(600 + rng.below(k, stream, 401), 1)
            return pl.when(rng.uniform(k, S_V_NULL + stream) < 0.1).then(None).otherwise(value)

        v = rng.uniform(k, S_V_VIOL)
        return base.select(
            collector_id=self.collector_id(k),
            call_quality=rating(S_V_CQ),
            knowledge=rating(S_V_KN),
            teamwork=rating(S_V_TW),
            violations=pl.when(v < 0.9).then(0).when(v < 0.97).then(1).otherwise(2).cast(pl.Int32),
        )


CSV_OPTIONS = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d", "float_precision": 2}


def _manifest(cases: int, seed: int) -> dict[str, object]:
    """What the files depend on: a changed generator or seed regenerates them."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return {"month": MONTH, "cases": cases, "seed": seed, "generator": code, "polars": pl.__version__}


def generate(cases: int, seed: int, formats: list[str], out: Path, chunk: int, force: bool) -> None:
    gen = Generator(cases, seed)
    pq_dir, csv_dir = out / "parquet", out / "csv"
    manifest_path = out / "manifest.json"
    manifest = _manifest(cases, seed)
    if not manifest_path.exists() or json.loads(manifest_path.read_text()) != manifest:
        # Files without a matching manifest come from another generator, seed or an
        # interrupted run: write everything again.
        force = True
    out.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    tables = {"cases": gen.cases, "reviews": gen.reviews, "roster": gen.roster}
    pq_dir.mkdir(parents=True, exist_ok=True)
    for name in ("cases", "reviews", "roster", "contacts"):
        target = pq_dir / f"{name}.parquet"
        if target.exists() and not force:
            print(f"  keep  {target}")
            continue
        t = time.perf_counter()
        lf = gen.contacts(chunk) if name == "contacts" else tables[name]()
        tmp = target.with_suffix(".parquet.tmp")
        # Row groups of ~1M rows: big enough to scan fast, small enough to stream.
        lf.sink_parquet(tmp, row_group_size=1_000_000 if name == "contacts" else None)
        tmp.replace(target)
        print(f"  wrote {target} ({target.stat().st_size / 1e6:,.0f} MB, {time.perf_counter() - t:.1f} s)")
    if "csv" in formats:
        csv_dir.mkdir(parents=True, exist_ok=True)
        for name in ("cases", "reviews", "roster", "contacts"):
            target = csv_dir / f"{name}.csv"
            if target.exists() and not force:
                print(f"  keep  {target}")
                continue
            t = time.perf_counter()
            tmp = target.with_suffix(".csv.tmp")
            pl.scan_parquet(pq_dir / f"{name}.parquet").sink_csv(tmp, **CSV_OPTIONS)  # type: ignore[arg-type]
            tmp.replace(target)
            print(f"  wrote {target} ({target.stat().st_size / 1e6:,.0f} MB, {time.perf_counter() - t:.1f} s)")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="case rows (contacts: 20 per case row)")
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument(
        "--formats", default="parquet,csv", help="parquet,csv or parquet (CSV is made from the Parquet)"
    )
    parser.add_argument("--out", type=Path, default=None, help="default: bench/data/<size>")
    parser.add_argument("--chunk", type=int, default=5_000_000, help="contact rows generated per chunk")
    parser.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if not set(formats) <= {"parquet", "csv"} or not formats:
        parser.error("--formats: parquet and/or csv")
    out = args.out or HERE / "data" / size_label(args.cases)
    shape = Shape(args.cases)
    print(
        f"{MONTH}: {shape.cases:,} case rows, {shape.contacts:,} contacts, {shape.collectors:,} collectors "
        f"(+{shape.roster_only} roster-only) in {shape.teams} teams → {out}"
    )
    t = time.perf_counter()
    generate(args.cases, args.seed, formats, out, args.chunk, args.force)
    print(f"done in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
