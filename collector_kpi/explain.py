"""Explain one scorecard line: every number behind a collector's (or team's) score."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from .errors import KpiError
from .labels import text
from .metrics import COMPONENTS, METRICS
from .scheme import BandMethod, PercentileMethod, RangeMethod, Scheme, TargetMethod
from .scoring import Scorecard, method_score
from .sources import normal_id


@dataclass
class MetricLine:
    """One metric of one scorecard line, with everything that produced its points."""

    id: str
    zh: str
    en: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    source: str  # "own", "team" (team_recovery_rate) or "reviews" (call_quality fallback)
    method: str
    parameters: dict[str, float]
    better: str
    score: float | None
    weight: float
    effective_weight: float
    points: float
    team_value: float | None
    floor_value: float | None
    rank: int | None
    ranked_of: int
    # With a case-mix adjustment or shrinkage: the raw rate, E, O/E, Z and in plain words.
    raw: float | None = None
    expected: float | None = None
    oe_ratio: float | None = None
    credibility: float | None = None
    note: str | None = None


@dataclass
class GateLine:
    """A gate that fired on this line, and what it did: ``points`` is what it adds to the
    metrics' points (zero_score takes them all away), ``grade`` the grade it capped to."""

    metric: str
    rule: str
    action: str
    value: float | None
    points: float
    grade: str | None = None
    cancel_bonus: bool = False


@dataclass
class Lever:
    """A metric where reaching a realistic value (the team mates' median) would add points."""

    metric: str
    value: float
    target: float
    target_source: str
    points_gain: float


@dataclass
class Explanation:
    level: str
    key: str
    name: str | None
    team_id: str | None
    month: str
    scheme: str
    score: float | None
    grade: str | None
    grade_band: dict[str, Any] | None
    rank: int | None
    ranked_of: int
    eligible: bool
    ineligible_reason: str | None
    gates: list[str]
    bonus: float | None
    metrics: list[MetricLine] = field(default_factory=list)
    gate_lines: list[GateLine] = field(default_factory=list)
    levers: list[Lever] = field(default_factory=list)
    levers_note: str | None = None  # why there are no levers to list, where not for lack of gain

    @property
    def points_total(self) -> float:
        """The metrics' points and what the gates add: the score (0 for none)."""
        return sum([m.points for m in self.metrics] + [g.points for g in self.gate_lines])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["points_total"] = self.points_total
        return data


def _parameters(scheme: Scheme, metric_id: str) -> tuple[str, dict[str, float]]:
    method = scheme.metrics[metric_id].score
    if isinstance(method, TargetMethod):
        return "target", {"target": method.target, "cap": method.cap}
    if isinstance(method, RangeMethod):
        return "range", {"floor": method.floor, "ceiling": method.ceiling}
    if isinstance(method, BandMethod):
        return "band", {"low": method.low, "high": method.high, "falloff": method.falloff}
    assert isinstance(method, PercentileMethod)
    return "percentile", {}


def _scaled(row: dict[str, Any], component: str | None) -> float | None:
    if component is None or row.get(component) is None:
        return None
    return float(row[component]) / COMPONENTS[component].scale


def _num_den(metric_id: str, row: dict[str, Any], team_row: dict[str, Any] | None) -> tuple[Any, Any, str]:
    metric = METRICS[metric_id]
    source, sums = "own", row
    if metric.team_pooled and team_row is not None:
        source, sums = "team", team_row
    if metric.denominator is None:
        return _scaled(sums, metric.numerator), None, source
    den = sums.get(metric.denominator) or 0
    if den == 0 and metric.fallback:
        fb_num, fb_den = metric.fallback
        return _scaled(sums, fb_num), _scaled(sums, fb_den), "reviews"
    numerator = _scaled(sums, metric.numerator)
    denominator = _scaled(sums, metric.denominator)
    if metric.unit == "points" and denominator is not None:
        denominator = float(sums[metric.denominator])  # a count of ratings, not hundredths
    return numerator, denominator, source


def _oriented(scheme: Scheme, metric_id: str, column: pl.Expr) -> pl.Expr:
    return column if scheme.direction(metric_id) == "higher" else -column


