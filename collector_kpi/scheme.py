"""The scoring scheme: YAML validated once at load into typed objects.

Every problem is reported as a ``SchemeError`` naming the file, the line and the YAML
path of the offending key (``metrics.recovery_rate.weight``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SchemeError
from .metrics import METRICS, Direction

TABLES = ("cases", "contacts", "reviews", "roster")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- inputs -----------------------------------------------------------------------


_TRUE_KEYS = ("true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON")
_FALSE_KEYS = ("false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF")


class InputSpec(_Model):
    """Where one table comes from and how its export maps onto the canonical columns."""

    path: str | None = Field(None, description="file, glob or directory; `{month}` is replaced")
    format: Literal["auto", "csv", "parquet", "xlsx"] = "auto"
    separator: str | None = Field(None, description="CSV field separator (default: `,`; `\\t` for .tsv)")
    encoding: str = Field("auto", description="auto | utf-8 | gbk | gb18030 …")
    sheet: str | None = Field(None, description="xlsx sheet name (default: the first)")
    skip_rows: int = Field(0, ge=0, description="lines above the header to pass over (a title line), CSV and xlsx")
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="source header → canonical column; or canonical column → [source headers] joined as one id",
    )
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="canonical column → {source value: canonical value}"
    )
    constants: dict[str, Any] = Field(default_factory=dict, description="canonical column → value on every row")
    formats: dict[str, str] = Field(
        default_factory=dict,
        description="canonical date/datetime column → strptime format; duration_s → H:MM:SS, M:SS or H.MM.SS",
    )
    datetime_parts: dict[str, tuple[str | list[str], str | list[str]]] = Field(
        default_factory=dict,
        description="canonical datetime column → [date column, time column] to join with a space; "
        "a part may list columns, the first one not missing is used",
    )
    missing_values: dict[str, list[str]] = Field(
        default_factory=dict, description="column (source header or canonical) → texts that mean a missing value"
    )
    duplicates: Literal["error", "first", "last"] = Field(
        "error",
        description="a row key seen twice: stop (`error`), or keep its `first` or `last` row (by file path, then row)",
    )

    @field_validator("missing_values", mode="before")
    @classmethod
    def _marker_texts(cls, markers: Any) -> Any:
        # One marker or a list of them, matched as text (the cell is stripped first).
        if not isinstance(markers, dict):
            return markers
        out: dict[Any, Any] = {}
        for column, given in markers.items():
            listed = given if isinstance(given, list) else [given]
            for marker in listed:
                if marker is None or isinstance(marker, bool | dict | list):
                    raise ValueError(f"{column}: {marker!r} is not a text to match")
                if str(marker) != str(marker).strip() or not str(marker).strip():
                    raise ValueError(
                        f"{column}: marker {str(marker)!r} is blank or has spaces around it "
                        "(cells are stripped before they are compared; a blank cell is missing already)"
                    )
            out[str(column)] = [str(marker) for marker in listed]
        return out

    def renames(self) -> dict[str, str]:
        """The `columns` entries that rename one source header onto a canonical column."""
        return {source: target for source, target in self.columns.items() if isinstance(target, str)}

    def composites(self) -> dict[str, list[str]]:
        """The `columns` entries that join source headers into one canonical id."""
        return {target: sources for target, sources in self.columns.items() if isinstance(sources, list)}

    @field_validator("values", mode="before")
    @classmethod
    def _text_keys(cls, values: Any) -> Any:
        # YAML reads `1: call` with an int key and an unquoted `yes:` as True; exports
        # hold text, so keys are matched as text (True also as yes/Yes/Y/on …).
        if not isinstance(values, dict):
            return values
        out: dict[Any, Any] = {}
        for column, mapping in values.items():
            if not isinstance(mapping, dict):
                out[column] = mapping
                continue
            fixed: dict[str, Any] = {}
            for key, value in mapping.items():
                if not _finite(value):
                    raise ValueError(f"{column}: {key!s} maps to {value}, not a finite number")
                if isinstance(key, bool):
                    spellings = _TRUE_KEYS if key else _FALSE_KEYS
                    fixed.update({spelling: value for spelling in spellings})
                elif str(key) != str(key).strip():
                    raise ValueError(
                        f"{column}: key {str(key)!r} has spaces around it and would never match "
                        "(values are stripped before they are looked up)"
                    )
                else:
                    fixed[str(key)] = value
            out[column] = fixed
        return out

    @field_validator("constants")
    @classmethod
    def _finite_constants(cls, constants: dict[str, Any]) -> dict[str, Any]:
        for column, value in constants.items():
            if not _finite(value):
                raise ValueError(f"{column}: {value} is not a finite number")
        return constants

    @field_validator("separator")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.replace("\\t", "\t")
            if len(value) != 1:
                raise ValueError("must be a single character (use \\t for a tab)")
        return value


class Inputs(_Model):
    cases: InputSpec = InputSpec()
    contacts: InputSpec = InputSpec()
    reviews: InputSpec = InputSpec()
    roster: InputSpec = InputSpec()

    def get(self, table: str) -> InputSpec:
        spec: InputSpec = getattr(self, table)
        return spec

    @model_validator(mode="after")
    def _known_columns(self) -> Inputs:
        # NOTE: every table given, whether or not the metrics read it: `score` and
        # `validate` (which reads every table) take the same schemes.
        for table in self.model_fields_set:  # (the defaults, made on import, have nothing to check)
            problem = input_problem(table, self.get(table))
            if problem is not None:
                raise _located(("inputs", table, *problem[0]), problem[1])
        return self


def input_problem(table: str, spec: InputSpec) -> tuple[tuple[str, ...], str] | None:
    """The first problem of a table's mapping, as (its key under ``inputs.<table>``, what is
    wrong): a column that is not one of the table's, a constant that is no finite number for a
    numeric column, a format for a column that is no date, a sheet for a file that is no xlsx."""
    # sources reads the files with these specs
    from .sources import CANONICAL, DURATION_COLUMNS, DURATION_FORMATS, duration_hint, format_of, part_columns

    known = CANONICAL[table]
    named = [(("columns", source), target) for source, target in spec.renames().items()]
    ids = ", ".join(c for c, k in known.items() if k == "id")
    for target, sources in spec.composites().items():
        if known.get(target) != "id" or len(sources) < 2 or len(set(sources)) != len(sources):
            return (
                "columns",
                target,
            ), f"a list of headers joins two or more distinct columns into one id column (ids of {table}: {ids})"
    for key, mapping in (
        ("values", spec.values),
        ("constants", spec.constants),
        ("formats", spec.formats),
        ("datetime_parts", spec.datetime_parts),
    ):
        named += [((key, column), column) for column in mapping]
    for where, column in named:
        if column not in known:
            close = _suggest(column, known)
            hint = close if close else f"; {table} columns are {', '.join(known)}"
            return where, f"'{column}' is not a {table} column{hint}"
    for column, value in spec.constants.items():
        if known[column] in ("money", "int", "score") and not _finite_text(value):
            return ("constants", column), f"{value!r} is not a finite number"
    dated = [c for c, kind in known.items() if kind in ("date", "datetime", "month")]
    for column, fmt in spec.formats.items():
        if column in DURATION_COLUMNS.get(table, ()):
            if fmt not in DURATION_FORMATS:
                allowed = ", ".join(DURATION_FORMATS)
                return (
                    "formats",
                    column,
                ), f"'{fmt}' is not a duration format; use one of {allowed} (or none for plain seconds)"
        elif column not in dated:
            which = f"{table} dates are {', '.join(dated)}" if dated else f"{table} has no date columns"
            return (
                ("formats", column),
                f"{column} is not a date or datetime column, so it takes no format; {which}{duration_hint(table)}",
            )
    for target, parts in spec.datetime_parts.items():
        if any(not part_columns(part) for part in parts):
            return ("datetime_parts", target), "a part lists no column"
    kind = spec.format if spec.format != "auto" or spec.path is None else format_of(spec.path)
    if spec.sheet is not None and kind in ("csv", "parquet"):
        return ("sheet",), f"only an xlsx workbook has sheets, and {spec.path} is read as {kind}"
    return None


def _finite_text(value: object) -> bool:
    """False for a value that reads as NaN or infinity ("nan", "-inf", "Infinity")."""
    try:
        return math.isfinite(float(str(value).strip()))
    except ValueError:
        return True  # not a number at all: its rows are rejected as such


# --- scoring methods ----------------------------------------------------------------


class TargetMethod(_Model):
    """score = 100 · min(value / target, cap) / cap (for `lower`: target / value)."""

    method: Literal["target"]
    target: float = Field(gt=0)
    cap: float = Field(1.0, ge=1.0)


class RangeMethod(_Model):
    """Linear from `floor` (0 points) to `ceiling` (100 points), clipped."""

    method: Literal["range"]
    floor: float
    ceiling: float

    @model_validator(mode="after")
    def _distinct(self) -> RangeMethod:
        if self.floor == self.ceiling:
            raise ValueError("floor and ceiling must differ")
        return self


class PercentileMethod(_Model):
    """Share of eligible peers of the same level doing worse (ties count half)."""

    method: Literal["percentile"]


class BandMethod(_Model):
    """100 inside [low, high], falling linearly to 0 at `falloff` outside the band."""

    method: Literal["band"]
    low: float
    high: float
    falloff: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> BandMethod:
        if self.low > self.high:
            raise ValueError("low must not be above high")
        return self


ScoringMethod = Annotated[TargetMethod | RangeMethod | PercentileMethod | BandMethod, Field(discriminator="method")]


# Ratio metrics whose numerator and denominator both come from the case rows: they can be
# adjusted for case mix by the cases' segment columns. The contact rates can be shrunk.
ADJUSTABLE = (
    "recovery_rate",
    "settled_amount_rate",
    "success_rate",
    "settlement_rate",
    "contact_coverage",
    "on_time_rate",
)
SHRINKABLE = (*ADJUSTABLE, "call_connect_rate", "sms_reply_rate", "visit_rate", "ptp_rate", "followup_timeliness")
SEGMENT_COLUMNS = ("dpd_bucket", "product")


class Adjust(_Model):
    """Case-mix adjustment (indirect standardisation) by segment columns of the cases."""

    segments: list[Literal["dpd_bucket", "product"]] = Field(default_factory=list)
    reference: Literal["same_month", "leave_one_out", "trailing", "expected"] = "same_month"
    months: int | None = Field(None, ge=1, le=24, description="trailing: how many months before this one")
    expected_column: str | None = Field(
        None,
        description="expected: the cases column holding a model's expectation per case, in the numerator's unit "
        "(an amount for a money rate, a probability for a count rate)",
    )

    @model_validator(mode="after")
    def _complete(self) -> Adjust:
        if self.reference == "expected":
            if not self.expected_column:
                raise ValueError("reference: expected needs `expected_column`")
        elif not self.segments:
            raise ValueError("give at least one segment column (dpd_bucket, product)")
        if self.reference == "trailing" and self.months is None:
            raise ValueError("reference: trailing needs `months`")
        if self.reference != "trailing" and self.months is not None:
            raise ValueError("`months` goes with reference: trailing")
        return self


class Shrink(_Model):
    """Credibility shrinkage: (O + K) / (E + K), so a small month counts for less."""

    k: float | Literal["auto"] = Field(description="K, in units of the denominator (E), or auto")
    toward: Literal["floor", "team"] = "floor"
    min_volume: float | None = Field(None, ge=0, description="below this volume a collector is provisional")
    volume: Literal["den", "expected"] = "den"
    provisional: Literal["rank", "unranked", "unpaid"] = Field(
        "rank", description="rank: ranked and paid as usual; unranked: listed, not ranked; unpaid: ranked, no bonus"
    )

    @field_validator("k", mode="before")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        # One message for every wrong K, rather than one per member of `float | "auto"`.
        if value == "auto":
            return value
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            raise ValueError(f"K must be a finite number above 0, or auto (not {value!r})")
        return number


class MetricRule(_Model):
    weight: float = Field(ge=0, le=100)
    better: Direction | None = None
    score: ScoringMethod
    adjust: Adjust | None = None
    shrink: Shrink | None = None


class Gate(_Model):
    """A rule on one metric's value that overrides the weighted score."""

    metric: str
    above: float | None = None
    below: float | None = None
    action: Literal["cap_grade", "zero_score", "ineligible", "none"]
    grade: str | None = None
    reason: str | None = None
    cancel_bonus: bool = Field(False, description="a collector this gate fires on gets no bonus")

    @model_validator(mode="after")
    def _complete(self) -> Gate:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of `above` or `below`")
        if self.action == "cap_grade" and self.grade is None:
            raise ValueError("action cap_grade needs `grade`")
        return self

    def describe(self) -> str:
        op, limit = (">", self.above) if self.above is not None else ("<", self.below)
        return self.reason or f"{self.metric} {op} {limit:g}"


