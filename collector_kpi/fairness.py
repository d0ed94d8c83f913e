"""Fair scores: case-mix adjustment and small-sample credibility (see spec/fairness.md).

Pure functions on polars DataFrames of sums — no I/O, no printing, no loop over rows.

The input is a frame of *cells*: one row per (collector, segment) with the sums of a ratio
metric's numerator and denominator (``num`` / ``den``, any numeric dtype; nulls count as 0).
Case rows work too: every input row is one unit ``j`` of the Bühlmann–Straub estimate, so
pass (collector, segment) sums for the cell level, or case rows for the row level.

Steps, each usable alone:

1. :func:`expected_cells` — the reference rate ``r_b`` of each segment and each row's
   expected numerator ``e_ij = den_ij · r_b`` (or an external model's ``expected`` column).
2. :func:`case_mix` — per collector: observed ``O``, expected ``E``, ``den``, ``raw_rate``,
   ``oe_ratio = O/E``, ``adjusted = O/E · p̄`` and the ``base_rate`` p̄ used.
3. :func:`credibility_k` — K as given, or ``auto`` (Bühlmann–Straub method of moments from
   sums, with a documented fallback); returns a :class:`Credibility`.
4. :func:`shrink` — ``ratio_shrunk = (O + K·R)/(E + K)`` toward R = 1 (the floor) or a peer
   group's pooled O/E; ``credibility`` Z = E/(E + K); ``final = p̄ · ratio_shrunk``.
5. :func:`mark_provisional` — below a minimum volume (den or E) a collector is provisional.
6. :func:`explanation` — the one-sentence plain-words explanation, as a polars expression.

:func:`fair_scores` runs 1–5 in one call and returns a :class:`FairResult`.

With no segment (``segments=()``) every reference rate is p̄, so E = den · p̄ and
``adjusted`` equals ``raw_rate`` (up to rounding): shrinkage of the raw rate alone.

The base rate p̄ is the crude rate Σnum / Σden of the *reference population*:

- ``same_month``: the whole frame (the floor this month);
- ``leave_one_out``: the reference rates are the floor's without collector i — r_b^(−i) =
  (Σnum_b − num_ib) / (Σden_b − den_ib), so a large collector does not move their own
  yardstick (a segment where no other collector has a positive den has no reference
  rate); p̄ is the floor this month, the same for everyone, so the adjusted rates rank as
  the O/E ratios do;
- ``trailing``: the frame of other months' per-segment sums passed in (p̄ = its Σnum/Σden);
- ``expected``: an external model's expected numerator per row; p̄ is the floor this month.

This is indirect standardisation's "standardised rate = O/E × crude rate of the standard
population"; it makes the adjusted rate equal the raw rate whenever there is no segment.
A segment whose reference den is 0 (≤ 0) has no rate: it is left out of both O and E (O and E
run over the same segments), though it still counts in the raw rate. A collector with E = 0
has no ``oe_ratio``, ``adjusted`` nor ``final`` (null).

E is summed per collector as Σ_b (Σ_j den_ij) · r_b, so two collectors with the same
numerators and denominators per segment get bit-for-bit the same E, however their rows split
(a float sum row by row could differ in the last bit and break a tie in the ranking).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

Reference = Literal["same_month", "leave_one_out", "trailing", "expected"]
KMethod = Literal["given", "buhlmann_straub", "fallback"]
Volume = Literal["den", "expected"]

REFERENCES: tuple[Reference, ...] = ("same_month", "leave_one_out", "trailing", "expected")
# Bühlmann–Straub needs at least this many collectors with a positive E.
MIN_COLLECTORS = 10
# Fallback K = FALLBACK_SHARE × median E_i: the median collector keeps Z = 1 / (1 + 0.25) = 0.8.
FALLBACK_SHARE = 0.25

# Columns expected_cells() adds to the input rows.
CELL_COLUMNS = ("reference_rate", "cell_expected", "base_rate")
# Per-collector columns of case_mix(), then of shrink() and mark_provisional().
COLLECTOR_COLUMNS = ("observed", "expected", "den", "raw_rate", "oe_ratio", "adjusted", "base_rate")
SHRINK_COLUMNS = ("target_ratio", "credibility", "ratio_shrunk", "final")

_ALL = "_fair_all"  # the single segment when there is none
_NUM = "_fair_num"
_DEN = "_fair_den"


# --------------------------------------------------------------------------- case mix


def _check_columns(frame: pl.DataFrame, what: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def _sum(values: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """The sum of ``values`` (of ``dtype``, Float64 if not given), the same to the last bit
    whatever the order of the rows.

    NOTE: a float sum's last bit depends on the order of its terms, and the rows come in the
    order of the files (and a group_by's groups in no fixed order); summed in sorted order,
    the same values give the same sum however the files were split or shuffled. An integer
    sum is exact in any order, so it is not sorted (sorting 1M case rows cost 0.5 s).
    """
    if dtype is not None and dtype.is_integer():
        return values.sum()
    return values.sort().sum()


def _rate(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as Float64, null where den ≤ 0 or missing."""
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


def expected_cells(
    cells: pl.DataFrame,
    segments: Sequence[str] = (),
    *,
    collector: str = "collector_id",
    num: str = "num",
    den: str = "den",
    reference: Reference = "same_month",
    trailing: pl.DataFrame | None = None,
    expected_column: str | None = None,
) -> pl.DataFrame:
    """The input rows with three Float64 columns added:

    - ``reference_rate``: r_b of the row's segment (r_b^(−i) for ``leave_one_out``; null
      where the reference den is 0, and always null for ``expected``);
    - ``cell_expected``: e_ij = den_ij · r_b (null where r_b is null: the row is left out
      of O and E), or the ``expected_column`` (nulls as 0);
    - ``base_rate``: p̄, the floor's crude rate this month (the trailing months' for
      ``trailing``); null where there is no den.

    ``trailing`` (only with ``reference="trailing"``) holds other months' sums with the
    segment columns and the same ``num`` / ``den`` column names, in any number of rows per
    segment (e.g. one per month); a segment absent from it has no reference rate.
    """
    segments = list(segments)
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(REFERENCES)}, not {reference!r}")
    if collector in segments or num in segments or den in segments:
        raise ValueError("a segment column cannot be the collector, num or den column")
    needed = [collector, *segments, num, den] + ([expected_column] if expected_column else [])
    _check_columns(cells, "cells", needed)
    clash = [c for c in (*CELL_COLUMNS, _ALL, _NUM, _DEN) if c in cells.columns]
    if clash:
        raise ValueError(f"cells: column(s) {', '.join(clash)} are reserved")
    if (reference == "expected") != (expected_column is not None):
        raise ValueError('expected_column is given exactly when reference is "expected"')
    if (reference == "trailing") != (trailing is not None):
        raise ValueError('trailing sums are given exactly when reference is "trailing"')

    keys = segments or [_ALL]
    frame = cells.with_columns(
        pl.col(num).fill_null(0).alias(_NUM),
        pl.col(den).fill_null(0).alias(_DEN),
        *([] if segments else [pl.lit(0).alias(_ALL)]),
    )
    floor = _rate(_sum(pl.col(_NUM), frame.schema[_NUM]), _sum(pl.col(_DEN), frame.schema[_DEN]))

    if reference == "expected":
        assert expected_column is not None
        out = frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("reference_rate"),
            pl.col(expected_column).fill_null(0).cast(pl.Float64).alias("cell_expected"),
            floor.alias("base_rate"),
        )
    elif reference == "same_month":
        rates = frame.group_by(keys).agg(floor.alias("reference_rate"))
        out = frame.join(rates, on=keys, how="left", nulls_equal=True).with_columns(floor.alias("base_rate"))
    elif reference == "trailing":
        assert trailing is not None
        _check_columns(trailing, "trailing", [*segments, num, den])
        past = trailing.with_columns(
            pl.col(num).fill_null(0).alias(_NUM),
            pl.col(den).fill_null(0).alias(_DEN),
            *([] if segments else [pl.lit(0).alias(_ALL)]),
        )
        past_floor = _rate(_sum(pl.col(_NUM), past.schema[_NUM]), _sum(pl.col(_DEN), past.schema[_DEN]))
        rates = past.group_by(keys).agg(past_floor.alias("reference_rate"))
        base = past.select(past_floor.alias("base_rate"))
        out = frame.join(rates, on=keys, how="left", nulls_equal=True).with_columns(
            pl.lit(base.item(), dtype=pl.Float64).alias("base_rate")
        )
    else:  # leave_one_out
        out = _leave_one_out(frame, collector, keys).with_columns(floor.alias("base_rate"))

    return out.with_columns(
        (pl.col(_DEN).cast(pl.Float64) * pl.col("reference_rate")).alias("cell_expected")
        if reference != "expected"
        else pl.col("cell_expected")
    ).drop(_NUM, _DEN, *([] if segments else [_ALL]))