def explain(card: Scorecard, key: str, level: str = "collector") -> Explanation:
    """Everything behind one line of the scorecard; raises KpiError for an unknown id."""
    scheme = card.scheme
    key_column = "collector_id" if level == "collector" else "team_id"
    frame = card.frame(level)
    # As the files' ids are matched: a full-width Ｃ005 typed is C005.
    key = pl.select(normal_id(pl.lit(key, dtype=pl.String))).item() or key
    match = frame.filter(pl.col(key_column) == key)
    if match.is_empty():
        import difflib

        ids = frame[key_column].drop_nulls().to_list()
        close = difflib.get_close_matches(key, ids, n=1) or [i for i in ids if i.lower() == key.lower()]
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known ids include {', '.join(ids[:8])}"
        raise KpiError(f"no {level} '{key}' in {card.month}{hint}")
    row = match.row(0, named=True)
    team_id = row.get("team_id")
    team_row = None
    if team_id is not None:
        teams = card.teams.filter(pl.col("team_id") == team_id)
        team_row = teams.row(0, named=True) if not teams.is_empty() else None
    eligible = frame.filter("eligible")
    lines: list[MetricLine] = []
    for metric_id, rule in scheme.metrics.items():
        metric = METRICS[metric_id]
        numerator, denominator, source = _num_den(metric_id, row, team_row)
        value = row[metric_id]
        better_count = None
        peers = eligible.filter(pl.col(metric_id).is_not_null())
        if value is not None and row["eligible"]:
            oriented = _oriented(scheme, metric_id, pl.col(metric_id))
            mine = value if scheme.direction(metric_id) == "higher" else -value
            better_count = peers.filter(oriented > mine).height
        method, parameters = _parameters(scheme, metric_id)
        weight_sum = row["_weight_sum"]
        effective = rule.weight / weight_sum * 100 if row[f"{metric_id}_score"] is not None and weight_sum else 0.0
        lines.append(
            MetricLine(
                id=metric_id,
                zh=metric.zh,
                en=metric.en,
                unit=metric.unit,
                value=value,
                numerator=numerator,
                denominator=denominator,
                source=source,
                method=method,
                parameters=parameters,
                better=scheme.direction(metric_id),
                score=row[f"{metric_id}_score"],
                weight=rule.weight,
                effective_weight=effective,
                points=row[f"{metric_id}_points"],
                team_value=team_row.get(metric_id) if (team_row and level == "collector") else None,
                floor_value=card.floor.get(metric_id),
                rank=None if better_count is None else better_count + 1,
                ranked_of=peers.height,
                **_fair_fields(row, metric_id),
            )
        )
    explanation = Explanation(
        level=level,
        key=key,
        name=row.get("collector_name") if level == "collector" else None,
        team_id=team_id,
        month=card.month,
        scheme=scheme.name,
        score=row["score"],
        grade=row["grade"],
        grade_band=_band(scheme, row["score"]),
        rank=row["rank"],
        ranked_of=eligible.height,
        eligible=row["eligible"],
        ineligible_reason=row["ineligible_reason"],
        gates=row["gates"].split("; ") if row.get("gates") else [],
        bonus=row.get("bonus"),
        metrics=lines,
    )
    if level == "collector":  # gates apply to collectors, not to teams
        explanation.gate_lines = gate_lines(scheme, row, sum(line.points for line in lines))
    explanation.levers = levers(card, row, level)
    zeroed = [gate for gate in explanation.gate_lines if gate.action == "zero_score"]
    if zeroed:
        explanation.levers = []
        explanation.levers_note = text("x_zero_score_levers", "en").format(rule=zeroed[0].rule)
    elif level == "team" and scheme.team.method == "mean":
        explanation.levers_note = (
            "the team's score is the mean of its eligible members' scores (each metric's points the mean of "
            "theirs): their own levers move it, see kpi explain MEMBER"
        )
    return explanation


def gate_lines(scheme: Scheme, row: dict[str, Any], points: float) -> list[GateLine]:
    """The scheme's gates that fire on a collector's row, in the scheme's order; the first
    zero_score gate takes away the metrics' ``points`` (so the points add up to the score)."""
    out: list[GateLine] = []
    taken = row["score"] is None  # no score: nothing to take away
    for gate in scheme.gates:
        value = row.get(gate.metric)
        # As scoring.gate_fires: beyond the limit, and a missing value never fires.
        fires = value is not None and (value > gate.above if gate.above is not None else value < gate.below)
        if not fires:
            continue
        removed = 0.0
        if gate.action == "zero_score" and not taken:
            removed, taken = 0.0 - points, True  # 0.0, not -0.0, where there were no points
        grade = gate.grade if gate.action == "cap_grade" else None
        out.append(GateLine(gate.metric, gate.describe(), gate.action, value, removed, grade, gate.cancel_bonus))
    return out


def _fair_fields(row: dict[str, Any], metric_id: str) -> dict[str, Any]:
    if f"{metric_id}_raw" not in row:
        return {}
    return {
        "raw": row[f"{metric_id}_raw"],
        "expected": row[f"{metric_id}_expected"],
        "oe_ratio": row[f"{metric_id}_oe_ratio"],
        "credibility": row[f"{metric_id}_credibility"],
        "note": row[f"{metric_id}_note"],
    }


def _band(scheme: Scheme, score: float | None) -> dict[str, Any] | None:
    if score is None:
        return None
    upper = 100.0
    for band in scheme.grades:
        if score >= band.min:
            return {"grade": band.grade, "min": band.min, "below": upper if upper < 100 else None}
        upper = band.min
    return None


def levers(card: Scorecard, row: dict[str, Any], level: str) -> list[Lever]:
    """Metrics where reaching the median of the peers (the eligible team mates, or the other
    teams; a collector alone in a team: the other collectors) adds points.

    Each lever moves one metric alone, all else equal; ordered by points gained, then id.
    """
    scheme = card.scheme
    if level == "team" and scheme.team.method == "mean":
        return []  # the team's score is its members' mean: their own levers move it
    key_column = "collector_id" if level == "collector" else "team_id"
    frame = card.frame(level)
    peers = frame.filter(pl.col("eligible") & (pl.col(key_column) != row[key_column]))  # not themself
    source = "all teams' median" if level == "team" else "all collectors' median"
    if level == "collector" and row.get("team_id") is not None:
        mates = peers.filter(pl.col("team_id") == row["team_id"])
        if not mates.is_empty():  # else (alone in the team) the other collectors
            peers, source = mates, "team mates' median"
    index = frame.with_row_index("_i").filter(pl.col(key_column) == row[key_column])["_i"].item()
    out: list[Lever] = []
    for metric_id, rule in scheme.metrics.items():
        value = row[metric_id]
        old_score = row[f"{metric_id}_score"]
        if value is None or old_score is None or rule.weight == 0:
            continue
        median = peers[metric_id].drop_nulls().median()
        if median is None:
            continue
        target = float(median)  # type: ignore[arg-type]
        values = frame[metric_id].scatter(index, target)
        new_score = method_score(scheme, metric_id, frame.with_columns(values))[index]
        gain = rule.weight / row["_weight_sum"] * (new_score - old_score) if row["_weight_sum"] else 0.0
        if gain > 1e-9:
            out.append(Lever(metric_id, value, target, source, gain))
    return sorted(out, key=lambda lever: (-lever.points_gain, lever.metric))