class GradeBand(_Model):
    grade: str
    min: float = Field(ge=0, le=100)


class Eligibility(_Model):
    min_cases: int = Field(0, ge=0)
    min_contacts: int = Field(0, ge=0)
    active_only: bool = Field(True, description="roster collectors with active = false are not ranked")


class Params(_Model):
    sla_days: int = Field(30, ge=0)
    followup_hours: float = Field(24.0, gt=0)
    target_amount: float | None = Field(None, gt=0, description="monthly target where the roster has none")


class CommissionTier(_Model):
    upto: float | None = Field(None, gt=0, description="upper bound of the tier; omit on the last tier")
    rate: float = Field(ge=0, le=1)


class Commission(_Model):
    """阶梯式提成: a commission on the recovered amount, by tiers."""

    tiers: list[CommissionTier]
    basis: Literal["marginal", "whole"] = Field(
        "marginal", description="marginal: each tier's rate on the part inside it; whole: one rate on everything"
    )

    @field_validator("tiers")
    @classmethod
    def _ordered_tiers(cls, tiers: list[CommissionTier]) -> list[CommissionTier]:
        if not tiers:
            raise ValueError("at least one tier is needed")
        bounds = [t.upto for t in tiers[:-1]]
        if any(b is None for b in bounds):
            raise ValueError("only the last tier may omit `upto`")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):  # type: ignore[type-var]
            raise ValueError("tiers must be listed by rising `upto`")
        if tiers[-1].upto is not None:
            raise ValueError("the last tier must omit `upto` (it has no upper bound)")
        return tiers