def _leave_one_out(frame: pl.DataFrame, collector: str, keys: list[str]) -> pl.DataFrame:
    """Reference rates of the floor without each collector (totals minus own sums).

    "Someone else has a positive den" is counted rather than tested on the difference, so a
    float rounding residue never becomes a reference denominator.
    """
    positive = (pl.col(_DEN) > 0).cast(pl.Int64)
    num, den = (_sum(pl.col(c), frame.schema[c]) for c in (_NUM, _DEN))
    own = frame.group_by([collector, *keys]).agg(num, den)
    num, den = (_sum(pl.col(c), own.schema[c]) for c in (_NUM, _DEN))
    others_in_segment = own.with_columns(
        (num.over(keys) - pl.col(_NUM)).alias("_n"),
        (den.over(keys) - pl.col(_DEN)).alias("_d"),
        (positive.sum().over(keys) - positive).alias("_c"),
    ).select(
        collector,
        *keys,
        pl.when(pl.col("_c") > 0).then(_rate(pl.col("_n"), pl.col("_d"))).otherwise(None).alias("reference_rate"),
    )
    return frame.join(others_in_segment, on=[collector, *keys], how="left", nulls_equal=True)


def collector_sums(
    expected: pl.DataFrame, *, collector: str = "collector_id", num: str = "num", den: str = "den"
) -> pl.DataFrame:
    """Per collector (sorted by it) from the rows of :func:`expected_cells`: ``observed`` (Σnum),
    ``expected`` (Σe), ``den``, ``raw_rate`` (O/den), ``oe_ratio`` (O/E), ``adjusted`` (O/E · p̄),
    ``base_rate`` (p̄) — all Float64; rates null where their denominator is ≤ 0."""
    value = pl.col(num).fill_null(0)
    comparable = pl.col("cell_expected").is_not_null()
    num_type, den_type = expected.schema[num], expected.schema[den]
    # Per (collector, reference rate) first, so E = Σ_b den_ib · r_b does not depend on how
    # the rows split; sorted before each float sum, so neither does the order of the parts.
    parts = (
        expected.group_by(collector, "reference_rate")
        .agg(
            _sum(value, num_type).cast(pl.Float64).alias("_num"),
            _sum(value.filter(comparable), num_type).cast(pl.Float64).alias("observed"),
            _sum(pl.col(den).fill_null(0), den_type).cast(pl.Float64).alias("den"),
            _sum(pl.col("cell_expected")).alias("expected"),
            pl.col("base_rate").first(),
        )
        .with_columns(
            pl.when(pl.col("reference_rate").is_not_null())
            .then(pl.col("den") * pl.col("reference_rate"))
            .otherwise(pl.col("expected"))
            .alias("expected")
        )
    )
    sums = parts.group_by(collector).agg(
        *[_sum(pl.col(c)) for c in ("_num", "observed", "expected", "den")], pl.col("base_rate").first()
    )
    return (
        sums.with_columns(
            _rate(pl.col("_num"), pl.col("den")).alias("raw_rate"),
            _rate(pl.col("observed"), pl.col("expected")).alias("oe_ratio"),
        )
        .with_columns((pl.col("oe_ratio") * pl.col("base_rate")).alias("adjusted"))
        .select(collector, *COLLECTOR_COLUMNS)
        .sort(collector)
    )


