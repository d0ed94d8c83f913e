"""From per-collector sums to scorecards: values, points, weights, gates, grades, ranks.

Rank order is total and documented: score descending, then ``collector_id`` (or
``team_id``) ascending; ineligible rows have no rank and follow the ranked ones.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .aggregate import MonthSums, TableStats
from .errors import Issue, KpiError
from .metrics import METRICS, scaled, value_expr
from .scheme import BandMethod, Commission, Gate, PercentileMethod, RangeMethod, Scheme, TargetMethod

if TYPE_CHECKING:
    from .fairness import Credibility

LEVELS = ("collector", "team")
# Columns shown beside an adjusted or shrunk metric: raw value, E, O/E, Z, and in words.
FAIR_SUFFIXES = ("raw", "expected", "oe_ratio", "credibility", "note")


@dataclass
class Scorecard:
    """Everything one run computed: per-level frames plus the floor and the accounting."""

    month: str
    scheme: Scheme
    collectors: pl.DataFrame
    teams: pl.DataFrame
    floor: dict[str, Any]
    stats: dict[str, TableStats]
    rejects: pl.DataFrame
    components: list[str] = field(default_factory=list)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    # Per fair metric: the credibility constant used and how it was found.
    fairness: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Warnings about the month's data that change no number (ids that look alike …).
    warnings: list[Issue] = field(default_factory=list)
    # The rejected cells of used rows (each left out of the metrics that read its column).
    cell_rejects: pl.DataFrame = field(default_factory=pl.DataFrame)

    def frame(self, level: str) -> pl.DataFrame:
        return self.collectors if level == "collector" else self.teams

    def table(self, level: str = "collector") -> pl.DataFrame:
        """The output contract: one record per collector (or team), ranked first."""
        frame = self.frame(level)
        key = ["collector_id", "collector_name", "team_id"] if level == "collector" else ["team_id", "member_count"]
        metric_cols: list[str] = []
        for metric_id in self.scheme.metrics:
            metric_cols += [metric_id, f"{metric_id}_score"]
            if level == "collector" and f"{metric_id}_raw" in frame.columns:
                metric_cols += [f"{metric_id}_{suffix}" for suffix in FAIR_SUFFIXES]
        extra = [c for c in ("provisional", "bonus") if c in frame.columns and level == "collector"]
        return frame.select(
            "rank", *key, "score", "grade", "eligible", "ineligible_reason", "gates", *extra, *metric_cols
        )


def metric_values(sums: pl.DataFrame, metric_ids: list[str], team_values: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add one value column per metric to a frame of component sums."""
    own = [value_expr(METRICS[m]) for m in metric_ids if not METRICS[m].team_pooled or team_values is None]
    out = sums.with_columns(own)
    pooled = [m for m in metric_ids if METRICS[m].team_pooled and team_values is not None]
    if pooled and team_values is not None:
        out = out.join(team_values.select("team_id", *pooled), on="team_id", how="left", nulls_equal=False)
    return out


def _oriented(value: pl.Expr, better: str) -> pl.Expr:
    return value if better == "higher" else -value


def method_score(scheme: Scheme, metric_id: str, frame: pl.DataFrame) -> pl.Series:
    """The 0–100 score of one metric for every row of ``frame`` (null where no value)."""
    return frame.select(_scored(scheme, metric_id, frame)).to_series()


def _scored(scheme: Scheme, metric_id: str, frame: pl.DataFrame) -> pl.Expr | pl.Series:
    """A metric's score: an expression of its value, or a percentile's ranking of ``frame``."""
    expr = _method_expr(scheme, metric_id)
    return expr if expr is not None else _percentile(frame, metric_id, scheme.direction(metric_id))


def _method_expr(scheme: Scheme, metric_id: str) -> pl.Expr | None:
    """A metric's score as an expression of its value; None for a percentile (of peers)."""
    method = scheme.metrics[metric_id].score
    value = pl.col(metric_id)
    better = scheme.direction(metric_id)
    if isinstance(method, TargetMethod):
        if better == "higher":
            attainment = value / method.target
        else:
            attainment = pl.when(value > 0).then(method.target / value).otherwise(method.cap)
        expr = pl.min_horizontal(attainment, pl.lit(method.cap)) / method.cap * 100
    elif isinstance(method, RangeMethod):
        expr = ((value - method.floor) / (method.ceiling - method.floor)).clip(0, 1) * 100
    elif isinstance(method, BandMethod):
        distance = pl.max_horizontal(method.low - value, value - method.high, pl.lit(0.0))
        expr = (1 - distance / method.falloff).clip(0, 1) * 100
    elif isinstance(method, PercentileMethod):
        return None
    else:  # pragma: no cover - the scheme model admits no other method
        raise AssertionError(method)
    return pl.when(value.is_not_null()).then(expr).otherwise(None).alias(metric_id)


