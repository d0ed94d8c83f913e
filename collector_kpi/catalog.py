"""Reading metric definitions from YAML: the built-in catalog.yaml, or another file.

Every name and unit is checked against the tables' columns (sources.CANONICAL) and the
params the file declares; every problem is reported with file:line and the YAML path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml

from .definitions import UNITS, Aggregate, AggregateKind, Catalog, CatalogError, MetricDef, ParamDef, Problem, Ratio
from .scheme import _dotted, _line_of, _read_yaml
from .sources import CANONICAL
from .where import Column, Condition, Diff, WhereError, parse_operand, parse_where

PARAM_KINDS = ("date", "int", "number", "money")
# The tables a lookup reads: one row per collector (per month).
LOOKUP_TABLES = ("reviews", "roster")
# `count: rows` counts the rows themselves (`count: column`, those with a value).
ROWS = "rows"
_METRIC_ID = re.compile(r"[a-z][a-z0-9_]*")

CATALOG_FILE = "catalog.yaml"


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The built-in catalog (collector_kpi/catalog.yaml), or a definition file."""
    if path is None:
        text = resources.files("collector_kpi").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
        return parse_catalog(text, f"collector_kpi/{CATALOG_FILE}")
    return parse_catalog(Path(path).read_text(encoding="utf-8"), str(path))


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    """Definition YAML → a Catalog; every problem is reported, with file:line and the path."""
    try:
        root, data = _read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise CatalogError([Problem("yaml", f"not valid YAML: {getattr(exc, 'problem', exc)}", where)]) from exc
    loader = _Loader(root, source)
    catalog = loader.catalog(data)
    if loader.problems:
        raise CatalogError(loader.problems)
    return catalog


class _Invalid(Exception):
    """Stops reading one definition; its problem is already recorded."""