def case_mix(
    cells: pl.DataFrame,
    segments: Sequence[str] = (),
    *,
    collector: str = "collector_id",
    num: str = "num",
    den: str = "den",
    reference: Reference = "same_month",
    trailing: pl.DataFrame | None = None,
    expected_column: str | None = None,
) -> pl.DataFrame:
    """Indirect standardisation per collector: :func:`expected_cells` then :func:`collector_sums`.

    Columns: ``collector``, ``observed``, ``expected``, ``den``, ``raw_rate``, ``oe_ratio``,
    ``adjusted``, ``base_rate``; one row per collector, sorted by collector.
    """
    rows = expected_cells(
        cells,
        segments,
        collector=collector,
        num=num,
        den=den,
        reference=reference,
        trailing=trailing,
        expected_column=expected_column,
    )
    return collector_sums(rows, collector=collector, num=num, den=den)


# --------------------------------------------------------------------------- credibility


@dataclass(frozen=True)
class Credibility:
    """The K used for shrinkage and where it came from.

    ``method`` is ``given`` (a number from the scheme), ``buhlmann_straub`` (estimated) or
    ``fallback`` (``auto`` could not estimate: K = 0.25 × median E_i); ``reason`` says why in
    plain words. ``collectors`` (I), ``units`` (N), ``within`` (s²) and ``between`` (a) are
    the estimate's ingredients where it was attempted.
    """

    k: float
    method: KMethod
    reason: str
    collectors: int | None = None
    units: int | None = None
    within: float | None = None
    between: float | None = None
    why: str | None = None  # for ``fallback``: why ``auto`` gave no estimate


