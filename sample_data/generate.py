"""Generate the deterministic sample exports used by collector-kpi's docs and tests.

Run ``python sample_data/generate.py`` from any directory. It (re)writes, next to
this script:

    2025-02/ and 2025-03/   cases.csv, contacts.parquet, reviews.csv, roster.csv
                            (canonical names and values: shared/spec/data-contract.md)
    zh/2025-03/             案件.csv, 催记.txt, 考核.csv, 花名册.csv — the same 2025-03
                            data as a Chinese GBK export (Excel-style dates, Chinese
                            headers and values), so it scores identically once mapped

and prints a short summary per month. Output is byte-for-byte reproducible: every
random draw comes from a ``random.Random`` seeded with a string (hashed with SHA-512
by the standard library, so independent of PYTHONHASHSEED), one stream per month and
table, and every table is sorted explicitly before it is written.

Only the standard library and polars are used.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
BASE_SEED = 20250301
MONTHS = ("2025-02", "2025-03")
ZH_MONTH = "2025-03"
CASES_PER_MONTH = 3000

BUCKETS = ("M1", "M2", "M3", "M4+")
PRODUCTS = ("credit_card", "online_loan")

# NOTE: ids and names are fixed; 王伟 appears twice on purpose (C004 and C021), as
# common Chinese names do on a real floor — display names are not identifiers.
COLLECTORS: tuple[tuple[str, str, str], ...] = (
    ("C001", "李娜", "T01"),
    ("C002", "张敏", "T01"),
    ("C003", "刘洋", "T01"),
    ("C004", "王伟", "T01"),
    ("C005", "陈静", "T01"),
    ("C006", "杨帆", "T01"),
    ("C007", "赵磊", "T01"),
    ("C008", "黄丽", "T01"),
    ("C009", "周杰", "T02"),
    ("C010", "吴芳", "T02"),
    ("C011", "徐强", "T02"),
    ("C012", "孙婷", "T02"),
    ("C013", "胡军", "T02"),
    ("C014", "朱琳", "T02"),
    ("C015", "高峰", "T02"),
    ("C016", "林晓", "T02"),
    ("C017", "何敏", "T03"),
    ("C018", "郭涛", "T03"),
    ("C019", "马丽", "T03"),
    ("C020", "罗斌", "T03"),
    ("C021", "王伟", "T03"),
    ("C022", "梁静", "T03"),
    ("C023", "宋佳", "T03"),
    ("C024", "郑浩", "T04"),
    ("C025", "谢颖", "T04"),
    ("C026", "韩冰", "T04"),
    ("C027", "唐亮", "T04"),
    ("C028", "冯雪", "T04"),
    ("C029", "董鹏", "T04"),
    ("C030", "程琳", "T04"),
)

# Edge collectors: each exercises one rule of the scorecard (eligibility, gates, missing
# metrics, roster-only lines). Tests may rely on these ids.
NEW_HIRE = "C030"  # joins in 2025-03 with 8 cases; not on the 2025-02 roster
NEW_HIRE_CASES = 8
ON_LEAVE = {"2025-03": "C012"}  # active on the roster, no cases, no contacts that month
LEAVER = "C022"  # left at the end of 2025-02: roster active=false in 2025-03, no data
NO_SMS = "C016"  # never sends sms (both months)
VIOLATIONS = {"2025-02": {"C027": 1}, "2025-03": {"C008": 2}}  # C008: a top performer

# Portfolio mix per team: dpd bucket weights (M1, M2, M3, M4+) and credit-card share.
TEAM_BUCKET_WEIGHTS = {
    "T01": (0.70, 0.20, 0.07, 0.03),
    "T02": (0.55, 0.30, 0.10, 0.05),
    "T03": (0.15, 0.40, 0.30, 0.15),
    "T04": (0.02, 0.13, 0.35, 0.50),
}
TEAM_CARD_SHARE = {"T01": 0.75, "T02": 0.20, "T03": 0.50, "T04": 0.55}
# Channel weights (call, sms, visit): the late-stage team visits far more often.
TEAM_CHANNEL_WEIGHTS = {
    "T01": (0.82, 0.16, 0.02),
    "T02": (0.80, 0.18, 0.02),
    "T03": (0.80, 0.15, 0.05),
    "T04": (0.74, 0.12, 0.14),
}
# Monthly recovery target per planned case (money), set from a typical member's result.
TEAM_TARGET_PER_CASE = {"T01": 3300.0, "T02": 1500.0, "T03": 1600.0, "T04": 1200.0}

# Per bucket: P(any payment in the month), P(settled | payment), P(assigned in a past
# month, i.e. carried over).
BASE_PAY = {"M1": 0.58, "M2": 0.38, "M3": 0.20, "M4+": 0.09}
BASE_SETTLE = {"M1": 0.50, "M2": 0.40, "M3": 0.30, "M4+": 0.22}
P_CARRIED = {"M1": 0.30, "M2": 0.45, "M3": 0.55, "M4+": 0.65}

CALL_OUTCOMES = ("connected", "no_answer", "busy", "unreachable", "refused")
SMS_OUTCOMES = ("sent", "delivered", "replied", "failed")
VISIT_OUTCOMES = ("planned", "completed", "not_found", "cancelled")

ZH_CHANNEL = {"call": "电话", "sms": "短信", "visit": "上门"}
ZH_OUTCOME = {
    "connected": "接通",
    "no_answer": "未接",
    "busy": "占线",
    "unreachable": "关机",
    "refused": "拒接",
    "sent": "已发送",
    "delivered": "已送达",
    "replied": "已回复",
    "failed": "发送失败",
    "planned": "计划",
    "completed": "已上门",
    "not_found": "未找到",
    "cancelled": "取消",
}
ZH_PRODUCT = {"credit_card": "信用卡", "online_loan": "网贷"}
ZH_BOOL = {True: "是", False: "否"}


# --------------------------------------------------------------------------- helpers


def rng_for(*parts: str) -> random.Random:
    """An RNG seeded by BASE_SEED and a path of names (str seeds are SHA-512 hashed)."""
    return random.Random(":".join((str(BASE_SEED), *parts)))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, mon = (int(part) for part in month.split("-"))
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def money(cents: int) -> float:
    return cents / 100


# --------------------------------------------------------------------------- collectors


@dataclass(frozen=True)
class Collector:
    collector_id: str
    name: str
    team_id: str
    skill: float  # latent ability, roughly N(0, 1): drives nearly every outcome
    effort: float  # contact attempts per active case-day, relative
    sloppiness: float  # latent tendency to log follow-ups late
    waiver_bias: float  # logit shift of granting a waiver on a settled case
    load: float  # relative case load


def build_collectors() -> list[Collector]:
    """Latent traits, fixed across months (one RNG, drawn in id order)."""
    rng = rng_for("collectors")
    collectors = []
    for collector_id, name, team_id in COLLECTORS:
        skill = clamp(rng.gauss(0.0, 1.0), -2.2, 2.2)
        collectors.append(
            Collector(
                collector_id=collector_id,
                name=name,
                team_id=team_id,
                skill=skill,
                effort=clamp(1.0 + 0.12 * skill + rng.gauss(0.0, 0.12), 0.6, 1.5),
                sloppiness=-0.8 * skill + rng.gauss(0.0, 0.6),
                waiver_bias=rng.gauss(0.0, 0.5),
                load=clamp(rng.gauss(1.0, 0.15), 0.7, 1.3),
            )
        )
    return collectors


def roster_status(collector_id: str, month: str) -> str | None:
    """'working', 'leave' (active, no cases), 'inactive' or None (not on roster)."""
    if collector_id == NEW_HIRE and month < "2025-03":
        return None
    if collector_id == LEAVER and month >= "2025-03":
        return "inactive"
    if ON_LEAVE.get(month) == collector_id:
        return "leave"
    return "working"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class CaseDraft:
    """A case as the agency hands it over, before anyone works it."""

    case_id: str
    collector: Collector
    dpd_bucket: str
    product: str
    overdue_cents: int
    carried: bool  # assigned in one of the two previous months
    assigned_date: dt.date
    reach: float  # debtor reachability (logit shift of connecting a call)


@dataclass(frozen=True)
class CaseRow:
    """One holder's row of a case in the month, with the holder's results."""

    draft: CaseDraft
    collector: Collector
    form: float  # the holder's skill this month (skill + month noise)
    assigned_date: dt.date
    overdue_cents: int
    recovered_cents: int
    waived_cents: int
    settled_date: dt.date | None
    first_payment_date: dt.date | None
    window_end: dt.date  # last day this holder held the case in the month

    @property
    def case_id(self) -> str:
        return self.draft.case_id

    @property
    def dpd_bucket(self) -> str:
        return self.draft.dpd_bucket


def draw_overdue_cents(rng: random.Random, bucket: str, product: str) -> int:
    if product == "credit_card":
        median, sigma, hi = 11000.0, 0.85, 80000.0
    else:
        median, sigma, hi = 3200.0, 0.75, 30000.0
    ageing = 1.0 + 0.12 * BUCKETS.index(bucket)  # late fees accumulate
    amount = clamp(rng.lognormvariate(math.log(median * ageing), sigma), 500.0, hi)
    return round(amount * 100)


def draw_assigned_date(rng: random.Random, month: str, carried: bool) -> dt.date:
    first, last = month_bounds(month)
    if carried:
        return random_date(rng, add_months(first, -2), first - dt.timedelta(days=1))
    if rng.random() < 0.65:  # most new cases arrive in the agency's batch allocations
        return first + dt.timedelta(days=rng.choice((0, 10, 20)))
    return random_date(rng, first, last)


def hold_case(
    rng: random.Random,
    month: str,
    draft: CaseDraft,
    holder: Collector,
    form: float,
    assigned: dt.date,
    overdue_cents: int,
    window_end: dt.date,
    allow_settle: bool,
) -> CaseRow:
    """Simulate one holder working a case from assignment to window_end."""
    first, last = month_bounds(month)
    start = max(assigned, first)
    available = (window_end - start).days + 1
    carried = assigned < first
    bucket, product = draft.dpd_bucket, draft.product

    def row(recovered: int, waived: int, paid: dt.date | None, settled: dt.date | None) -> CaseRow:
        return CaseRow(
            draft, holder, form, assigned, overdue_cents, recovered, waived, settled,
            paid, window_end,
        )  # fmt: skip

    pay_logit = logit(BASE_PAY[bucket]) + 0.55 * form
    pay_logit += 0.25 if product == "online_loan" else 0.0
    pay_logit -= 0.35 if carried else 0.0
    p_pay = sigmoid(pay_logit) * (0.3 + 0.7 * available / ((last - first).days + 1))
    if rng.random() >= p_pay:
        return row(0, 0, None, None)

    delay = int(rng.expovariate(1.0 / max(1.5, 8.0 - 2.5 * form)))
    if delay >= available:
        delay = rng.randint(0, available - 1)
    first_payment = start + dt.timedelta(days=delay)

    settle_logit = logit(BASE_SETTLE[bucket]) + 0.45 * form
    settle_logit -= 0.35 * math.log(overdue_cents / 1_000_000)
    if allow_settle and rng.random() < sigmoid(settle_logit):
        waived = 0
        waive_logit = logit(0.10 + 0.07 * BUCKETS.index(bucket)) + holder.waiver_bias
        waive_logit += 0.3 if product == "online_loan" else 0.0
        if rng.random() < sigmoid(waive_logit):
            waived = round(overdue_cents * rng.uniform(0.03, 0.30))
        extra = 0
        if rng.random() >= 0.4:
            extra = int(rng.expovariate(1.0 / max(1.0, 5.0 - 1.5 * form)))
        settled = min(first_payment + dt.timedelta(days=extra), window_end)
        return row(overdue_cents - waived, waived, first_payment, settled)

    share = clamp(rng.betavariate(2.0, 5.0) * math.exp(0.25 * form), 0.02, 0.95)
    return row(max(1, round(overdue_cents * share)), 0, first_payment, None)


def planned_case_counts(collectors: list[Collector], month: str) -> dict[str, int]:
    rng = rng_for(month, "caseload")
    working = [c for c in collectors if roster_status(c.collector_id, month) == "working"]
    regular = [c for c in working if c.collector_id != NEW_HIRE]
    budget = CASES_PER_MONTH - (NEW_HIRE_CASES if len(regular) < len(working) else 0)
    total_load = sum(c.load for c in regular)
    counts = {}
    for collector in working:
        if collector.collector_id == NEW_HIRE:
            counts[collector.collector_id] = NEW_HIRE_CASES
        else:
            share = budget * collector.load / total_load * rng.uniform(0.93, 1.07)
            counts[collector.collector_id] = max(25, round(share))
    return counts


def build_cases(collectors: list[Collector], month: str) -> list[CaseRow]:
    """One month's case rows, including ~1 % of cases moved between two holders."""
    rng = rng_for(month, "cases")
    first, last = month_bounds(month)
    counts = planned_case_counts(collectors, month)
    form = {c.collector_id: c.skill + rng.gauss(0.0, 0.2) for c in collectors}

    handed_over = []  # (collector, bucket, product, overdue, carried, assigned)
    for collector in collectors:
        team = collector.team_id
        for _ in range(counts.get(collector.collector_id, 0)):
            bucket = rng.choices(BUCKETS, weights=TEAM_BUCKET_WEIGHTS[team])[0]
            card = rng.random() < TEAM_CARD_SHARE[team]
            product = PRODUCTS[0] if card else PRODUCTS[1]
            overdue = draw_overdue_cents(rng, bucket, product)
            carried = rng.random() < P_CARRIED[bucket]
            assigned = draw_assigned_date(rng, month, carried)
            handed_over.append((collector, bucket, product, overdue, carried, assigned))
    rng.shuffle(handed_over)  # case ids are not grouped by collector in a real export

    successors = {
        team: [
            c
            for c in collectors
            if c.team_id == team and c.collector_id != NEW_HIRE and roster_status(c.collector_id, month) == "working"
        ]
        for team in TEAM_BUCKET_WEIGHTS
    }
    yymm = month[2:4] + month[5:7]
    rows = []
    for number, fields in enumerate(handed_over, 1):
        draft = CaseDraft(f"AJ{yymm}{number:06d}", *fields, reach=rng.gauss(0.0, 0.8))
        holder = draft.collector
        move_day = first + dt.timedelta(days=rng.randint(7, 21))
        moved = holder.collector_id != NEW_HIRE and draft.assigned_date < move_day and rng.random() < 0.012
        if not moved:
            rows.append(
                hold_case(rng, month, draft, holder, form[holder.collector_id],
                          draft.assigned_date, draft.overdue_cents, last, True)
            )  # fmt: skip
            continue
        # Moved mid-month: the first holder keeps what was recovered before the move
        # (no settlement); the successor is assigned the remaining balance that day.
        successor = rng.choice([c for c in successors[holder.team_id] if c is not holder])
        before = hold_case(
            rng, month, draft, holder, form[holder.collector_id], draft.assigned_date,
            draft.overdue_cents, move_day - dt.timedelta(days=1), False,
        )  # fmt: skip
        after = hold_case(
            rng, month, draft, successor, form[successor.collector_id], move_day,
            draft.overdue_cents - before.recovered_cents, last, True,
        )  # fmt: skip
        rows.extend((before, after))
    rows.sort(key=lambda r: (r.case_id, r.collector.collector_id))
    return rows