class Bonus(_Model):
    """What a collector is paid for the month's scorecard."""

    base: float = Field(0, ge=0, description="the base bonus amount")
    by_grade: dict[str, float] = Field(default_factory=dict, description="grade → multiplier of `base`")
    commission: Commission | None = None


class TeamRule(_Model):
    method: Literal["pooled", "mean"] = "pooled"


class Scheme(_Model):
    """A whole scoring scheme."""

    name: str = "unnamed scheme"
    inputs: Inputs = Inputs()
    params: Params = Params()
    metrics: dict[str, MetricRule]
    missing: Literal["reweight", "zero"]
    eligibility: Eligibility = Eligibility()
    gates: list[Gate] = Field(default_factory=list)
    grades: list[GradeBand]
    team: TeamRule = TeamRule()
    bonus: Bonus | None = None
    lang: Literal["zh", "en"] | None = Field(None, description="labels in tables and reports (default: the locale)")

    # Where the scheme was read from; relative input paths resolve against its folder.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, metrics: dict[str, MetricRule]) -> dict[str, MetricRule]:
        for metric_id, rule in metrics.items():
            if metric_id not in METRICS:
                raise ValueError(f"unknown metric '{metric_id}'{_suggest(metric_id, METRICS)}")
            if rule.adjust is not None and metric_id not in ADJUSTABLE:
                raise ValueError(f"{metric_id}: case-mix adjustment applies to {', '.join(ADJUSTABLE)}")
            if rule.shrink is not None and metric_id not in SHRINKABLE:
                raise ValueError(f"{metric_id}: shrinkage applies to {', '.join(SHRINKABLE)}")
            if rule.better is None and METRICS[metric_id].better is None and not isinstance(rule.score, BandMethod):
                raise ValueError(f"{metric_id}: has no default direction; set `better` or use method band")
        if not metrics:
            raise ValueError("at least one metric is needed")
        total = math.fsum(rule.weight for rule in metrics.values())
        if not math.isclose(total, 100.0, rel_tol=0, abs_tol=1e-9):
            # 12 significant digits: 99.99999 must not print as "100".
            off = f"{abs(total - 100):.3g} " + ("short" if total < 100 else "over")
            raise ValueError(f"weights add up to {total:.12g}, not 100 ({off})")
        return metrics

    @field_validator("grades")
    @classmethod
    def _grades_cover(cls, grades: list[GradeBand]) -> list[GradeBand]:
        if not grades:
            raise ValueError("at least one grade band is needed")
        mins = [band.min for band in grades]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("list grade bands from the highest `min` down, each `min` different")
        if mins[-1] != 0:
            raise ValueError("the last grade band must have min: 0 so every score gets a grade")
        names = [band.grade for band in grades]
        if len(set(names)) != len(names):
            raise ValueError("grade names must be unique")
        return grades

    @model_validator(mode="after")
    def _cross_checks(self) -> Scheme:
        grades = {band.grade for band in self.grades}
        for index, gate in enumerate(self.gates):
            if gate.metric not in METRICS:
                raise _located(("gates", index, "metric"), f"unknown metric '{gate.metric}'")
            if gate.grade is not None and gate.grade not in grades:
                raise _located(("gates", index, "grade"), f"unknown grade '{gate.grade}'")
        if self.bonus is not None:
            for grade in self.bonus.by_grade:
                if grade not in grades:
                    raise _located(("bonus", "by_grade", grade), f"unknown grade '{grade}'")
            missing = [g for g in grades if g not in self.bonus.by_grade]
            if self.bonus.by_grade and missing:
                raise _located(("bonus", "by_grade"), f"no multiplier for grade(s) {', '.join(sorted(missing))}")
        for metric_id, rule in self.metrics.items():
            method = rule.score
            if isinstance(method, RangeMethod):
                better = self.direction(metric_id)
                rising = method.ceiling > method.floor
                if (better == "higher" and not rising) or (better == "lower" and rising):
                    raise _located(
                        ("metrics", metric_id, "score"),
                        f"range runs the wrong way for a '{better}' metric: "
                        f"floor {method.floor:g} (0 points), ceiling {method.ceiling:g} (100 points)",
                    )
        needs_target = "target_attainment" in self.needed_metrics()
        if needs_target and self.params.target_amount is None and self.inputs.roster.path is None:
            raise _located(
                ("metrics", "target_attainment"),
                "needs a target: give inputs.roster.path (target_amount column) or params.target_amount",
            )
        return self

    def direction(self, metric_id: str) -> Direction:
        """The direction a metric is scored in: the scheme's word, else the catalog's."""
        rule = self.metrics.get(metric_id)
        if rule is not None and rule.better is not None:
            return rule.better
        return METRICS[metric_id].better or "higher"

    def needed_metrics(self) -> list[str]:
        """Metrics to compute: those weighted, then those only gates use."""
        ids = list(self.metrics)
        for gate in self.gates:
            if gate.metric not in ids:
                ids.append(gate.metric)
        return ids

    def fair_metrics(self) -> list[str]:
        """Metrics with a case-mix adjustment or shrinkage."""
        return [m for m, rule in self.metrics.items() if rule.adjust is not None or rule.shrink is not None]

    def resolve_path(self, template: str, month: str) -> str:
        """An input path with `{month}` filled and relative paths anchored at the scheme."""
        import os

        path = Path(template.replace("{month}", month)).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        return os.path.normpath(path)