def _percentile(frame: pl.DataFrame, metric_id: str, better: str) -> pl.Series:
    """Share of eligible peers doing worse, ties counting half; one peer alone gets 100."""
    oriented = frame.select(_oriented(pl.col(metric_id), better).alias("v"), pl.col("_eligible_pre")).to_series(0)
    eligible = frame["_eligible_pre"]
    peers = oriented.filter(eligible & oriented.is_not_null()).sort()
    n = peers.len()
    below = peers.search_sorted(oriented, side="left")
    upto = peers.search_sorted(oriented, side="right")
    table = pl.DataFrame(
        {
            "v": oriented,
            "self": (eligible & oriented.is_not_null()).cast(pl.Int64),
            "below": below.cast(pl.Int64),
            "equal": (upto - below).cast(pl.Int64),
        }
    )
    others = pl.lit(n, dtype=pl.Int64) - pl.col("self")
    expr = (
        pl.when(pl.col("v").is_null())
        .then(None)
        .when(others == 0)
        .then(100.0)
        .otherwise((pl.col("below") + 0.5 * (pl.col("equal") - pl.col("self"))) / others * 100)
    )
    return table.select(expr.alias(metric_id)).to_series()


def add_in_order(terms: list[pl.Expr]) -> pl.Expr:
    """t1 + t2 + … strictly left to right.

    NOTE: pl.sum_horizontal may add in another order, and the last bit of a float sum
    depends on the order; scores must be byte-identical from run to run and equal to the
    sum of the points `kpi explain` shows.
    """
    return functools.reduce(operator.add, terms)


def gate_fires(gate: Gate) -> pl.Expr:
    """True where the gate's metric is beyond its limit (a missing value never fires)."""
    value = pl.col(gate.metric)
    condition = (value > gate.above) if gate.above is not None else (value < gate.below)
    return condition.fill_null(False)


def commission_expr(commission: Commission, amount: pl.Expr) -> pl.Expr:
    """阶梯式提成 on ``amount``: marginal (each tier's rate on its slice) or whole (one rate)."""
    lower = 0.0
    parts: list[pl.Expr] = []
    whole: Any = None
    for tier in commission.tiers:
        upper = tier.upto
        if commission.basis == "marginal":
            slice_ = amount - lower if upper is None else pl.min_horizontal(amount, pl.lit(upper)) - lower
            parts.append(slice_.clip(lower_bound=0) * tier.rate)
        else:
            # `upto` is inclusive: 100,000 exactly is paid at the first tier's rate.
            condition = pl.lit(True) if upper is None else amount <= upper
            whole = (pl.when(condition) if whole is None else whole.when(condition)).then(amount * tier.rate)
        lower = upper if upper is not None else lower
    if commission.basis == "marginal":
        return add_in_order(parts)
    result: pl.Expr = whole.otherwise(0.0)
    return result


def _bonus(scheme: Scheme, frame: pl.DataFrame) -> pl.DataFrame:
    """Base × grade multiplier plus commission, for eligible collectors no gate cancels."""
    rules = scheme.bonus
    if rules is None:
        return frame
    amount: pl.Expr = pl.lit(0.0)
    if rules.base:
        if rules.by_grade:
            amount = pl.col("grade").replace_strict(rules.by_grade, default=0.0, return_dtype=pl.Float64) * rules.base
        else:
            amount = pl.lit(float(rules.base))
    if rules.commission is not None:
        amount = amount + commission_expr(rules.commission, scaled("recovered_cents"))
    cancelled = pl.lit(False)
    for gate in scheme.gates:
        if gate.cancel_bonus:
            cancelled = cancelled | gate_fires(gate)
    if "_provisional_unpaid" in frame.columns:
        cancelled = cancelled | pl.col("_provisional_unpaid")
    paid = pl.col("eligible") & ~cancelled
    return frame.with_columns(bonus=pl.when(paid).then(amount.round(2)).otherwise(0.0))