# --------------------------------------------------------------------------- contacts


@dataclass
class Contact:
    case_id: str
    collector_id: str
    channel: str
    contacted_at: dt.datetime
    outcome: str
    duration_s: int | None
    ptp: bool | None
    ptp_amount_cents: int | None
    qa_score: float | None
    logged_at: dt.datetime | None


def draw_time(rng: random.Random, day: dt.date, channel: str) -> dt.datetime:
    if channel == "visit":
        hour = rng.randint(9, 17)
    else:  # calls and sms cluster in the morning and early evening
        hour = rng.choices(range(8, 21), weights=(3, 8, 10, 9, 5, 6, 8, 8, 7, 6, 6, 5, 3))[0]
    return dt.datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59))


def contacts_for_row(rng: random.Random, row: CaseRow, month: str) -> list[Contact]:
    first, _ = month_bounds(month)
    collector = row.collector
    start = max(row.assigned_date, first)
    end = row.settled_date or row.window_end
    days = (end - start).days + 1

    if rng.random() < 0.045 * math.exp(-0.5 * row.form):
        return []  # never worked this case
    expected = days * 0.5 * collector.effort * (1.0 + 0.08 * BUCKETS.index(row.dpd_bucket))
    count = int(clamp(round(rng.gauss(expected, max(1.0, 0.3 * expected))), 1, 45))

    channel_weights = list(TEAM_CHANNEL_WEIGHTS[collector.team_id])
    if collector.collector_id == NO_SMS:
        channel_weights[0] += channel_weights[1]
        channel_weights[1] = 0.0
    bucket_index = BUCKETS.index(row.dpd_bucket)
    paid = row.recovered_cents > 0
    p_connect = sigmoid(logit(0.40) + 0.35 * row.form - 0.25 * bucket_index + row.draft.reach)
    p_ptp = sigmoid(logit(0.16) + 0.45 * row.form - 0.2 * bucket_index)
    p_ptp *= 1.7 if paid else 0.6
    p_reply = sigmoid(logit(0.10) + 0.4 * row.form)
    p_visit_done = sigmoid(logit(0.55) + 0.5 * row.form)
    p_late_log = sigmoid(-3.2 + 0.9 * collector.sloppiness)
    # NOTE: QA does not sample a new hire's calls yet, so their call_quality must come
    # from reviews.
    sampled_by_qa = collector.collector_id != NEW_HIRE

    contacts = []
    for _ in range(count):
        channel = rng.choices(("call", "sms", "visit"), weights=channel_weights)[0]
        contacted_at = draw_time(rng, random_date(rng, start, end), channel)
        duration = ptp = ptp_cents = qa = None
        if channel == "call":
            if rng.random() < p_connect:
                outcome = "connected"
                duration = int(clamp(rng.lognormvariate(math.log(95.0), 0.8), 5, 1800))
                ptp = rng.random() < min(0.9, p_ptp)
                if ptp:
                    share = rng.choice((0.1, 0.2, 0.3, 0.5, 1.0))
                    ptp_cents = max(5000, round(row.overdue_cents * share / 100) * 100)
                if sampled_by_qa and rng.random() < 0.05:
                    score = clamp(rng.gauss(76.0 + 7.0 * row.form, 6.0), 30.0, 100.0)
                    qa = round(score * 2) / 2  # QA sheets score in half points
            else:
                outcome = rng.choices(CALL_OUTCOMES[1:], weights=(45, 15, 22 + 10 * bucket_index, 15))[0]
                duration = 0
                ptp = False
        elif channel == "sms":
            if rng.random() < 0.07:
                outcome = "failed"
            elif rng.random() < p_reply:
                outcome = "replied"
            else:
                outcome = "delivered" if rng.random() < 0.7 else "sent"
        else:
            if rng.random() < p_visit_done:
                outcome = "completed"
            else:
                outcome = rng.choices(("not_found", "cancelled", "planned"), weights=(5, 3, 2))[0]

        if rng.random() < 0.03:
            logged_at = None
        elif rng.random() < p_late_log:
            logged_at = contacted_at + dt.timedelta(seconds=rng.randint(24 * 3600 + 60, 96 * 3600))
        else:
            mean_minutes = 2.0 + 4.0 * math.exp(0.5 * collector.sloppiness)
            minutes = rng.expovariate(1.0 / mean_minutes)
            logged_at = contacted_at + dt.timedelta(seconds=10 + int(minutes * 60))
        contacts.append(
            Contact(
                row.case_id,
                collector.collector_id,
                channel,
                contacted_at,
                outcome,
                duration,
                ptp,
                ptp_cents,
                qa,
                logged_at,
            )
        )
    return contacts