class _Loader:
    def __init__(self, root: Any, source: str) -> None:
        self.root = root
        self.source = source
        self.problems: list[Problem] = []
        self.params: dict[str, ParamDef] = {}

    def fail(self, slug: str, loc: tuple[str | int, ...], message: str) -> _Invalid:
        line = _line_of(self.root, loc)
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append(Problem(slug, message, f"{where}: {_dotted(loc) or '(top level)'}"))
        return _Invalid()

    def mapping(
        self, value: Any, loc: tuple[str | int, ...], keys: Iterable[str], required: Iterable[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail("not-a-mapping", loc, "expected a mapping")
        known = set(keys)
        for key in value:
            if key not in known:
                raise self.fail("unknown-key", (*loc, key), f"unknown key; known keys: {', '.join(sorted(known))}")
        for key in required:
            if key not in value:
                raise self.fail("missing-key", loc, f"required key {key!r} is missing")
        return value

    def catalog(self, data: Any) -> Catalog:
        try:
            top = self.mapping(data, (), ("params", "metrics"), ("metrics",))
        except _Invalid:
            return Catalog({}, {}, self.source)
        for name, spec in (top.get("params") or {}).items():
            try:
                spec = self.mapping(spec, ("params", name), ("type", "doc"), ("type", "doc"))
                if spec["type"] not in PARAM_KINDS:
                    raise self.fail(
                        "unknown-type", ("params", name, "type"), f"type is one of {', '.join(PARAM_KINDS)}"
                    )
                self.params[name] = ParamDef(name, spec["type"], str(spec["doc"]))
            except _Invalid:
                continue
        metrics = {}
        if not isinstance(top["metrics"], dict):
            self.fail("not-a-mapping", ("metrics",), "expected a mapping of metric id → definition")
            return Catalog({}, self.params, self.source)
        for metric_id, spec in top["metrics"].items():
            try:
                metrics[metric_id] = self.metric(str(metric_id), spec)
            except _Invalid:
                continue
        return Catalog(metrics, self.params, self.source)

    def metric(self, metric_id: str, spec: Any) -> MetricDef:
        loc: tuple[str | int, ...] = ("metrics", metric_id)
        if not _METRIC_ID.fullmatch(metric_id):
            raise self.fail("metric-id", loc, "a metric id is lower-case letters, digits and _ (e.g. recovery_rate)")
        keys = ("zh", "en", "definition", "unit", "better", "table", "numerator", "denominator", "value")
        spec = self.mapping(spec, loc, (*keys, "fallback", "team_pooled"), keys[:6])
        if spec["unit"] not in UNITS:
            raise self.fail("unknown-unit", (*loc, "unit"), f"unit is one of {', '.join(UNITS)}")
        if spec["better"] not in ("higher", "lower", None):
            raise self.fail("unknown-direction", (*loc, "better"), "better is higher, lower or null (the scheme's)")
        table = self.table(spec["table"], (*loc, "table"))
        value = self.ratio(spec, loc, table)
        fallback = None
        if "fallback" in spec:
            fallback = self.ratio({"value": spec["fallback"]}, (*loc, "fallback"), table, key="")
        metric = MetricDef(
            metric_id,
            str(spec["zh"]),
            str(spec["en"]),
            str(spec["definition"]),
            spec["unit"],
            spec["better"],
            table,
            value,
            fallback,
            bool(spec.get("team_pooled", False)),
        )
        for ratio, where in ((value, (*loc, "unit")), *([(fallback, (*loc, "fallback"))] if fallback else [])):
            self.check_unit(metric.unit, ratio, where)
        return metric

    def table(self, name: Any, loc: tuple[str | int, ...]) -> str:
        if name not in CANONICAL:
            raise self.fail("unknown-table", loc, f"{name!r} is no table: one of {', '.join(CANONICAL)}")
        return str(name)

    def ratio(self, spec: dict[str, Any], loc: tuple[str | int, ...], table: str, key: str = "value") -> Ratio:
        if "value" in spec:
            if "numerator" in spec or "denominator" in spec:
                raise self.fail("value-and-ratio", loc, "give value: or numerator: (and denominator:), not both")
            where = (*loc, key) if key else loc
            value = self.mapping(spec["value"], where, ("mean", "where", "table"), ("mean",))
            # Σ x / count of x: the mean pools as a ratio of sums.
            return Ratio(self.aggregate(value, where, table, "sum"), self.aggregate(value, where, table, "count"))
        if "numerator" not in spec:
            raise self.fail("missing-key", loc, "required key 'numerator' (or 'value') is missing")
        numerator = self.aggregate(spec["numerator"], (*loc, "numerator"), table)
        denominator = None
        if spec.get("denominator") is not None:
            denominator = self.aggregate(spec["denominator"], (*loc, "denominator"), table)
        return Ratio(numerator, denominator)

    def aggregate(
        self, spec: Any, loc: tuple[str | int, ...], table: str, mean_as: AggregateKind | None = None
    ) -> Aggregate:
        """One aggregate; with ``mean_as``, the sum or the count a ``mean`` stands for."""
        kinds = ("sum", "count", "count_distinct", "lookup", "mean")
        spec = self.mapping(spec, loc, (*kinds, "where", "table", "covered_by", "default"), ())
        given = [k for k in kinds if spec.get(k) is not None]
        if len(given) != 1:
            raise self.fail("aggregate", loc, f"give exactly one of {', '.join(kinds[:4])}")
        key = given[0]
        if key == "mean" and mean_as is None:
            raise self.fail("mean-in-ratio", (*loc, key), "a mean is a ratio itself: write it as value: {mean: …}")
        kind = mean_as if key == "mean" and mean_as is not None else key
        table = self.table(spec["table"], (*loc, "table")) if "table" in spec else table
        if kind == "lookup" and table not in LOOKUP_TABLES:
            raise self.fail("lookup-table", (*loc, "table"), f"a lookup reads {' or '.join(LOOKUP_TABLES)}")
        columns: dict[str, str] = dict(CANONICAL[table])
        operands = self.operands(kind, spec[key], (*loc, key), table, columns)
        where = None
        if spec.get("where") is not None:
            where = self.condition(str(spec["where"]), (*loc, "where"), table, columns)
        covered = self.covered(spec.get("covered_by"), (*loc, "covered_by"), table)
        default = self.default(kind, spec.get("default"), (*loc, "default"))
        return Aggregate(cast(AggregateKind, kind), table, operands, where, covered, default)

    def operands(
        self, kind: str, spec: Any, loc: tuple[str | int, ...], table: str, columns: dict[str, str]
    ) -> tuple[Column | Diff, ...]:
        if kind == "count" and spec == ROWS:
            return ()
        texts = spec if isinstance(spec, list) and kind == "sum" else [spec]
        out: list[Column | Diff] = []
        for index, text in enumerate(texts):
            where = (*loc, index) if isinstance(spec, list) else loc
            try:
                operand = parse_operand(str(text), columns)
            except WhereError as exc:
                raise self.fail("unknown-column", where, f"{exc.message} (table {table})") from None
            if kind in ("sum", "lookup") and _summable(operand) is None:
                raise self.fail("not-summable", where, f"{text} cannot be summed (a {_kind_of(operand)} column)")
            out.append(operand)
        if len({_summable(o) for o in out}) > 1:
            raise self.fail("unit-mismatch", loc, "the summed columns hold different units")
        return tuple(out)

    def condition(self, text: str, loc: tuple[str | int, ...], table: str, columns: dict[str, str]) -> Condition:
        try:
            return parse_where(text, columns, {name: p.kind for name, p in self.params.items()})
        except WhereError as exc:
            raise self.fail("where", loc, f"{exc.message} (at {exc.offset + 1} of {text!r}; table {table})") from None

    def covered(self, other: Any, loc: tuple[str | int, ...], table: str) -> str | None:
        if other is None:
            return None
        name = self.table(other, loc)
        for each in (table, name):
            if "case_id" not in CANONICAL[each]:
                raise self.fail("covered-by", loc, f"covered_by matches case ids: {each} has none")
        return name

    def default(self, kind: str, name: Any, loc: tuple[str | int, ...]) -> str | None:
        if name is None:
            return None
        if kind != "lookup":
            raise self.fail("default", loc, "only a lookup takes a default")
        if name not in self.params:
            raise self.fail("unknown-param", loc, f"{name!r} is no param: one of {', '.join(self.params)}")
        return str(name)

    def check_unit(self, unit: str, ratio: Ratio, loc: tuple[str | int, ...]) -> None:
        num = ratio.numerator.value_kind
        den = ratio.denominator.value_kind if ratio.denominator is not None else None
        problem = _unit_problem(unit, num, den)
        if problem:
            raise self.fail("unit-mismatch", loc, problem)


# What the numerator (and denominator) of each unit may hold; None: no denominator.
_UNIT_RULES: dict[str, tuple[frozenset[str], frozenset[str | None]]] = {
    "count": (frozenset({"count", "int"}), frozenset({None})),
    "money": (frozenset({"money"}), frozenset({None})),
    "days": (frozenset({"days"}), frozenset({"count"})),
    "seconds": (frozenset({"int"}), frozenset({"count"})),
    "points": (frozenset({"points"}), frozenset({"count"})),
}


def _unit_problem(unit: str, num: str, den: str | None) -> str | None:
    """Why a numerator / denominator does not give a value in ``unit`` (None if it does)."""
    if unit == "rate":
        if den is None:
            return "a rate needs a denominator"
        alike = num == den or {num, den} <= {"count", "int"}
        return None if alike else f"a rate divides like by like, not {num} by {den}"
    nums, dens = _UNIT_RULES[unit]
    if num not in nums:
        return f"a {unit} value sums {' or '.join(sorted(nums))}, not {num}"
    if den not in dens:
        shown = "no denominator" if None in dens else f"a denominator of {' or '.join(sorted(map(str, dens)))}"
        return f"a {unit} value takes {shown}" + (f", not {den}" if den else "")
    return None


def _kind_of(operand: Column | Diff) -> str:
    return operand.unit if isinstance(operand, Diff) else operand.kind


def _summable(operand: Column | Diff) -> str | None:
    """The unit a sum of the operand holds, or None where summing means nothing."""
    if isinstance(operand, Diff):
        return "days" if operand.unit == "days" else None
    return operand.kind if operand.kind in ("money", "int", "score") else None