def _grade_expr(scheme: Scheme, score: pl.Expr) -> pl.Expr:
    bands = scheme.grades
    expr: Any = pl.when(score.is_null()).then(pl.lit(None, dtype=pl.String))
    for band in bands:
        expr = expr.when(score >= band.min).then(pl.lit(band.grade))
    result: pl.Expr = expr.otherwise(pl.lit(bands[-1].grade))
    return result


def _score_level(scheme: Scheme, frame: pl.DataFrame, key: str, gates: bool) -> pl.DataFrame:
    """Metric scores, total, gates, grade and rank for one level's frame."""
    metric_ids = list(scheme.metrics)
    frame = frame.with_columns(_scored(scheme, m, frame).alias(f"{m}_score") for m in metric_ids)  # one select

    weights = {m: scheme.metrics[m].weight for m in metric_ids}
    weighted = [pl.col(f"{m}_score").fill_null(0) * weights[m] for m in metric_ids]
    if scheme.missing == "reweight":
        present = [pl.when(pl.col(f"{m}_score").is_not_null()).then(weights[m]).otherwise(0.0) for m in metric_ids]
        weight_sum = add_in_order(present)
        frame = frame.with_columns(_weight_sum=weight_sum)
    else:
        frame = frame.with_columns(_weight_sum=pl.lit(100.0))
    points = [
        pl.when(pl.col(f"{m}_score").is_not_null() & (pl.col("_weight_sum") > 0))
        .then(w / pl.col("_weight_sum"))
        .otherwise(0.0)
        .alias(f"{m}_points")
        for m, w in zip(metric_ids, weighted, strict=True)
    ]
    frame = frame.with_columns(points)
    total = pl.when(pl.col("_weight_sum") > 0).then(add_in_order([pl.col(f"{m}_points") for m in metric_ids]))
    frame = frame.with_columns(score=total.otherwise(None))

    # Gates: zero the score or cap the grade of the collectors they fire on.
    fired: list[pl.Expr] = []
    zero = pl.lit(False)
    cap_rank = pl.lit(None, dtype=pl.Int64)
    order = {band.grade: index for index, band in enumerate(scheme.grades)}
    if gates:
        for gate in scheme.gates:
            condition = gate_fires(gate)
            fired.append(pl.when(condition).then(pl.lit(gate.describe())))
            if gate.action == "zero_score":
                zero = zero | condition
            if gate.action == "cap_grade" and gate.grade is not None:
                cap_rank = (
                    pl.when(condition).then(pl.max_horizontal(cap_rank, pl.lit(order[gate.grade]))).otherwise(cap_rank)
                )
    frame = frame.with_columns(
        gates=pl.concat_str(fired, separator="; ", ignore_nulls=True).replace("", None)
        if fired
        else pl.lit(None, dtype=pl.String),
        score=pl.when(zero & pl.col("score").is_not_null()).then(0.0).otherwise(pl.col("score")),
        _cap=cap_rank,
    )
    grade = _grade_expr(scheme, pl.col("score"))
    grades = pl.Series("grades", [band.grade for band in scheme.grades])
    frame = frame.with_columns(grade=grade)
    frame = frame.with_columns(
        grade=pl.when(
            pl.col("_cap").is_not_null()
            & (pl.col("grade").replace_strict(order, default=None, return_dtype=pl.Int64) < pl.col("_cap"))
        )
        .then(pl.col("_cap").replace_strict(dict(enumerate(grades.to_list())), default=None, return_dtype=pl.String))
        .otherwise(pl.col("grade"))
    )
    frame = frame.with_columns(
        eligible=pl.col("_eligible_pre") & pl.col("score").is_not_null(),
        ineligible_reason=pl.when(pl.col("_eligible_pre") & pl.col("score").is_null())
        .then(pl.lit("no metric has a value"))
        .otherwise(pl.col("_reason")),
    )
    ranked = frame.filter("eligible").sort(["score", key], descending=[True, False]).with_row_index("rank", offset=1)
    frame = frame.join(ranked.select(key, pl.col("rank").cast(pl.Int64)), on=key, how="left")
    return frame.sort([pl.col("rank").is_null(), "rank", key], descending=[False, False, False], nulls_last=True).drop(
        "_cap"
    )