def build_contacts(rows: list[CaseRow], month: str) -> list[Contact]:
    rng = rng_for(month, "contacts")
    contacts = []
    for row in rows:  # rows are sorted, so the draw order is fixed
        contacts.extend(contacts_for_row(rng, row, month))
    # Generation order is the final tie-break, so ids follow time deterministically.
    order = sorted(
        range(len(contacts)),
        key=lambda i: (
            contacts[i].contacted_at,
            contacts[i].case_id,
            contacts[i].collector_id,
            i,
        ),
    )
    return [contacts[i] for i in order]


# --------------------------------------------------------------------------- frames


def cases_frame(rows: list[CaseRow], month: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [r.case_id for r in rows],
            "collector_id": [r.collector.collector_id for r in rows],
            "collector_name": [r.collector.name for r in rows],
            "team_id": [r.collector.team_id for r in rows],
            "month": [month] * len(rows),
            "assigned_date": [r.assigned_date for r in rows],
            "overdue_amount": [money(r.overdue_cents) for r in rows],
            "recovered_amount": [money(r.recovered_cents) for r in rows],
            "waived_amount": [money(r.waived_cents) for r in rows],
            "settled_date": [r.settled_date for r in rows],
            "first_payment_date": [r.first_payment_date for r in rows],
            "dpd_bucket": [r.dpd_bucket for r in rows],
            "product": [r.draft.product for r in rows],
        },
        schema={
            "case_id": pl.String,
            "collector_id": pl.String,
            "collector_name": pl.String,
            "team_id": pl.String,
            "month": pl.String,
            "assigned_date": pl.Date,
            "overdue_amount": pl.Float64,
            "recovered_amount": pl.Float64,
            "waived_amount": pl.Float64,
            "settled_date": pl.Date,
            "first_payment_date": pl.Date,
            "dpd_bucket": pl.String,
            "product": pl.String,
        },
    ).sort("case_id", "collector_id")


