"""Metric definitions as data: the typed model of catalog.yaml (read by catalog.py).

A metric reads one table and is a ratio of two aggregates summed per collector (or one
aggregate alone): ``sum`` of a column (or of ``days(start, end)``), ``count`` of rows or of
a column's values, ``count_distinct``, each with an optional ``where:`` (see ``where.py``);
``mean`` is written as ``value:`` and stands for Σ x / count of x. Three cross-table forms
are named: ``covered_by`` (case rows with a row of the other table for the same collector
and case), ``lookup`` (a collector's value from the reviews or the roster) and ``fallback``
(the value used where the metric's own denominator is zero). A team's and the floor's
value is the ratio of the summed sums, for every metric.

The definitions are read from YAML by catalog.py (the built-in ones: catalog.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .errors import KpiError
from .where import Column, Condition, Diff, columns_of, params_of

Unit = Literal["rate", "money", "count", "days", "seconds", "points"]
Direction = Literal["higher", "lower"]
AggregateKind = Literal["sum", "count", "count_distinct", "lookup"]
UNITS: tuple[str, ...] = ("rate", "money", "count", "days", "seconds", "points")
# What the sums of an aggregate hold: money in cents and ratings in hundredths (exact sums).
SCALES = {"money": 100, "points": 100}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition file."""

    slug: str
    message: str
    location: str  # file:line: yaml.path

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CatalogError(KpiError):
    """A metric definition file is malformed or names what does not exist."""

    def __init__(self, problems: list[Problem]) -> None:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")
        self.problems = problems


@dataclass(frozen=True)
class Aggregate:
    """One per-collector sum over the rows of ``table`` (where ``where`` holds)."""

    kind: AggregateKind
    table: str
    operands: tuple[Column | Diff, ...] = ()  # none: count the rows
    where: Condition | None = None
    covered_by: str | None = None  # only rows with a row of this table (same collector, case)
    default: str | None = None  # lookup: the param used where the collector has no value

    @property
    def value_kind(self) -> str:
        """What the sum holds: count, money, points, int or days."""
        if self.kind in ("count", "count_distinct"):
            return "count"
        operand = self.operands[0]
        if isinstance(operand, Diff):
            return operand.unit
        return {"score": "points"}.get(operand.kind, operand.kind)

    @property
    def scale(self) -> int:
        """The sum is this many times the natural value (cents, hundredths)."""
        return SCALES.get(self.value_kind, 1) if self.kind in ("sum", "lookup") else 1

    def columns(self) -> dict[str, list[str]]:
        """The columns each table must provide for this aggregate (the keys included)."""
        own = ["collector_id"] + [c.name for o in self.operands for c in columns_of(o)]
        own += [c.name for c in columns_of(self.where)] if self.where is not None else []
        out = {self.table: list(dict.fromkeys(own))}
        if self.covered_by is not None:
            out[self.table] = list(dict.fromkeys([*out[self.table], "case_id"]))
            out[self.covered_by] = ["collector_id", "case_id"]
        return out

    def params(self) -> list[str]:
        names = params_of(self.where) if self.where is not None else []
        return names + ([self.default] if self.default else [])


@dataclass(frozen=True)
class Ratio:
    numerator: Aggregate
    denominator: Aggregate | None = None


@dataclass(frozen=True)
class MetricDef:
    """One catalog entry: value = Σ numerator / Σ denominator (or Σ numerator alone)."""

    id: str
    zh: str
    en: str
    definition: str
    unit: Unit
    better: Direction | None
    table: str
    value: Ratio
    fallback: Ratio | None = None  # where the value's denominator is zero
    team_pooled: bool = False  # the team's pooled value, credited to each member

    @property
    def numerator(self) -> Aggregate:
        return self.value.numerator

    @property
    def denominator(self) -> Aggregate | None:
        return self.value.denominator

    def aggregates(self) -> list[Aggregate]:
        """Every sum the metric needs: numerator, denominator, then the fallback's."""
        ratios = [self.value, *([self.fallback] if self.fallback else [])]
        return [a for r in ratios for a in (r.numerator, r.denominator) if a is not None]

    @property
    def tables(self) -> tuple[str, ...]:
        seen = [self.table]
        for aggregate in self.aggregates():
            seen += list(aggregate.columns())
        return tuple(dict.fromkeys(seen))


@dataclass(frozen=True)
class ParamDef:
    name: str
    kind: str
    doc: str


@dataclass(frozen=True)
class Catalog:
    """Every metric definition and the params they may read."""

    metrics: dict[str, MetricDef]
    params: dict[str, ParamDef]
    source: str

    def columns_needed(self, metric_ids: Iterable[str]) -> dict[str, list[str]]:
        """Per table, the columns the given metrics read (in order of first use)."""
        out: dict[str, list[str]] = {}
        for metric_id in metric_ids:
            for aggregate in self.metrics[metric_id].aggregates():
                for table, columns in aggregate.columns().items():
                    out[table] = list(dict.fromkeys([*out.get(table, []), *columns]))
        return out

    def params_needed(self, metric_ids: Iterable[str]) -> list[str]:
        names = [p for m in metric_ids for a in self.metrics[m].aggregates() for p in a.params()]
        return list(dict.fromkeys(names))