def _collector_eligibility(scheme: Scheme, frame: pl.DataFrame) -> pl.DataFrame:
    rules = scheme.eligibility
    reasons: list[pl.Expr] = []
    if rules.active_only:
        reasons.append(pl.when(~pl.col("active")).then(pl.lit("inactive on the roster")))
    holds = pl.lit(True)
    for work in ("cases", "contacts"):
        if f"holds_{work}" in frame.columns:
            holds = pl.col(f"holds_{work}")
            reasons.append(pl.when(~holds).then(pl.lit(f"no {work} in the month")))
    if rules.min_cases > 0:
        reasons.append(
            pl.when(holds & (pl.col("case_rows") < rules.min_cases)).then(
                pl.format("{} cases < min_cases {}", pl.col("case_rows"), pl.lit(rules.min_cases))
            )
        )
    if rules.min_contacts > 0:
        reasons.append(
            pl.when(pl.col("contact_rows") < rules.min_contacts).then(
                pl.format("{} contacts < min_contacts {}", pl.col("contact_rows"), pl.lit(rules.min_contacts))
            )
        )
    if "_provisional_unranked" in frame.columns:
        reasons.append(pl.when(pl.col("_provisional_unranked")).then(pl.lit("provisional: volume below min_volume")))
    for gate in scheme.gates:
        if gate.action == "ineligible":
            reasons.append(pl.when(gate_fires(gate)).then(pl.lit(f"gate: {gate.describe()}")))
    reason = (
        pl.concat_str(reasons, separator="; ", ignore_nulls=True).replace("", None)
        if reasons
        else pl.lit(None, dtype=pl.String)
    )
    return frame.with_columns(_reason=reason).with_columns(_eligible_pre=pl.col("_reason").is_null())


FAIR_DIGITS = 12


def apply_fairness(
    scheme: Scheme, collectors: pl.DataFrame, cells: dict[str, pl.DataFrame], trailing: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame, dict[str, dict[str, Any]]]:
    """Replace each adjusted or shrunk metric's value by its fair value, keeping the raw one.

    Applies to collectors only; teams are scored on their pooled raw values.
    """
    from . import fairness
    from .metrics import COMPONENTS

    info: dict[str, dict[str, Any]] = {}
    # Per policy, the metrics whose own volume is below their min_volume.
    provisional: dict[str, list[pl.Expr]] = {}
    for metric_id in scheme.fair_metrics():
        rule = scheme.metrics[metric_id]
        frame = cells.get(metric_id)
        if frame is None:
            continue
        adjust, shrink = rule.adjust, rule.shrink
        groups = collectors.select("collector_id", "team_id") if shrink and shrink.toward == "team" else None
        scale = COMPONENTS[METRICS[metric_id].denominator or METRICS[metric_id].numerator].scale
        result = fairness.fair_scores(
            frame,
            list(adjust.segments) if adjust else [],
            reference=adjust.reference if adjust else "same_month",
            trailing=trailing.get(metric_id),
            expected_column="expected" if adjust and adjust.expected_column else None,
            # K is given in the denominator's unit (money, cases); sums are in cents.
            k=(shrink.k if isinstance(shrink.k, str) else shrink.k * scale) if shrink else None,
            groups=groups,
            min_volume=shrink.min_volume * scale if shrink and shrink.min_volume is not None else None,
            volume=shrink.volume if shrink else "den",
        )
        prior = "your team's average" if groups is not None else "the company average"
        words = fairness.explanation(
            fairness.WORDINGS[metric_id],
            scale=scale,
            shrunk=shrink is not None,
            prior=prior,
            provisional=bool(shrink and shrink.min_volume is not None),
        )
        fair = result.collectors.with_columns(words.alias(f"{metric_id}_note")).select(
            "collector_id",
            # 12 significant digits: equal fair values (1 of 3 and 3 of 9 cases) tie exactly,
            # not by the last bit of a product, so the tie goes by collector_id as documented.
            pl.col("final" if shrink else "adjusted").round_sig_figs(FAIR_DIGITS).alias(metric_id),
            pl.col("raw_rate").alias(f"{metric_id}_raw"),
            (pl.col("expected") / scale).alias(f"{metric_id}_expected"),
            pl.col("oe_ratio").alias(f"{metric_id}_oe_ratio"),
            (pl.col("credibility") if shrink else pl.lit(1.0)).alias(f"{metric_id}_credibility"),
            f"{metric_id}_note",
            pl.col("provisional").alias(f"_provisional_{metric_id}"),
        )
        collectors = collectors.drop(metric_id).join(fair, on="collector_id", how="left")
        if shrink and shrink.min_volume is not None:
            provisional.setdefault(shrink.provisional, []).append(pl.col(f"_provisional_{metric_id}").fill_null(True))
        cred = result.credibility
        info[metric_id] = (
            {"k": cred.k / scale, "method": cred.method, "reason": _k_reason(cred, scale)}
            if cred
            else {"k": None, "method": "none"}
        )
    if provisional:
        collectors = collectors.with_columns(
            provisional=pl.any_horizontal([flag for flags in provisional.values() for flag in flags]),
            **{f"_provisional_{policy}": pl.any_horizontal(flags) for policy, flags in provisional.items()},
        )
    own = [f"_provisional_{m}" for m in scheme.fair_metrics()]
    return collectors.drop([c for c in collectors.columns if c in own]), info