def contacts_frame(contacts: list[Contact], month: str) -> pl.DataFrame:
    yymm = month[2:4] + month[5:7]
    return pl.DataFrame(
        {
            "contact_id": [f"CT{yymm}{i:07d}" for i in range(1, len(contacts) + 1)],
            "case_id": [c.case_id for c in contacts],
            "collector_id": [c.collector_id for c in contacts],
            "channel": [c.channel for c in contacts],
            "contacted_at": [c.contacted_at for c in contacts],
            "outcome": [c.outcome for c in contacts],
            "duration_s": [c.duration_s for c in contacts],
            "ptp": [c.ptp for c in contacts],
            "ptp_amount": [None if c.ptp_amount_cents is None else money(c.ptp_amount_cents) for c in contacts],
            "qa_score": [c.qa_score for c in contacts],
            "logged_at": [c.logged_at for c in contacts],
        },
        schema={
            "contact_id": pl.String,
            "case_id": pl.String,
            "collector_id": pl.String,
            "channel": pl.String,
            "contacted_at": pl.Datetime("us"),
            "outcome": pl.String,
            "duration_s": pl.Int64,
            "ptp": pl.Boolean,
            "ptp_amount": pl.Float64,
            "qa_score": pl.Float64,
            "logged_at": pl.Datetime("us"),
        },
    ).sort("contacted_at", "contact_id")