def credibility_k(
    k: float | Literal["auto"],
    units: pl.DataFrame | None = None,
    *,
    collector: str = "collector_id",
    num: str = "num",
    expected: str = "cell_expected",
    min_collectors: int = MIN_COLLECTORS,
    fallback_share: float = FALLBACK_SHARE,
) -> Credibility:
    """K as given, or ``"auto"``: Bühlmann–Straub method of moments from sums.

    ``units`` holds one row per unit j of collector i (a (collector, segment) cell or a case
    row) with its numerator and expected e_ij (the rows of :func:`expected_cells`). With
    x_ij = num_ij / e_ij and w_ij = e_ij, only units with e_ij > 0 count (N of them, from I
    collectors); per collector W_i = Σw, S_i = Σw·x = Σnum, Q_i = Σw·x² = Σnum²/e, and

        s² = Σ_i (Q_i − S_i²/W_i) / (N − I)
        a  = W · (Σ_i S_i²/W_i − S²/W − (I − 1)·s²) / (W² − Σ_i W_i²)
        K  = s² / a

    Fallback — K = ``fallback_share`` × median of the collectors' E_i = W_i (so the median
    collector keeps Z = 0.8; K = 0 if no collector has E > 0) — when fewer than
    ``min_collectors`` collectors have E > 0, when no collector has two units (N = I: s²
    cannot be estimated), or when a ≤ 0 (or not finite): the collectors differ no more than
    chance would make them, so the moments give no K.
    """
    if k != "auto":
        value = float(k)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"K must be a number ≥ 0 or 'auto', not {k!r}")
        return Credibility(value, "given", f"K = {value:g} is set in the scheme")
    if units is None:
        raise ValueError("K = auto needs the units (rows with num and expected)")
    _check_columns(units, "units", [collector, num, expected])

    w = pl.col(expected).cast(pl.Float64)
    y = pl.col(num).fill_null(0).cast(pl.Float64)
    per = (
        units.filter(w > 0)
        .group_by(collector)
        .agg(
            _sum(w).alias("W"),
            _sum(pl.col(num).fill_null(0), units.schema[num]).cast(pl.Float64).alias("S"),
            _sum(y * y / w).alias("Q"),
            pl.len().alias("n"),
        )
    )
    totals = per.select(
        pl.len().alias("I"),
        pl.col("n").sum().alias("N"),
        _sum(pl.col("W")).alias("W"),
        _sum(pl.col("S")).alias("S"),
        _sum(pl.col("S") ** 2 / pl.col("W")).alias("SW"),
        _sum(pl.col("Q") - pl.col("S") ** 2 / pl.col("W")).alias("within_ss"),
        _sum(pl.col("W") ** 2).alias("W2"),
        pl.col("W").median().alias("median_e"),
    ).row(0, named=True)
    collectors = int(totals["I"])
    n_units = int(totals["N"] or 0)
    median_e = float(totals["median_e"]) if totals["median_e"] is not None else 0.0

    def fallback(why: str, within: float | None = None, between: float | None = None) -> Credibility:
        value = fallback_share * median_e
        reason = (
            f"{why}; fallback K = {fallback_share:g} × median E ({median_e:,.4g}) = {value:,.4g}, "
            f"so the median collector's own result counts {_share(median_e, value)}"
        )
        return Credibility(value, "fallback", reason, collectors, n_units, within, between, why)

    if collectors < min_collectors:
        return fallback(f"only {collectors} collectors have an expected value; Bühlmann–Straub needs {min_collectors}")
    if n_units <= collectors:
        return fallback("no collector has two cells, so the within-collector variance cannot be estimated")
    big_w = float(totals["W"])
    within = float(totals["within_ss"]) / (n_units - collectors)
    between = (
        big_w
        * (float(totals["SW"]) - float(totals["S"]) ** 2 / big_w - (collectors - 1) * within)
        / (big_w**2 - float(totals["W2"]))
    )
    if not math.isfinite(between) or not math.isfinite(within) or between <= 0:
        return fallback(
            f"the between-collector variance estimate a = {between:.4g} is not positive "
            "(collectors differ no more than chance)",
            within,
            between,
        )
    value = within / between
    reason = (
        f"Bühlmann–Straub from {collectors} collectors and {n_units} cells: s² = {within:.4g}, a = {between:.4g}, "
        f"K = s²/a = {value:,.4g}"
    )
    return Credibility(value, "buhlmann_straub", reason, collectors, n_units, within, between)