def _finite(value: Any) -> bool:
    """False for a YAML .nan, .inf or -.inf (a float that is no number to score with)."""
    return not isinstance(value, float) or math.isfinite(value)


class _LocatedError(ValueError):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _located(loc: tuple[str | int, ...], message: str) -> _LocatedError:
    return _LocatedError(loc, message)


def _suggest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- loading ----------------------------------------------------------------------


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its nearest ancestor."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(key):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic adds the discriminator value as a path element (…score.target.cap).
    out: list[str | int] = []
    for index, part in enumerate(loc):
        if index > 0 and loc[index - 1] == "score" and part in ("target", "range", "percentile", "band"):
            continue
        out.append(part)
    return tuple(out)


# NOTE: libyaml's parser, where PyYAML has it: the pure-Python one took 0.04 s of every run
# (its constructors, and ours below, are the same either way).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """YAML as usual, except that a number written with a leading zero stays text, and a
    key given twice in a mapping is an error (YAML would quietly keep the last one).

    NOTE: exports hold codes such as 01 or 010; YAML would read them as 1 and 8 (octal),
    so `values: {channel: {01: call}}` would never match "01". Written with a leading
    zero, a number is kept as written (a count given as 05 still validates as 5).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` merges keys a mapping may then override
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice (lines {seen[key]} and {line})", key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen[key] = line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _int_or_code(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    text = str(loader.construct_scalar(node))
    if re.fullmatch(r"[-+]?0[0-9_]+", text):
        return text
    return int(yaml.SafeLoader.construct_yaml_int(loader, node))


_Loader.add_constructor("tag:yaml.org,2002:int", _int_or_code)


# A scheme holds a few hundred values; aliases that make it larger than this are a mistake
# (or a "billion laughs" built to exhaust the machine), refused before anything is built.
MAX_NODES = 100_000


# A scheme nests a few levels (metrics → a metric → its score); deeper is a mistake, refused
# before the nodes are built (building them recurses per level, as far as Python allows).
MAX_DEPTH = 100


class _AliasError(Exception):
    """Aliases that expand the scheme past MAX_NODES values, or that contain themselves; or
    mappings and lists nested past MAX_DEPTH levels."""

    def __init__(self, node: yaml.Node | yaml.Event, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1 if node.start_mark is not None else 1  # (a parser's marks are set)
        self.loc = loc
        self.message = message


def _children(node: yaml.Node) -> list[tuple[str | int, yaml.Node]]:
    """A node's children with their YAML path part (a key's own node counts as a child)."""
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[str | int, yaml.Node]] = []
        for key, value in node.value:
            out += [(str(key.value), key), (str(key.value), value)]
        return out
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _check_aliases(root: yaml.Node) -> None:
    """Raise _AliasError if the document, every alias written out in full, holds more than
    MAX_NODES nodes, or if an alias sits inside the node it names.

    NOTE: an alias is the same node met again, so sizes are counted once per node (capped
    at MAX_NODES + 1) and the check takes time in the size of the text, not of its expansion.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            open_nodes.discard(id(node))
            total = 1 + sum(size[id(child)] for _, child in _children(node))
            size[id(node)] = min(total, MAX_NODES + 1)
            continue
        if id(node) in size:
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for _, child in reversed(_children(node)):
            if id(child) in open_nodes:
                raise _AliasError(child, (), "an alias inside this node names the node itself (a loop with no end)")
            stack.append((child, False))
    if size[id(root)] <= MAX_NODES:
        return
    # The smallest part of the document that is too large: its children are each small
    # enough, so this is where the aliases multiply.
    where: yaml.Node = root
    loc: tuple[str | int, ...] = ()
    while True:
        big = next(((part, child) for part, child in _children(where) if size[id(child)] > MAX_NODES), None)
        if big is None:
            break
        loc, where = (*loc, big[0]), big[1]
    raise _AliasError(
        where, loc, f"YAML aliases expand this to more than {MAX_NODES:,} values; write the values out instead"
    )


def parse_scheme(text: str, source: str = "<scheme>", base_dir: Path | None = None) -> Scheme:
    """Validate scheme YAML text; errors name ``source:line: yaml.path``."""
    try:
        root, data = _read_yaml(text)
    except _AliasError as exc:
        where = f"{source}:{exc.line}: {_dotted(exc.loc)}" if exc.loc else f"{source}:{exc.line}"
        raise SchemeError(f"{where}: {exc.message}") from exc
    except yaml.YAMLError as exc:
        if not isinstance(exc, yaml.constructor.ConstructorError) and _SafeLoader is not yaml.SafeLoader:
            # libyaml says less ("found character that cannot start any token"); PyYAML's
            # own parser, run again on the failing text, names the character or the alias.
            try:
                yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError as detailed:
                exc = detailed
            except RecursionError:  # nested too deep for the pure-Python parser: libyaml's word
                pass
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SchemeError(f"{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise SchemeError(f"{source}: a scheme is a YAML mapping (metrics:, grades:, …)")
    try:
        scheme = Scheme.model_validate({**data, "base_dir": base_dir or Path(".")})
    except ValidationError as exc:
        # An unknown key (a typo) explains the "missing" error it causes: report it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        error = errors[0]
        context = error.get("ctx", {}).get("error")
        if isinstance(context, _LocatedError):
            loc, message = context.loc, context.message
        else:
            loc = _clean_loc(tuple(error["loc"]))
            message = _message(error)
        line = _line_of(root, loc)
        where = f"{source}:{line}" if line else source
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise SchemeError(f"{where}: {_dotted(loc) or '(top level)'}: {message}{more}") from exc
    return scheme


def _check_depth(text: str) -> None:
    """Raise _AliasError where mappings and lists nest more than MAX_DEPTH levels deep (read
    as a stream of events, which takes no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _AliasError(event, (), f"nested more than {MAX_DEPTH} levels deep (a scheme needs a few)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML's nodes (for the lines of errors) and its data, from one reading."""
    _check_depth(text)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_aliases(root)
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def load_scheme(path: str | Path) -> Scheme:
    """Read and validate a scheme file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SchemeError(f"{path}: scheme file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeError(f"{path}: cannot read scheme: {exc}") from exc
    return parse_scheme(text, str(path), path.resolve().parent)


DEFAULT_LOCATIONS = ("kpi.yaml", "configs/default.yaml")


def find_scheme(explicit: str | Path | None, cwd: Path | None = None) -> Path:
    """Where the scheme comes from: --config, $KPI_CONFIG, ./kpi.yaml, ./configs/default.yaml."""
    import os

    if explicit:
        return Path(explicit)
    env = os.environ.get("KPI_CONFIG")
    if env:
        return Path(env)
    cwd = cwd or Path.cwd()
    for candidate in DEFAULT_LOCATIONS:
        if (cwd / candidate).is_file():
            return cwd / candidate
    looked = ", ".join(str(cwd / c) for c in DEFAULT_LOCATIONS)
    raise SchemeError(f"no scheme found: looked for $KPI_CONFIG, {looked}; pass --config FILE")