def reviews_frame(collectors: list[Collector], month: str) -> pl.DataFrame:
    rng = rng_for(month, "reviews")
    records = []
    # NOTE: scores are drawn for everyone, so a roster change leaves the others' alone.
    for c in collectors:
        ratings: tuple[int | None, int | None, int | None] = (
            round(clamp(72 + 7 * c.skill + rng.gauss(0, 4), 40, 100)),
            round(clamp(73 + 6 * c.skill + rng.gauss(0, 6), 40, 100)),
            round(clamp(80 + 3 * c.skill + rng.gauss(0, 7), 40, 100)),
        )
        status = roster_status(c.collector_id, month)
        if status not in ("working", "leave"):
            continue
        call_quality, knowledge, teamwork = ratings
        if c.collector_id == NEW_HIRE and knowledge is not None:
            knowledge = min(knowledge, 62)  # still in training
        if status == "leave":  # away all month: nothing to rate
            call_quality = knowledge = teamwork = None
        violations = VIOLATIONS.get(month, {}).get(c.collector_id, 0)
        records.append((c.collector_id, month, call_quality, knowledge, teamwork, violations))
    return pl.DataFrame(
        records,
        schema={
            "collector_id": pl.String,
            "month": pl.String,
            "call_quality": pl.Int64,
            "knowledge": pl.Int64,
            "teamwork": pl.Int64,
            "violations": pl.Int64,
        },
        orient="row",
    ).sort("collector_id")