def _share(e: float, k: float) -> str:
    return f"{round(100 * e / (e + k))} %" if e + k > 0 else "100 %"


def shrink(per_collector: pl.DataFrame, k: float, *, group: str | None = None) -> pl.DataFrame:
    """Credibility shrinkage of :func:`case_mix` output; adds Float64 columns:

    - ``target_ratio`` R: 1 (the floor: an average collector of the reference) or, with
      ``group`` (a column of ``per_collector``, e.g. ``team_id``), the group's pooled
      ΣO/ΣE over its members with E > 0 (the collector included; a null group → 1);
    - ``credibility`` Z = E / (E + K);
    - ``ratio_shrunk`` = (O + K·R) / (E + K) = Z·O/E + (1 − Z)·R;
    - ``final`` = p̄ · ratio_shrunk (``base_rate`` p̄).

    All three are null where E ≤ 0. K = 0 leaves ``final`` equal to ``adjusted``.
    """
    if not math.isfinite(k) or k < 0:
        raise ValueError(f"K must be a finite number ≥ 0, not {k}")
    _check_columns(per_collector, "per_collector", ["observed", "expected", "base_rate"] + ([group] if group else []))
    has_e = pl.col("expected") > 0
    if group is None:
        target = pl.lit(1.0)
    else:
        pooled_o = _sum(pl.when(has_e).then(pl.col("observed")).otherwise(0.0)).over(group)
        pooled_e = _sum(pl.when(has_e).then(pl.col("expected")).otherwise(0.0)).over(group)
        target = pl.when(pl.col(group).is_not_null() & (pooled_e > 0)).then(pooled_o / pooled_e).otherwise(1.0)
    big_k = pl.lit(float(k))
    return (
        per_collector.with_columns(target.cast(pl.Float64).alias("target_ratio"))
        .with_columns(
            pl.when(has_e).then(pl.col("expected") / (pl.col("expected") + big_k)).alias("credibility"),
            pl.when(has_e)
            .then((pl.col("observed") + big_k * pl.col("target_ratio")) / (pl.col("expected") + big_k))
            .alias("ratio_shrunk"),
        )
        .with_columns((pl.col("base_rate") * pl.col("ratio_shrunk")).alias("final"))
    )


def mark_provisional(per_collector: pl.DataFrame, min_volume: float | None, *, volume: Volume = "den") -> pl.DataFrame:
    """Add Boolean ``provisional``: ``volume`` (``den`` or ``expected``) below ``min_volume``.

    ``min_volume`` None marks nobody. The scheme decides what a provisional collector gets.
    """
    if volume not in ("den", "expected"):
        raise ValueError(f"volume must be 'den' or 'expected', not {volume!r}")
    flag = pl.lit(False) if min_volume is None else (pl.col(volume) < min_volume).fill_null(True)
    return per_collector.with_columns(flag.alias("provisional"))