def _k_reason(cred: Credibility, scale: float) -> str:
    """Where K came from, in the metric's unit (money in yuan, not cents)."""
    k = f"{cred.k / scale:,.4g}"
    if cred.method == "given":
        return f"K = {k} is set in the scheme"
    if cred.method == "buhlmann_straub":
        return f"K = {k}, estimated by Bühlmann–Straub from {cred.collectors} collectors and {cred.units} cells"
    from .fairness import FALLBACK_SHARE

    return (
        f"K = auto could not be estimated ({cred.why}), so K = {FALLBACK_SHARE:g} × the median expected value = {k}: "
        f"the median collector's own result counts {round(100 / (1 + FALLBACK_SHARE))} %"
    )


def teams_of(collectors: pl.DataFrame, components: list[str], team_cases: pl.DataFrame | None) -> pl.DataFrame:
    """Per team: ``member_count`` (the collectors shown in it) and the component sums.

    A case component is summed by each case row's own team_id (``team_cases``): a collector
    whose case rows sit in two teams adds to both, though shown in one. The others (contacts,
    reviews, the roster's target), whose rows carry no team, count in the team the collector
    is shown in. So the teams add up to the floor, and no team with case rows is left out.
    """
    by_row = [c for c in components if team_cases is not None and c in team_cases.columns]
    shown = collectors.filter(pl.col("team_id").is_not_null())
    teams = shown.group_by("team_id").agg(
        pl.len().alias("member_count"), *[pl.col(c).sum() for c in components if c not in by_row]
    )
    if team_cases is not None and by_row:
        cases = team_cases.group_by("team_id").agg(pl.col(c).sum() for c in by_row)
        teams = teams.join(cases, on="team_id", how="full", coalesce=True)
    ordered = [c for c in components if c != "target_cents"] + [c for c in components if c == "target_cents"]
    filled = [pl.col(c).fill_null(0) for c in ["member_count", *ordered]]
    return teams.select("team_id", *filled).sort("team_id")