def roster_frame(collectors: list[Collector], month: str) -> pl.DataFrame:
    counts = planned_case_counts(collectors, month)
    records = []
    for c in collectors:
        status = roster_status(c.collector_id, month)
        if status is None:
            continue
        # Targets follow the planned load; someone on leave keeps the team's usual one,
        # a collector who has left has none.
        planned = counts.get(c.collector_id, round(CASES_PER_MONTH / len(collectors)))
        target: float | None = max(10000.0, round(planned * TEAM_TARGET_PER_CASE[c.team_id], -4))
        if status == "inactive":
            target = None
        records.append((c.collector_id, c.name, c.team_id, target, status != "inactive"))
    return pl.DataFrame(
        records,
        schema={
            "collector_id": pl.String,
            "collector_name": pl.String,
            "team_id": pl.String,
            "target_amount": pl.Float64,
            "active": pl.Boolean,
        },
        orient="row",
    ).sort("collector_id")


# --------------------------------------------------------------------------- writers


def write_canonical(folder: Path, tables: dict[str, pl.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("cases", "reviews", "roster"):
        text = tables[name].write_csv(float_precision=2)
        (folder / f"{name}.csv").write_bytes(text.encode("utf-8"))
    tables["contacts"].write_parquet(folder / "contacts.parquet", compression="zstd")


def excel_date(day: dt.date | None) -> str:
    return "" if day is None else f"{day.year}/{day.month}/{day.day}"


def two_decimals(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def write_gbk(path: Path, header: list[str], records: list[list[str]], delimiter: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(records)
    path.write_bytes(buffer.getvalue().encode("gbk"))


def write_chinese(folder: Path, tables: dict[str, pl.DataFrame]) -> None:
    """The same month as a Chinese Excel/system export: GBK, CRLF, local spellings."""
    folder.mkdir(parents=True, exist_ok=True)
    write_gbk(
        folder / "案件.csv",
        [
            "案件编号",
            "催收员工号",
            "催收员姓名",
            "组别",
            "分案日期",
            "委案金额",
            "回款金额",
            "减免金额",
            "结清日期",
            "首次还款日期",
            "账龄",
            "产品",
        ],
        [
            [
                r["case_id"],
                r["collector_id"],
                r["collector_name"],
                r["team_id"],
                excel_date(r["assigned_date"]),
                two_decimals(r["overdue_amount"]),
                two_decimals(r["recovered_amount"]),
                two_decimals(r["waived_amount"]),
                excel_date(r["settled_date"]),
                excel_date(r["first_payment_date"]),
                r["dpd_bucket"],
                ZH_PRODUCT[r["product"]],
            ]
            for r in tables["cases"].iter_rows(named=True)
        ],
        ",",
    )
    contact_records = []
    for r in tables["contacts"].iter_rows(named=True):
        at: dt.datetime = r["contacted_at"]
        contact_records.append(
            [
                r["case_id"],
                r["collector_id"],
                ZH_CHANNEL[r["channel"]],
                f"{at:%Y%m%d}",
                f"{at.hour}:{at:%M:%S}",
                ZH_OUTCOME[r["outcome"]],
                "" if r["duration_s"] is None else str(r["duration_s"]),
                "" if r["ptp"] is None else ZH_BOOL[r["ptp"]],
                two_decimals(r["ptp_amount"]),
                "" if r["qa_score"] is None else format(r["qa_score"], "g"),
                "" if r["logged_at"] is None else f"{r['logged_at']:%Y-%m-%d %H:%M:%S}",
            ]
        )
    write_gbk(
        folder / "催记.txt",
        [
            "案件编号",
            "催收员工号",
            "渠道",
            "日期",
            "时间",
            "结果",
            "通话时长",
            "承诺还款",
            "承诺金额",
            "质检分",
            "记录时间",
        ],
        contact_records,
        "\t",
    )

    def optional_int(value: int | None) -> str:
        return "" if value is None else str(value)

    write_gbk(
        folder / "考核.csv",
        ["催收员工号", "通话质量", "知识储备", "团队协作", "违规次数"],
        [
            [
                r["collector_id"],
                optional_int(r["call_quality"]),
                optional_int(r["knowledge"]),
                optional_int(r["teamwork"]),
                optional_int(r["violations"]),
            ]
            for r in tables["reviews"].iter_rows(named=True)
        ],
        ",",
    )
    write_gbk(
        folder / "花名册.csv",
        ["催收员工号", "催收员姓名", "组别", "目标金额", "在职"],
        [
            [
                r["collector_id"],
                r["collector_name"],
                r["team_id"],
                two_decimals(r["target_amount"]),
                ZH_BOOL[r["active"]],
            ]
            for r in tables["roster"].iter_rows(named=True)
        ],
        ",",
    )


# --------------------------------------------------------------------------- summary


def check_invariants(tables: dict[str, pl.DataFrame], month: str) -> None:
    first, last = month_bounds(month)
    cases, contacts = tables["cases"], tables["contacts"]
    bad = cases.filter(
        (pl.col("recovered_amount") > pl.col("overdue_amount"))
        | (pl.col("settled_date") < pl.col("assigned_date"))
        | (pl.col("first_payment_date") < pl.col("assigned_date"))
        | (pl.col("first_payment_date") > pl.col("settled_date"))
        | ~pl.col("settled_date").is_between(first, last)
        | ~pl.col("first_payment_date").is_between(first, last)
        | (pl.col("first_payment_date").is_null() != (pl.col("recovered_amount") == 0))
    )
    assert bad.is_empty(), bad
    pairs = cases.select("case_id", "collector_id").unique()
    orphans = contacts.join(pairs, on=["case_id", "collector_id"], how="anti")
    assert orphans.is_empty(), orphans
    in_month = contacts["contacted_at"].dt.date().is_between(first, last).all()
    assert in_month, "contact outside the month"


def print_summary(tables: dict[str, pl.DataFrame], month: str) -> None:
    cases, contacts = tables["cases"], tables["contacts"]
    print(f"== {month}")
    sizes = ", ".join(f"{name} {frame.height}" for name, frame in tables.items())
    collectors_with_cases = cases["collector_id"].n_unique()
    print(f"rows: {sizes}; collectors: roster {tables['roster'].height}, with cases {collectors_with_cases}")
    pairs = contacts.select("case_id", "collector_id").unique()
    covered = cases.join(pairs, on=["case_id", "collector_id"], how="semi").height
    calls = contacts.filter(pl.col("channel") == "call")
    print(
        f"contacts/case row {contacts.height / cases.height:.1f}, coverage "
        f"{covered / cases.height:.1%}, channels "
        + ", ".join(f"{ch} {n}" for ch, n in contacts.group_by("channel").len().sort("channel").iter_rows())
        + f", connect {calls['outcome'].eq('connected').mean():.1%}, "
        f"qa-sampled {contacts['qa_score'].is_not_null().sum()}, "
        f"logged_at null {contacts['logged_at'].is_null().mean():.1%}"
    )
    ratio = (pl.col("recovered_amount").sum() / pl.col("overdue_amount").sum()).alias("recovery")
    teams = cases.group_by("team_id").agg(ratio, pl.len().alias("cases")).sort("team_id")
    print("team recovery (pooled): " + ", ".join(f"{t} {r:.1%} ({n} rows)" for t, r, n in teams.iter_rows()))
    by_collector = (
        cases.group_by("collector_id")
        .agg(ratio, pl.len().alias("cases"), pl.col("team_id").first())
        .sort("recovery", "collector_id", descending=[True, False])
    )

    def line(frame: pl.DataFrame) -> str:
        return ", ".join(f"{c}/{t} {r:.1%} (n={n})" for c, r, n, t in frame.iter_rows())

    print("top 5:    " + line(by_collector.head(5)))
    print("bottom 5: " + line(by_collector.tail(5)))


def main() -> None:
    collectors = build_collectors()
    written = {}
    for month in MONTHS:
        rows = build_cases(collectors, month)
        contacts = build_contacts(rows, month)
        tables = {
            "cases": cases_frame(rows, month),
            "contacts": contacts_frame(contacts, month),
            "reviews": reviews_frame(collectors, month),
            "roster": roster_frame(collectors, month),
        }
        check_invariants(tables, month)
        write_canonical(HERE / month, tables)
        written[month] = tables
    write_chinese(HERE / "zh" / ZH_MONTH, written[ZH_MONTH])
    for month in MONTHS:
        print_summary(written[month], month)


if __name__ == "__main__":
    main()