# --------------------------------------------------------------------------- all at once


@dataclass(frozen=True)
class FairResult:
    """What :func:`fair_scores` computed.

    ``collectors``: one row per collector (sorted) with the collector column, the
    COLLECTOR_COLUMNS, the group column if any, SHRINK_COLUMNS and ``provisional``.
    ``cells``: the input rows with CELL_COLUMNS (for a per-segment breakdown).
    ``credibility``: the K used, or None when there is no shrinkage (then K = 0: Z = 1 and
    ``final`` = ``adjusted``).
    """

    collectors: pl.DataFrame
    cells: pl.DataFrame
    credibility: Credibility | None


def fair_scores(
    cells: pl.DataFrame,
    segments: Sequence[str] = (),
    *,
    collector: str = "collector_id",
    num: str = "num",
    den: str = "den",
    reference: Reference = "same_month",
    trailing: pl.DataFrame | None = None,
    expected_column: str | None = None,
    k: float | Literal["auto"] | None = None,
    groups: pl.DataFrame | None = None,
    min_volume: float | None = None,
    volume: Volume = "den",
    min_collectors: int = MIN_COLLECTORS,
) -> FairResult:
    """Case mix, credibility and provisional marking in one call.

    ``k`` None: no shrinkage. ``groups``: a frame of ``collector`` and one group column
    (e.g. ``team_id``, one row per collector) to shrink toward the group instead of the
    floor. Everything else is as in :func:`expected_cells`, :func:`credibility_k`,
    :func:`shrink` and :func:`mark_provisional`.
    """
    rows = expected_cells(
        cells,
        segments,
        collector=collector,
        num=num,
        den=den,
        reference=reference,
        trailing=trailing,
        expected_column=expected_column,
    )
    per = collector_sums(rows, collector=collector, num=num, den=den)
    group: str | None = None
    if groups is not None:
        extra = [c for c in groups.columns if c != collector]
        if collector not in groups.columns or len(extra) != 1:
            raise ValueError(f"groups: need exactly {collector} and one group column, got {', '.join(groups.columns)}")
        if groups[collector].n_unique() != groups.height:
            raise ValueError(f"groups: each {collector} must appear once")
        group = extra[0]
        per = per.join(groups, on=collector, how="left", nulls_equal=False)
    credibility = (
        None
        if k is None
        else credibility_k(
            k, rows, collector=collector, num=num, expected="cell_expected", min_collectors=min_collectors
        )
    )
    per = shrink(per, credibility.k if credibility else 0.0, group=group)
    return FairResult(mark_provisional(per, min_volume, volume=volume), rows, credibility)


# --------------------------------------------------------------------------- plain words


@dataclass(frozen=True)
class Wording:
    """Sentence templates; placeholders: {observed} {expected} {ratio} in the first two,
    {own} {prior} {rest} in ``credibility``."""

    observed: str
    expected: str
    no_expected: str = "Nothing was expected from your portfolio, so there is no adjusted value."
    credibility: str = "Your month counts {own}, {prior} {rest}."
    provisional: str = "Provisional: your volume is below the minimum."
    observed_decimals: int = 0
    expected_decimals: int = 0
    # The first sentence where {observed} reads 1 ("You had 1 settled case."), if it differs.
    observed_one: str | None = None


def money_wording(verb: str = "recovered") -> Wording:
    """For a money rate (den = an amount): "You recovered 24,000. An average collector …"."""
    return Wording(
        observed=f"You {verb} {{observed}}.",
        expected=f"An average collector with your exact portfolio would have {verb} {{expected}} (×{{ratio}}).",
    )


def count_wording(what: str, one: str | None = None) -> Wording:
    """For a count rate (den = cases, calls …): "You had 12 cases with a payment. …";
    ``one``: the thing counted in the singular ("case with a payment"), for a count of 1."""
    return Wording(
        observed=f"You had {{observed}} {what}.",
        expected="An average collector with your exact portfolio would have had {expected} (×{ratio}).",
        expected_decimals=1,
        observed_one=f"You had {{observed}} {one}." if one is not None else None,
    )


MONEY = money_wording("recovered")

