"""The metric catalog: every metric defined once, as a ratio of two sums.

Each table contributes *components*: row-level polars expressions that are summed per
collector (money in integer cents, durations in whole days or seconds, so every sum is
exact and independent of row order). A metric's value is ``numerator / denominator``
over those sums, so one definition serves a collector, a team (the sum of its members'
sums) and the whole floor. A zero denominator gives no value (null), never 0.

No I/O here: functions take and return polars expressions and LazyFrames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

import polars as pl

Table = Literal["cases", "contacts", "reviews", "roster"]
Unit = Literal["count", "money", "rate", "days", "points"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class Params:
    """The numbers some definitions need, taken from the scheme and the month."""

    month_start: date
    month_end: date
    sla_days: int = 30
    followup_hours: float = 24.0


@dataclass(frozen=True)
class Component:
    """A named per-row quantity of one table, summed per collector."""

    name: str
    table: Table
    columns: tuple[str, ...]
    row: Callable[[Params], pl.Expr]
    # Sums held in integer cents or hundredths are divided by this when shown alone.
    scale: int = 1
    # Other tables the row expression depends on (coverage joins the contacts).
    also_needs: tuple[Table, ...] = ()
    # The component whose rows this one sums, over fewer rows: those whose cells in
    # ``columns`` (more columns than the base reads) are all clean (see `same_rows`).
    base: str | None = None

    def summed(self, params: Params) -> pl.Expr:
        """The rows' sum, as an integer (a flag's sum counts its trues)."""
        return self.row(params).sum().cast(pl.Int64)


@dataclass(frozen=True)
class Metric:
    """One catalog entry: value = Σ numerator / Σ denominator (or Σ numerator alone)."""

    id: str
    zh: str
    en: str
    definition: str
    unit: Unit
    better: Direction | None
    numerator: str
    denominator: str | None = None
    # Used where the denominator is zero (call_quality falls back to the reviews).
    fallback: tuple[str, str] | None = None
    # The value is the team's pooled value, credited to each member.
    team_pooled: bool = False

    @property
    def components(self) -> tuple[str, ...]:
        names = [self.numerator]
        if self.denominator:
            names.append(self.denominator)
        if self.fallback:
            names.extend(self.fallback)
        return tuple(names)

    @property
    def tables(self) -> tuple[Table, ...]:
        seen: list[Table] = []
        for name in self.components:
            component = COMPONENTS[name]
            for table in (component.table, *component.also_needs):
                if table not in seen:
                    seen.append(table)
        return tuple(seen)

    @property
    def label(self) -> str:
        return f"{self.zh} {self.id}"


def _flag(condition: pl.Expr) -> pl.Expr:
    # A boolean: summing it counts the trues (cheaper than summing a cast to integers). A
    # null (a missing value) counts as false, as a sum skips it: no fill is needed (filling
    # cost up to 0.1 s of CPU over 20M contacts). Component rows are only ever summed.
    return condition


def _settled(p: Params) -> pl.Expr:
    return pl.col("settled_date").is_not_null() & (pl.col("settled_date") <= p.month_end)


def _paid(p: Params) -> pl.Expr:
    return pl.col("first_payment_date").is_not_null() & (pl.col("first_payment_date") <= p.month_end)


def _days(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_days()


def _channel(name: str) -> pl.Expr:
    return pl.col("channel") == name


def _connected_call() -> pl.Expr:
    return _channel("call") & (pl.col("outcome") == "connected")


def _int_when(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(value).otherwise(0).cast(pl.Int64)  # a null condition: 0


def _hundredths(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)


_COMPONENT_LIST: tuple[Component, ...] = (
    # cases: money columns are read as integer cents (see sources.py)
    Component("case_rows", "cases", (), lambda p: _flag(pl.col("collector_id").is_not_null())),
    Component("recovered_cents", "cases", ("recovered_amount",), lambda p: pl.col("recovered_amount"), 100),
    Component("overdue_cents", "cases", ("overdue_amount",), lambda p: pl.col("overdue_amount"), 100),
    Component("waived_cents", "cases", ("waived_amount",), lambda p: pl.col("waived_amount").fill_null(0), 100),
    Component("settled_cases", "cases", ("settled_date",), lambda p: _flag(_settled(p))),
    Component(
        "settled_overdue_cents",
        "cases",
        ("settled_date", "overdue_amount"),
        lambda p: _int_when(_settled(p), pl.col("overdue_amount")),
        100,
    ),
    Component("paying_cases", "cases", ("recovered_amount",), lambda p: _flag(pl.col("recovered_amount") > 0)),
    Component(
        "handling_days_total",
        "cases",
        ("settled_date", "assigned_date"),
        lambda p: _int_when(_settled(p), _days("settled_date", "assigned_date")),
    ),
    Component(
        "settled_on_time",
        "cases",
        ("settled_date", "assigned_date"),
        lambda p: _flag(_settled(p) & (_days("settled_date", "assigned_date") <= p.sla_days)),
    ),
    Component("first_paid_cases", "cases", ("first_payment_date",), lambda p: _flag(_paid(p))),
    Component(
        "cycle_days_total",
        "cases",
        ("first_payment_date", "assigned_date"),
        lambda p: _int_when(_paid(p), _days("first_payment_date", "assigned_date")),
    ),
    # `contacted` is joined onto the case rows from the contacts (see aggregate()).
    Component(
        "contacted_cases", "cases", ("contacted",), lambda p: _flag(pl.col("contacted")), also_needs=("contacts",)
    ),
    # contacts
    Component("contact_rows", "contacts", (), lambda p: _flag(pl.col("collector_id").is_not_null())),
    Component("calls", "contacts", ("channel",), lambda p: _flag(_channel("call"))),
    Component("connected_calls", "contacts", ("channel", "outcome"), lambda p: _flag(_connected_call())),
    Component(
        "ptp_connected_calls",
        "contacts",
        ("channel", "outcome", "ptp"),
        lambda p: _flag(_connected_call() & pl.col("ptp")),
    ),
    Component(
        "sms_not_failed",
        "contacts",
        ("channel", "outcome"),
        lambda p: _flag(_channel("sms") & (pl.col("outcome") != "failed")),
    ),
    Component(
        "sms_replied",
        "contacts",
        ("channel", "outcome"),
        lambda p: _flag(_channel("sms") & (pl.col("outcome") == "replied")),
    ),
    Component("visits", "contacts", ("channel",), lambda p: _flag(_channel("visit"))),
    Component(
        "visits_completed",
        "contacts",
        ("channel", "outcome"),
        lambda p: _flag(_channel("visit") & (pl.col("outcome") == "completed")),
    ),
    Component(
        "qa_sampled_calls",
        "contacts",
        ("channel", "qa_score"),
        lambda p: _flag(_channel("call") & pl.col("qa_score").is_not_null()),
    ),
    Component(
        "qa_score_total",
        "contacts",
        ("channel", "qa_score"),
        lambda p: _int_when(_channel("call") & pl.col("qa_score").is_not_null(), _hundredths("qa_score")),
        100,
    ),
    Component("logged_contacts", "contacts", ("logged_at",), lambda p: _flag(pl.col("logged_at").is_not_null())),
    Component(
        "logged_on_time",
        "contacts",
        ("logged_at", "contacted_at"),
        # Compared as durations: total_seconds() would drop the fraction of a second.
        lambda p: _flag((pl.col("logged_at") - pl.col("contacted_at")) <= timedelta(hours=p.followup_hours)),
    ),
    # reviews: 0–100 ratings held in hundredths so sums are exact
    Component(
        "review_call_quality_total",
        "reviews",
        ("call_quality",),
        lambda p: _hundredths("call_quality").fill_null(0),
        100,
    ),
    Component(
        "review_call_quality_count", "reviews", ("call_quality",), lambda p: _flag(pl.col("call_quality").is_not_null())
    ),
    Component("knowledge_total", "reviews", ("knowledge",), lambda p: _hundredths("knowledge").fill_null(0), 100),
    Component("knowledge_count", "reviews", ("knowledge",), lambda p: _flag(pl.col("knowledge").is_not_null())),
    Component("teamwork_total", "reviews", ("teamwork",), lambda p: _hundredths("teamwork").fill_null(0), 100),
    Component("teamwork_count", "reviews", ("teamwork",), lambda p: _flag(pl.col("teamwork").is_not_null())),
    Component(
        "violations_total", "reviews", ("violations",), lambda p: pl.col("violations").fill_null(0).cast(pl.Int64)
    ),
    # roster: the monthly recovery target, in cents (a scheme default fills gaps)
    Component("target_cents", "roster", ("target_amount",), lambda p: pl.col("target_amount"), 100),
)

COMPONENTS: dict[str, Component] = {c.name: c for c in _COMPONENT_LIST}


CATALOG: tuple[Metric, ...] = (
    Metric("case_count", "案件量", "Case count", "number of case rows held", "count", "higher", "case_rows"),
    Metric(
        "recovered_amount",
        "回收金额",
        "Recovered amount",
        "Σ recovered_amount",
        "money",
        "higher",
        "recovered_cents",
    ),
    Metric(
        "target_attainment",
        "目标完成率",
        "Target attainment",
        "Σ recovered_amount / target_amount (roster, or params.target_amount)",
        "rate",
        "higher",
        "recovered_cents",
        "target_cents",
    ),
    Metric(
        "recovery_rate",
        "回款率",
        "Recovery rate",
        "Σ recovered_amount / Σ overdue_amount",
        "rate",
        "higher",
        "recovered_cents",
        "overdue_cents",
    ),
    Metric(
        "settlement_rate",
        "案件结清率",
        "Settlement rate",
        "cases with settled_date in or before the month / case_count",
        "rate",
        "higher",
        "settled_cases",
        "case_rows",
    ),
    Metric(
        "settled_amount_rate",
        "结清金额率",
        "Settled amount rate",
        "Σ overdue_amount of settled cases / Σ overdue_amount",
        "rate",
        "higher",
        "settled_overdue_cents",
        "overdue_cents",
    ),
    Metric(
        "success_rate",
        "成功率",
        "Success rate",
        "cases with recovered_amount > 0 / case_count",
        "rate",
        "higher",
        "paying_cases",
        "case_rows",
    ),
    Metric(
        "team_recovery_rate",
        "团队回收率",
        "Team recovery rate",
        "the team's pooled recovery_rate, credited to each member",
        "rate",
        "higher",
        "recovered_cents",
        "overdue_cents",
        team_pooled=True,
    ),
    Metric(
        "call_connect_rate",
        "电话接通率",
        "Call connect rate",
        "calls with outcome connected / calls",
        "rate",
        "higher",
        "connected_calls",
        "calls",
    ),
    Metric(
        "sms_reply_rate",
        "短信回复率",
        "SMS reply rate",
        "sms replied / sms not failed",
        "rate",
        "higher",
        "sms_replied",
        "sms_not_failed",
    ),
    Metric(
        "visit_rate",
        "上门率",
        "Visit rate",
        "visits completed / visits (all visit rows are planned)",
        "rate",
        "higher",
        "visits_completed",
        "visits",
    ),
    Metric(
        "call_quality",
        "通话质量",
        "Call quality",
        "mean qa_score of sampled calls; with no sampled call, reviews.call_quality",
        "points",
        "higher",
        "qa_score_total",
        "qa_sampled_calls",
        fallback=("review_call_quality_total", "review_call_quality_count"),
    ),
    Metric(
        "handling_days",
        "处理时效",
        "Handling days",
        "mean days assigned_date → settled_date over settled cases",
        "days",
        "lower",
        "handling_days_total",
        "settled_cases",
    ),
    Metric(
        "on_time_rate",
        "期内解决比例",
        "On-time settlement rate",
        "settled cases with handling days ≤ params.sla_days / settled cases",
        "rate",
        "higher",
        "settled_on_time",
        "settled_cases",
    ),
    Metric(
        "cycle_days",
        "催收周期",
        "Collection cycle",
        "mean days assigned_date → first_payment_date over cases with a payment",
        "days",
        "lower",
        "cycle_days_total",
        "first_paid_cases",
    ),
    Metric(
        "waiver_rate",
        "减免率",
        "Waiver rate",
        "Σ waived_amount / (Σ recovered_amount + Σ waived_amount)",
        "rate",
        None,
        "waived_cents",
        "recovered_plus_waived_cents",
    ),
    Metric(
        "ptp_rate",
        "承诺还款率",
        "Promise-to-pay rate",
        "connected calls with ptp / connected calls",
        "rate",
        "higher",
        "ptp_connected_calls",
        "connected_calls",
    ),
    Metric(
        "contact_coverage",
        "触达率",
        "Contact coverage",
        "case rows with ≥ 1 contact attempt by the same collector in the month / case_count",
        "rate",
        "higher",
        "contacted_cases",
        "case_rows",
    ),
    Metric(
        "followup_timeliness",
        "跟进记录及时率",
        "Follow-up timeliness",
        "contacts logged within params.followup_hours / contacts with logged_at",
        "rate",
        "higher",
        "logged_on_time",
        "logged_contacts",
    ),
    Metric(
        "knowledge",
        "知识储备",
        "Knowledge",
        "reviews.knowledge",
        "points",
        "higher",
        "knowledge_total",
        "knowledge_count",
    ),
    Metric(
        "teamwork",
        "团队协作",
        "Teamwork",
        "reviews.teamwork",
        "points",
        "higher",
        "teamwork_total",
        "teamwork_count",
    ),
    Metric(
        "violations",
        "违规次数",
        "Violations",
        "Σ reviews.violations (normally a gate)",
        "count",
        "lower",
        "violations_total",
    ),
)

# waiver_rate's denominator is itself a sum of two components.
COMPONENTS["recovered_plus_waived_cents"] = Component(
    "recovered_plus_waived_cents",
    "cases",
    ("recovered_amount", "waived_amount"),
    lambda p: pl.col("recovered_amount") + pl.col("waived_amount").fill_null(0),
    100,
)


# Columns whose bad value rejects the whole row, not the cell alone (sources.py reads by
# this): what says whose row it is and of which month, and the case amounts the money is
# reconciled on. Every roster column is one too: a roster row is taken whole (its team,
# name, target), not summed per metric. `contacted` is no column read but joined from the
# contacts (whose keys are row columns).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": ("case_id", "collector_id", "team_id", "month", "overdue_amount", "recovered_amount", "contacted"),
    "contacts": ("contact_id", "case_id", "collector_id", "contacted_at"),
    "reviews": ("collector_id", "month"),
}


def rejects_row(table: str, column: str) -> bool:
    """Whether a bad value in ``column`` rejects its row (else the cell alone)."""
    return table == "roster" or column in ROW_COLUMNS.get(table, ())


def _over(name: str, columns: Iterable[str]) -> str:
    """The component ``name`` summed over the rows whose cells in ``columns`` are clean:
    itself where it reads them all, else a variant (``case_rows[settled_date]``)."""
    component = COMPONENTS[name]
    extra = [c for c in columns if c not in component.columns and not rejects_row(component.table, c)]
    if not extra:
        return name
    variant = f"{component.base or name}[{'+'.join(extra)}]"
    if variant not in COMPONENTS:
        COMPONENTS[variant] = replace(
            component, name=variant, columns=(*component.columns, *extra), base=component.base or name
        )
    return variant


def same_rows(metric: Metric) -> Metric:
    """The metric with its numerator and denominator summed over the same rows.

    NOTE: a bad cell (a settled_date that is no date, a qa_score of 150) rejects that cell
    alone: a component skips the rows with a rejected cell in a column it reads. A rate
    must be a ratio over one set of rows, so each component of a pair skips the rows with
    a rejected cell in a column *either* reads: settlement_rate counts a case with a bad
    settled_date in neither settled_cases nor case_rows, handling_days a case with a bad
    assigned_date in neither handling_days_total nor settled_cases, while case_count and
    recovery_rate (which read neither column) still count it. The fallback pair is paired
    the same way, on its own.
    """
    pairs = [(metric.numerator, metric.denominator)]
    if metric.fallback:
        pairs.append(metric.fallback)
    widened: list[str] = []
    for numerator, denominator in pairs:
        if denominator is None:
            widened.append(numerator)
            continue
        num, den = COMPONENTS[numerator], COMPONENTS[denominator]
        # Only columns of the same table: a roster's target bears on no case row.
        widened.append(_over(numerator, den.columns if den.table == num.table else ()))
        widened.append(_over(denominator, num.columns if den.table == num.table else ()))
    if metric.denominator is None:
        return metric
    numerator, denominator, *fallback = widened
    return replace(
        metric,
        numerator=numerator,
        denominator=denominator,
        fallback=(fallback[0], fallback[1]) if fallback else None,
    )


CATALOG = tuple(same_rows(metric) for metric in CATALOG)
METRICS: dict[str, Metric] = {m.id: m for m in CATALOG}


def components_for(metric_ids: Iterable[str]) -> list[str]:
    """The component names the given metrics need, in catalog order (a variant's base too)."""
    wanted = {name for mid in metric_ids for name in METRICS[mid].components}
    wanted |= {base for name in wanted if (base := COMPONENTS[name].base)}
    return [name for name in COMPONENTS if name in wanted]


def columns_for(table: Table, component_names: Iterable[str]) -> list[str]:
    """The canonical columns of ``table`` those components read."""
    columns: list[str] = []
    for name in component_names:
        component = COMPONENTS[name]
        if component.table == table:
            for column in component.columns:
                if column not in columns:
                    columns.append(column)
    return columns


def component_exprs(table: Table, component_names: Iterable[str], params: Params) -> list[pl.Expr]:
    """Per-collector sum expressions of the components of one table."""
    # A variant sums its base's rows: its sum is taken from the base's, per set of rejected cells.
    return [
        COMPONENTS[name].summed(params).alias(name)
        for name in component_names
        if COMPONENTS[name].table == table and COMPONENTS[name].base is None
    ]


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null where the denominator is zero or missing."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64)).otherwise(None)


def scaled(component: str) -> pl.Expr:
    """A component sum in its natural unit (cents → money), computed exactly."""
    scale = COMPONENTS[component].scale
    column = pl.col(component)
    if scale == 1:
        return column.cast(pl.Float64)
    # NOTE: dividing by a literal is done as multiplying by its reciprocal, which can
    # miss the nearest double by one bit; formatting the decimal string and parsing it
    # gives exactly the value a person would write (123456 cents → 1234.56).
    digits = len(str(scale)) - 1
    text = column.abs().cast(pl.String).str.zfill(digits + 1)
    sign = pl.when(column < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return (
        pl.concat_str(sign, text.str.head(-digits), pl.lit("."), text.str.tail(digits))
        .cast(pl.Float64)
        .alias(component)
    )


def value_expr(metric: Metric) -> pl.Expr:
    """The metric's value from a frame of component sums (one row per group)."""
    num_scale = COMPONENTS[metric.numerator].scale
    if metric.denominator is None:
        # Counts stay whole numbers; money sums become exact decimals.
        expr = pl.col(metric.numerator) if num_scale == 1 else scaled(metric.numerator)
    else:
        den_scale = COMPONENTS[metric.denominator].scale
        expr = ratio(pl.col(metric.numerator), pl.col(metric.denominator))
        if num_scale != den_scale:
            # Only qa_score_total (hundredths) over a count reaches here.
            expr = ratio(pl.col(metric.numerator), pl.col(metric.denominator) * (num_scale // den_scale))
        if metric.fallback:
            fb_num, fb_den = metric.fallback
            fb_scale = COMPONENTS[fb_num].scale // COMPONENTS[fb_den].scale
            expr = pl.coalesce(expr, ratio(pl.col(fb_num), pl.col(fb_den) * fb_scale))
    return expr.alias(metric.id)