def score_month(
    scheme: Scheme, sums: MonthSums, month: str, trailing: dict[str, pl.DataFrame] | None = None
) -> Scorecard:
    """Score every collector and team of a month under ``scheme``."""
    metric_ids = scheme.needed_metrics()
    components = sums.components
    collectors = sums.collectors
    team_sums = teams_of(collectors, components, sums.team_cases)
    floor_sums = collectors.select(*[pl.col(c).sum() for c in components])
    team_values = metric_values(team_sums, metric_ids)
    floor_values = metric_values(floor_sums, metric_ids).row(0, named=True)

    collectors = metric_values(collectors, metric_ids, team_values)
    collectors, fairness_info = apply_fairness(scheme, collectors, sums.cells, trailing or {})
    collectors = _collector_eligibility(scheme, collectors)
    collectors = _score_level(scheme, collectors, "collector_id", gates=True)
    collectors = _bonus(scheme, collectors)

    teams = team_values
    # NOTE: sorted before each mean: a float sum's last bit depends on the order of its terms,
    # and a group's rows come in no order polars promises.
    members = collectors.group_by("team_id").agg(
        pl.col("eligible").sum().alias("_eligible_members"),
        pl.col("score").filter("eligible").sort().mean().alias("_member_mean"),
        *[pl.col(f"{m}_score").filter("eligible").sort().mean().alias(f"_mean_{m}") for m in scheme.metrics],
        # and the mean of their points, so a mean team's points add up to its score
        *[pl.col(f"{m}_points").filter("eligible").sort().mean().alias(f"_mean_points_{m}") for m in scheme.metrics],
    )
    teams = (
        teams.join(members, on="team_id", how="left")
        .with_columns(
            _reason=pl.when(pl.col("_eligible_members").fill_null(0) == 0).then(pl.lit("no eligible member")),
        )
        .with_columns(_eligible_pre=pl.col("_reason").is_null())
    )
    teams = _score_level(scheme, teams, "team_id", gates=False)
    if scheme.team.method == "mean":
        # The team's score is the plain mean of its eligible members' scores.
        teams = (
            teams.with_columns(
                score=pl.col("_member_mean"),
                **{f"{m}_score": pl.col(f"_mean_{m}") for m in scheme.metrics},
                **{f"{m}_points": pl.col(f"_mean_points_{m}") for m in scheme.metrics},
            )
            .with_columns(grade=_grade_expr(scheme, pl.col("score")))
            .drop("rank")
        )
        teams = teams.with_columns(eligible=pl.col("_eligible_pre") & pl.col("score").is_not_null())
        ranked = (
            teams.filter("eligible")
            .sort(["score", "team_id"], descending=[True, False])
            .with_row_index("rank", offset=1)
        )
        teams = teams.join(ranked.select("team_id", pl.col("rank").cast(pl.Int64)), on="team_id", how="left").sort(
            [pl.col("rank").is_null(), "rank", "team_id"]
        )
    teams = teams.drop([c for c in teams.columns if c.startswith("_mean_")] + ["_member_mean", "_eligible_members"])
    reconciliation = reconcile(sums, collectors)
    return Scorecard(
        month,
        scheme,
        collectors,
        teams,
        floor_values,
        sums.stats,
        sums.rejects,
        components,
        reconciliation,
        fairness_info,
        cell_rejects=sums.cell_rejects,
    )


def reconcile(sums: MonthSums, collectors: pl.DataFrame) -> dict[str, Any]:
    """Σ overdue and Σ recovered of the used input rows against the same sums over the
    scorecards, and per cases file: used + rejected money = the file's total.

    All are whole cents, so they must agree exactly; a difference is an error. A row with a
    rejected cell (a bad settled_date) is used: its money is in the scorecards. A rejected
    row's amount is in `rejected` where it was read, else counted in `unread_rows`.
    """
    if not sums.input_totals:
        return {}
    out: dict[str, Any] = {}
    for name in ("recovered_cents", "overdue_cents", "case_rows"):
        if name not in collectors.columns:
            continue
        inputs = int(sums.input_totals[name])
        cards = int(collectors[name].sum())
        if inputs != cards:
            raise KpiError(f"reconciliation failed: {name} is {inputs} over the inputs but {cards} over the scorecards")
        label = name.removesuffix("_cents")
        out[label] = inputs / 100 if name.endswith("_cents") else inputs
    totals = sums.file_totals if sums.file_totals is not None else pl.DataFrame()
    files = [_file_reconciliation(row) for row in totals.iter_rows(named=True)]
    return {"inputs": out, "scorecards": dict(out), "difference": 0, "files": files}


def _file_reconciliation(row: dict[str, Any]) -> dict[str, Any]:
    """One cases file's rows of the period and money: used + rejected = total, exactly."""
    out: dict[str, Any] = {
        "file": row["_file"],
        "rows": row["rows"],
        "used_rows": row["used_rows"],
        "rejected_rows": row["rows"] - row["used_rows"],
    }
    for name in ("recovered", "overdue"):
        total, used, rejected = (int(row[f"{name}_{part}"] or 0) for part in ("total", "used", "rejected"))
        if used + rejected != total:
            raise KpiError(
                f"reconciliation failed: {row['_file']}: {name} used {used} + rejected {rejected} cents "
                f"is not the file's total {total}"
            )
        out[name] = {"total": total / 100, "used": used / 100, "rejected": rejected / 100}
        out[name]["unread_rows"] = int(row[f"{name}_unread"])
    return out