# The catalog's ratio metrics this module applies to (num/den a count or amount of the den).
WORDINGS: dict[str, Wording] = {
    "recovery_rate": MONEY,
    "settled_amount_rate": money_wording("settled"),
    "success_rate": count_wording("cases with a payment", "case with a payment"),
    "settlement_rate": count_wording("settled cases", "settled case"),
    "contact_coverage": count_wording("cases contacted", "case contacted"),
    "on_time_rate": count_wording("cases settled on time", "case settled on time"),
    "call_connect_rate": count_wording("connected calls", "connected call"),
    "sms_reply_rate": count_wording("SMS replies", "SMS reply"),
    "visit_rate": count_wording("completed visits", "completed visit"),
    "ptp_rate": count_wording("promises to pay", "promise to pay"),
    "followup_timeliness": count_wording("contacts logged on time", "contact logged on time"),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _template(template: str, values: dict[str, pl.Expr]) -> pl.Expr:
    """A sentence template with {name} placeholders, filled from expressions."""
    parts: list[pl.Expr] = []
    for index, piece in enumerate(_PLACEHOLDER.split(template)):
        if index % 2 == 0:
            if piece:
                parts.append(pl.lit(piece))
        elif piece in values:
            parts.append(values[piece])
        else:
            raise ValueError(f"unknown placeholder {{{piece}}} in {template!r}")
    return pl.concat_str(parts) if parts else pl.lit("")


def format_number(value: pl.Expr, decimals: int = 0) -> pl.Expr:
    """A number as text with thousands separators: 24000 → "24,000", 0.909 (2) → "0.91".

    Rounds half away from zero; null stays null.
    """
    if decimals < 0:
        raise ValueError("decimals must be ≥ 0")
    unit = 10**decimals
    scaled = (value.abs() * unit).round(0, mode="half_away_from_zero").cast(pl.Int64)
    whole = (scaled // unit).cast(pl.String).str.reverse().str.extract_all(r"\d{1,3}").list.join(",").str.reverse()
    text = (
        whole
        if decimals == 0
        else pl.concat_str(whole, pl.lit("."), (scaled % unit).cast(pl.String).str.zfill(decimals))
    )
    sign = pl.when((value < 0) & (scaled > 0)).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(sign, text)


def explanation(
    wording: Wording = MONEY,
    *,
    scale: float = 1.0,
    shrunk: bool = True,
    prior: str = "the company average",
    provisional: bool = False,
) -> pl.Expr:
    """The plain-words sentence per collector, as an expression (alias ``explanation``) on
    the frame of :func:`fair_scores` (columns observed, expected, oe_ratio, credibility and,
    with ``provisional``, provisional).

    ``scale`` divides observed and expected for display (100 for sums in cents). With
    ``shrunk`` the credibility sentence follows (Z and 1 − Z as whole percents adding to
    100); ``prior`` names what is shrunk toward ("your team's average").
    """
    observed = format_number(pl.col("observed") / scale, wording.observed_decimals)
    expected = format_number(pl.col("expected") / scale, wording.expected_decimals)
    ratio = format_number(pl.col("oe_ratio"), 2)
    first = _template(wording.observed, {"observed": observed})
    if wording.observed_one is not None:
        first = pl.when(observed == "1").then(_template(wording.observed_one, {"observed": observed})).otherwise(first)
    second = (
        pl.when(pl.col("oe_ratio").is_not_null())
        .then(_template(wording.expected, {"observed": observed, "expected": expected, "ratio": ratio}))
        .otherwise(pl.lit(wording.no_expected))
    )
    sentences = [first, second]
    if shrunk:
        own = (pl.col("credibility") * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)
        third = _template(
            wording.credibility,
            {
                "own": pl.concat_str(own.cast(pl.String), pl.lit(" %")),
                "rest": pl.concat_str((100 - own).cast(pl.String), pl.lit(" %")),
                "prior": pl.lit(prior),
            },
        )
        sentences.append(pl.when(pl.col("credibility").is_not_null()).then(third))
    if provisional:
        sentences.append(pl.when(pl.col("provisional")).then(pl.lit(wording.provisional)))
    return pl.concat_str(sentences, separator=" ", ignore_nulls=True).alias("explanation")
