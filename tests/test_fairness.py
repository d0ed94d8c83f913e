"""Fair scores (collector_kpi.fairness) against numbers computed by hand.

The worked example of spec/fairness.md (money in thousands, two buckets, K = 7):
  A  M1 80 overdue / 39 recovered, M4+ 20 / 1    raw 40/100
  B  M1 10 / 5,                    M4+ 80 / 19   raw 24/90
  C  M1 10 / 6                                   raw 6/10
  r_M1 = 50/100 = 1/2, r_M4+ = 20/100 = 1/5, p̄ = 70/200 = 7/20
  E_A = 80/2 + 20/5 = 44, E_B = 10/2 + 80/5 = 21, E_C = 10/2 = 5
  adjusted = O/E · p̄: A 40/44 · 7/20 = 7/22, B 24/21 · 7/20 = 2/5, C 6/5 · 7/20 = 21/50
  Z = E/(E + 7): 44/51, 21/28, 5/12
  final = p̄ (O + 7)/(E + 7): A 7/20 · 47/51, B 7/20 · 31/28, C 7/20 · 13/12
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collector_kpi.fairness import (
    MONEY,
    WORDINGS,
    Credibility,
    Reference,
    case_mix,
    count_wording,
    credibility_k,
    expected_cells,
    explanation,
    fair_scores,
    format_number,
    mark_provisional,
    shrink,
)

WORKED = pl.DataFrame(
    {
        "collector_id": ["A", "A", "B", "B", "C"],
        "dpd_bucket": ["M1", "M4+", "M1", "M4+", "M1"],
        "den": [80, 20, 10, 80, 10],
        "num": [39, 1, 5, 19, 6],
    }
)
P = Fraction(7, 20)


def floats(values: Sequence[Fraction | int]) -> list[float]:
    return [float(v) for v in values]


def column(frame: pl.DataFrame, name: str) -> list[float | None]:
    return frame.sort("collector_id")[name].to_list()


def ranking(frame: pl.DataFrame, name: str) -> list[str]:
    return frame.sort(name, descending=True)["collector_id"].to_list()


# --------------------------------------------------------------------------- worked example


def test_worked_example_reference_rates() -> None:
    rows = expected_cells(WORKED, ["dpd_bucket"])
    assert rows["reference_rate"].to_list() == [0.5, 0.2, 0.5, 0.2, 0.5]
    assert rows["cell_expected"].to_list() == pytest.approx([40, 4, 5, 16, 5], abs=1e-12)
    assert rows["base_rate"].to_list() == [0.35] * 5


def test_worked_example_case_mix() -> None:
    out = case_mix(WORKED, ["dpd_bucket"])
    expected = pl.DataFrame(
        {
            "collector_id": ["A", "B", "C"],
            "observed": [40.0, 24.0, 6.0],
            "expected": [44.0, 21.0, 5.0],
            "den": [100.0, 90.0, 10.0],
            "raw_rate": floats([Fraction(40, 100), Fraction(24, 90), Fraction(6, 10)]),
            "oe_ratio": floats([Fraction(40, 44), Fraction(24, 21), Fraction(6, 5)]),
            "adjusted": floats([Fraction(7, 22), Fraction(2, 5), Fraction(21, 50)]),
            "base_rate": [0.35, 0.35, 0.35],
        }
    )
    assert_frame_equal(out, expected, rel_tol=1e-12, abs_tol=1e-12)
    # The spec's rounded figures: raw 40.0 %, 26.7 %, 60.0 %; O/E 0.909, 1.143, 1.200; adjusted 31.8 %, 40.0 %, 42.0 %.
    assert [round(v, 3) for v in out["raw_rate"]] == [0.4, 0.267, 0.6]
    assert [round(v, 3) for v in out["oe_ratio"]] == [0.909, 1.143, 1.2]
    assert [round(v, 3) for v in out["adjusted"]] == [0.318, 0.4, 0.42]
    assert ranking(out, "raw_rate") == ["C", "A", "B"]
    assert ranking(out, "adjusted") == ["C", "B", "A"]


def test_worked_example_shrinkage_k7() -> None:
    result = fair_scores(WORKED, ["dpd_bucket"], k=7)
    assert result.credibility == Credibility(7.0, "given", "K = 7 is set in the scheme")
    out = result.collectors
    assert column(out, "credibility") == pytest.approx(floats([Fraction(44, 51), Fraction(21, 28), Fraction(5, 12)]))
    assert column(out, "ratio_shrunk") == pytest.approx(floats([Fraction(47, 51), Fraction(31, 28), Fraction(13, 12)]))
    finals = [P * Fraction(47, 51), P * Fraction(31, 28), P * Fraction(13, 12)]
    assert column(out, "final") == pytest.approx(floats(finals), rel=1e-12)
    assert [round(100 * v, 2) for v in column(out, "final")] == [32.25, 38.75, 37.92]  # type: ignore[operator]
    assert column(out, "target_ratio") == [1.0, 1.0, 1.0]
    assert column(out, "provisional") == [False, False, False]
    assert ranking(out, "final") == ["B", "C", "A"]


def test_shrinking_raw_rates_without_case_mix_keeps_the_raw_ranking() -> None:
    out = fair_scores(WORKED, k=7).collectors
    # No segment: E = den · p̄ = 35, 31.5, 3.5; final = (num + 7)/(den + 7/p̄) = (num + 7)/(den + 20).
    assert column(out, "expected") == pytest.approx([35.0, 31.5, 3.5])
    assert column(out, "final") == pytest.approx([47 / 120, 31 / 110, 13 / 30], rel=1e-12)
    assert column(out, "adjusted") == pytest.approx(column(out, "raw_rate"), rel=1e-12)
    assert ranking(out, "final") == ["C", "A", "B"]


def test_sentence_for_collector_a() -> None:
    out = fair_scores(WORKED, ["dpd_bucket"], k=7).collectors
    text = out.filter(pl.col("collector_id") == "A").select(explanation(MONEY)).item()
    assert text == (
        "You recovered 40. An average collector with your exact portfolio would have recovered 44 (×0.91). "
        "Your month counts 86 %, the company average 14 %."
    )


def test_sentence_of_the_issue_in_cents_with_separators() -> None:
    frame = pl.DataFrame(
        {"observed": [2_400_000.0], "expected": [2_100_000.0], "oe_ratio": [24 / 21], "credibility": [0.75]}
    )
    assert frame.select(explanation(WORDINGS["recovery_rate"], scale=100)).item() == (
        "You recovered 24,000. An average collector with your exact portfolio would have recovered 21,000 (×1.14). "
        "Your month counts 75 %, the company average 25 %."
    )


def test_count_sentence_team_prior_provisional_and_no_expected() -> None:
    frame = pl.DataFrame(
        {
            "observed": [12.0, 0.0],
            "expected": [10.5, 0.0],
            "oe_ratio": [12 / 10.5, None],
            "credibility": [0.6, None],
            "provisional": [True, True],
        }
    )
    texts = frame.select(
        explanation(count_wording("cases with a payment"), prior="your team's average", provisional=True)
    )["explanation"].to_list()
    assert texts == [
        "You had 12 cases with a payment. An average collector with your exact portfolio would have had 10.5 "
        "(×1.14). Your month counts 60 %, your team's average 40 %. Provisional: your volume is below the minimum.",
        "You had 0 cases with a payment. Nothing was expected from your portfolio, so there is no adjusted value. "
        "Provisional: your volume is below the minimum.",
    ]
    assert frame.select(explanation(WORDINGS["success_rate"], shrunk=False))["explanation"][0] == (
        "You had 12 cases with a payment. An average collector with your exact portfolio would have had 10.5 (×1.14)."
    )
    # one thing counted reads in the singular (1.4 shows as 1 too); 1.5 shows as 2
    one = pl.DataFrame({"observed": [1.0, 1.4, 1.5], "expected": [2.0] * 3, "oe_ratio": [0.5, 0.7, 0.75]})
    firsts = [
        text.split(".")[0] for text in one.select(explanation(WORDINGS["settlement_rate"], shrunk=False))["explanation"]
    ]
    assert firsts == ["You had 1 settled case", "You had 1 settled case", "You had 2 settled cases"]


def test_format_number() -> None:
    values = pl.DataFrame({"v": [0.0, 999.5, 1234567.891, -1234.5, -0.004, None]})
    assert values.select(format_number(pl.col("v")).alias("v"))["v"].to_list() == [
        "0",
        "1,000",
        "1,234,568",
        "-1,235",
        "0",
        None,
    ]
    assert values.select(format_number(pl.col("v"), 2).alias("v"))["v"].to_list() == [
        "0.00",
        "999.50",
        "1,234,567.89",
        "-1,234.50",
        "0.00",
        None,
    ]


# --------------------------------------------------------------------------- K = auto


def random_cases(seed: int, collectors: int, rows_per_cell: int = 1) -> pl.DataFrame:
    """Integer sums in several dpd buckets, with a real difference between collectors."""
    rng = random.Random(seed)
    bucket_rate = {"M1": 0.55, "M2": 0.35, "M3": 0.2, "M4+": 0.08}
    rows: list[dict[str, object]] = []
    for index in range(collectors):
        skill = rng.uniform(0.4, 1.6)
        for bucket in rng.sample(sorted(bucket_rate), rng.randint(2, 4)):
            for _ in range(rows_per_cell):
                den = rng.randint(20, 600)
                rate = min(1.0, bucket_rate[bucket] * skill * rng.uniform(0.7, 1.3))
                rows.append(
                    {"collector_id": f"K{index:02d}", "dpd_bucket": bucket, "den": den, "num": round(den * rate)}
                )
    return pl.DataFrame(rows)


def direct_expected(cases: pl.DataFrame) -> list[tuple[str, float, float]]:
    """(collector, num, e) per row, the reference rates computed with plain loops."""
    num_b: dict[str, float] = defaultdict(float)
    den_b: dict[str, float] = defaultdict(float)
    for row in cases.iter_rows(named=True):
        num_b[row["dpd_bucket"]] += row["num"]
        den_b[row["dpd_bucket"]] += row["den"]
    return [
        (row["collector_id"], row["num"], row["den"] * num_b[row["dpd_bucket"]] / den_b[row["dpd_bucket"]])
        for row in cases.iter_rows(named=True)
    ]


def direct_buhlmann_straub(units: list[tuple[str, float, float]]) -> tuple[float, float, float]:
    """Textbook Bühlmann–Straub: x_ij = num/e with weights e; returns (K, s², a)."""
    cells: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for collector, num, e in units:
        if e > 0:
            cells[collector].append((num / e, e))
    n_collectors = len(cells)
    n_units = sum(len(v) for v in cells.values())
    weight = {i: sum(w for _, w in v) for i, v in cells.items()}
    mean = {i: sum(w * x for x, w in v) / weight[i] for i, v in cells.items()}
    total = sum(weight.values())
    grand = sum(weight[i] * mean[i] for i in cells) / total
    within = sum(w * (x - mean[i]) ** 2 for i, v in cells.items() for x, w in v) / (n_units - n_collectors)
    between_ss = sum(weight[i] * (mean[i] - grand) ** 2 for i in cells)
    between = (between_ss - (n_collectors - 1) * within) / (total - sum(w**2 for w in weight.values()) / total)
    return within / between, within, between


@pytest.mark.parametrize(("seed", "collectors", "rows_per_cell"), [(11, 12, 1), (2025, 25, 1), (7, 10, 3)])
def test_k_auto_matches_a_direct_buhlmann_straub(seed: int, collectors: int, rows_per_cell: int) -> None:
    cases = random_cases(seed, collectors, rows_per_cell)
    k, within, between = direct_buhlmann_straub(direct_expected(cases))
    assert between > 0
    result = fair_scores(cases, ["dpd_bucket"], k="auto")
    got = result.credibility
    assert got is not None
    assert got.method == "buhlmann_straub"
    assert (got.collectors, got.units) == (collectors, cases.height)
    assert got.k == pytest.approx(k, rel=1e-9)
    assert got.within == pytest.approx(within, rel=1e-9)
    assert got.between == pytest.approx(between, rel=1e-9)
    assert "Bühlmann–Straub" in got.reason
    z = result.collectors["expected"] / (result.collectors["expected"] + k)
    assert result.collectors["credibility"].to_list() == pytest.approx(z.to_list(), rel=1e-9)


def test_k_auto_without_case_mix_matches_direct() -> None:
    cases = random_cases(3, 14)
    p = int(cases["num"].sum()) / int(cases["den"].sum())
    units = [(r["collector_id"], r["num"], r["den"] * p) for r in cases.iter_rows(named=True)]
    k, _, _ = direct_buhlmann_straub(units)
    got = fair_scores(cases, k="auto").credibility
    assert got is not None and got.method == "buhlmann_straub"
    assert got.k == pytest.approx(k, rel=1e-9)


@pytest.mark.parametrize("reference", ["same_month", "leave_one_out"])
def test_k_auto_and_fair_values_do_not_hang_on_the_row_order(reference: Reference) -> None:
    """The same cells in any order give the same K and the same fair values, to the last bit."""
    cases = random_cases(41, 30, rows_per_cell=4).with_columns(pl.col("den") * 1.37, product=pl.col("den") % 3)
    ids = [f"K{i:02d}" for i in range(30)]
    groups = pl.DataFrame({"collector_id": ids, "team_id": [f"T{i % 4}" for i in range(30)]})
    first = fair_scores(cases, ["dpd_bucket", "product"], reference=reference, k="auto", groups=groups)
    assert first.credibility is not None and first.credibility.method == "buhlmann_straub"
    for seed in range(8):
        shuffled = cases.sample(fraction=1.0, shuffle=True, seed=seed)
        again = fair_scores(shuffled, ["dpd_bucket", "product"], reference=reference, k="auto", groups=groups)
        assert again.credibility == first.credibility
        assert_frame_equal(again.collectors, first.collectors, check_exact=True)


def test_k_auto_falls_back_with_fewer_than_ten_collectors() -> None:
    result = fair_scores(WORKED, ["dpd_bucket"], k="auto")
    got = result.credibility
    assert got is not None
    # K = 0.25 × median(44, 21, 5) = 5.25: the median collector (B) keeps Z = 21/26.25 = 0.8.
    assert (got.k, got.method, got.collectors, got.units) == (5.25, "fallback", 3, 5)
    assert got.reason.startswith("only 3 collectors have an expected value; Bühlmann–Straub needs 10")
    assert "80 %" in got.reason
    assert column(result.collectors, "credibility")[1] == pytest.approx(0.8)
    # Nine random collectors are still too few.
    nine = credibility_k("auto", expected_cells(random_cases(5, 9), ["dpd_bucket"]))
    assert nine.method == "fallback"


def test_k_auto_falls_back_when_between_variance_is_not_positive() -> None:
    # Ten identical collectors: two cells each (10 overdue / 2 recovered, 10 / 8), so every
    # collector's rate is 0.5, s² > 0 and a = −(I − 1)s²·W/(W² − ΣW_i²) < 0.
    cells = pl.DataFrame(
        {
            "collector_id": [f"C{i}" for i in range(10) for _ in range(2)],
            "den": [10, 10] * 10,
            "num": [2, 8] * 10,
        }
    )
    got = credibility_k("auto", expected_cells(cells))
    assert got.method == "fallback"
    assert got.between is not None and got.between < 0
    assert got.within == pytest.approx(3.6)  # e = 5 per cell, x = 0.4, 1.6: Σ_i 2·5·0.6² = 36 over N − I = 10
    assert got.k == pytest.approx(0.25 * 10.0)  # E_i = 20 · 0.5 = 10 for everyone
    assert "not positive" in got.reason


def test_k_auto_falls_back_with_a_single_cell_per_collector() -> None:
    cells = pl.DataFrame({"collector_id": [f"C{i}" for i in range(12)], "den": [100] * 12, "num": list(range(12))})
    got = credibility_k("auto", expected_cells(cells))
    assert got.method == "fallback"
    assert "two cells" in got.reason


def test_k_given_is_validated_and_k_zero_changes_nothing() -> None:
    with pytest.raises(ValueError, match="K must be"):
        credibility_k(-1)
    with pytest.raises(ValueError, match="needs the units"):
        credibility_k("auto")
    out = fair_scores(WORKED, ["dpd_bucket"], k=0).collectors
    assert out["final"].to_list() == out["adjusted"].to_list()
    assert out["credibility"].to_list() == [1.0, 1.0, 1.0]
    unshrunk = fair_scores(WORKED, ["dpd_bucket"])
    assert unshrunk.credibility is None
    assert_frame_equal(unshrunk.collectors, out)


# --------------------------------------------------------------------------- references


# Big M1 800/400, M4 200/20; S1 M1 100/60, M4 100/30; S2 M1 100/40 (overdue / recovered).
LOO = pl.DataFrame(
    {
        "collector_id": ["Big", "Big", "S1", "S1", "S2"],
        "dpd_bucket": ["M1", "M4", "M1", "M4", "M1"],
        "den": [800, 200, 100, 100, 100],
        "num": [400, 20, 60, 30, 40],
    }
)


def test_leave_one_out_by_hand() -> None:
    out = case_mix(LOO, ["dpd_bucket"], reference="leave_one_out")
    # Big: others' r_M1 = 100/200, r_M4 = 30/100 → E = 400 + 60 = 460.
    # S1: r_M1 = 440/900, r_M4 = 20/200 → E = 440/9 + 10 = 530/9.
    # S2: r_M1 = 460/900 → E = 460/9.
    # p̄ is the floor's, the same for all (fairness.md): 550 / 1300.
    e = [Fraction(460), Fraction(530, 9), Fraction(460, 9)]
    p = [Fraction(550, 1300)] * 3
    o = [420, 90, 40]
    assert column(out, "expected") == pytest.approx(floats(e), rel=1e-12)
    assert column(out, "base_rate") == pytest.approx(floats(p), rel=1e-12)
    assert column(out, "adjusted") == pytest.approx(
        floats([o_ / e_ * p_ for o_, e_, p_ in zip(o, e, p, strict=True)]), rel=1e-12
    )
    rows = expected_cells(LOO, ["dpd_bucket"], reference="leave_one_out")
    assert rows["reference_rate"].to_list() == pytest.approx(
        floats([Fraction(1, 2), Fraction(3, 10), Fraction(44, 90), Fraction(1, 10), Fraction(46, 90)])
    )


def test_leave_one_out_a_large_collector_does_not_move_their_own_yardstick() -> None:
    better = LOO.with_columns(pl.when(pl.col("collector_id") == "Big").then(pl.col("num") * 2).otherwise("num"))
    references: tuple[tuple[Reference, bool], ...] = (("same_month", True), ("leave_one_out", False))
    for reference, moves in references:
        before = case_mix(LOO, ["dpd_bucket"], reference=reference).filter(pl.col("collector_id") == "Big")
        after = case_mix(better, ["dpd_bucket"], reference=reference).filter(pl.col("collector_id") == "Big")
        changed = before["expected"].item() != after["expected"].item()
        assert changed is moves, reference
    # With the floor's own rates (r_M1 = 500/1000, r_M4 = 50/300) Big's E moves with Big's result.
    same = case_mix(LOO, ["dpd_bucket"])
    assert same.filter(pl.col("collector_id") == "Big")["expected"].item() == pytest.approx(800 * 0.5 + 200 * 0.5 / 3)


def test_leave_one_out_with_nobody_else_in_a_segment() -> None:
    cells = pl.DataFrame({"collector_id": ["A", "B"], "dpd_bucket": ["M1", "M4"], "den": [10, 10], "num": [5, 1]})
    out = case_mix(cells, ["dpd_bucket"], reference="leave_one_out")
    assert column(out, "expected") == [0.0, 0.0]
    assert column(out, "observed") == [0.0, 0.0]  # a segment without a reference is left out of O too
    assert column(out, "raw_rate") == [0.5, 0.1]
    assert column(out, "adjusted") == [None, None]
    assert column(out, "base_rate") == [0.3, 0.3]


def test_a_segment_without_reference_is_left_out_of_observed_and_expected() -> None:
    # A holds M1 (others' rate 0.5) and M9 (no one else there): O and E run over M1 only.
    cells = pl.DataFrame(
        {"collector_id": ["A", "A", "B"], "dpd_bucket": ["M1", "M9", "M1"], "den": [100, 100, 100], "num": [40, 80, 50]}
    )
    a = case_mix(cells, ["dpd_bucket"], reference="leave_one_out").row(0, named=True)
    assert (a["observed"], a["expected"], a["oe_ratio"]) == (40.0, 50.0, 0.8)
    assert a["raw_rate"] == 0.6
    assert a["adjusted"] == pytest.approx(0.8 * 170 / 300)  # never above 100 % from O of an unmatched segment


def test_identical_records_get_identical_fair_values_however_rows_split() -> None:
    # A's and B's 11 SMS (2 replies) come in different case rows; E must be the same bits.
    cells = pl.DataFrame(
        {
            "collector_id": ["A", "A", "B", "B", "B", "C"],
            "den": [5, 6, 4, 4, 3, 37],
            "num": [2, 0, 2, 0, 0, 13],
        }
    )
    out = fair_scores(cells, k=2.5).collectors
    a, b = out["final"][0], out["final"][1]
    assert a == b
    assert out["expected"][0] == out["expected"][1]


def test_same_month_expected_sums_to_observed() -> None:
    cases = random_cases(99, 30, rows_per_cell=2).with_columns(pl.col("den") * 1.37, product=pl.col("den") % 3)
    out = case_mix(cases, ["dpd_bucket", "product"])
    assert out["expected"].sum() == pytest.approx(out["observed"].sum(), rel=1e-12)
    assert out["observed"].sum() == cases["num"].sum()


def test_trailing_reference_rates_and_base_rate() -> None:
    # Two past months: M1 60/100 and 40/100 → r = 0.5; M4+ 10/100 → 0.1; p̄ = 110/300.
    trailing = pl.DataFrame({"dpd_bucket": ["M1", "M1", "M4+"], "den": [100, 100, 100], "num": [60, 40, 10]})
    out = case_mix(WORKED, ["dpd_bucket"], reference="trailing", trailing=trailing)
    assert column(out, "expected") == pytest.approx([42.0, 13.0, 5.0])
    assert column(out, "base_rate") == pytest.approx([11 / 30] * 3)
    assert column(out, "adjusted") == pytest.approx([40 / 42 * 11 / 30, 24 / 13 * 11 / 30, 6 / 5 * 11 / 30])


def test_expected_column_from_a_model() -> None:
    cells = WORKED.with_columns(model=pl.Series([30.0, 2.0, 4.0, 20.0, 7.0]))
    out = case_mix(cells, ["dpd_bucket"], reference="expected", expected_column="model")
    assert column(out, "expected") == [32.0, 24.0, 7.0]
    assert column(out, "base_rate") == pytest.approx([0.35] * 3)
    assert column(out, "adjusted") == pytest.approx([40 / 32 * 0.35, 24 / 24 * 0.35, 6 / 7 * 0.35])
    with pytest.raises(ValueError, match="expected_column"):
        case_mix(cells, reference="expected")


def test_no_expected_value_gives_no_adjusted_or_final_value() -> None:
    # D holds only zero-overdue rows; E holds only M9, a bucket the trailing months never saw.
    cells = pl.concat(
        [
            WORKED,
            pl.DataFrame({"collector_id": ["D", "E"], "dpd_bucket": ["M1", "M9"], "den": [0, 50], "num": [0, 5]}),
        ]
    )
    result = fair_scores(cells, ["dpd_bucket"], k=7, min_volume=20)
    d = result.collectors.filter(pl.col("collector_id") == "D").row(0, named=True)
    assert (d["expected"], d["raw_rate"], d["oe_ratio"], d["adjusted"], d["final"], d["credibility"]) == (
        0.0,
        None,
        None,
        None,
        None,
        None,
    )
    assert d["provisional"] is True
    trailing = WORKED.group_by("dpd_bucket").agg(pl.col("den", "num").sum())
    out = fair_scores(cells, ["dpd_bucket"], reference="trailing", trailing=trailing, k=7).collectors
    e = out.filter(pl.col("collector_id") == "E").row(0, named=True)
    # M9 has no reference rate, so it is left out of O as well as E (the raw rate keeps it).
    assert (e["observed"], e["expected"], e["raw_rate"], e["adjusted"], e["final"]) == (0.0, 0.0, 0.1, None, None)
    # A, B, C are untouched by the newcomers under trailing rates from their own month.
    assert column(out, "adjusted")[:3] == pytest.approx(floats([Fraction(7, 22), Fraction(2, 5), Fraction(21, 50)]))


# --------------------------------------------------------------------------- groups, provisional, inputs


def test_shrink_toward_the_team() -> None:
    groups = pl.DataFrame({"collector_id": ["A", "B", "C"], "team_id": ["T1", "T1", "T2"]})
    out = fair_scores(WORKED, ["dpd_bucket"], k=7, groups=groups).collectors
    r_t1 = Fraction(64, 65)  # (40 + 24) / (44 + 21)
    assert column(out, "target_ratio") == pytest.approx([float(r_t1), float(r_t1), 1.2])
    shrunk = [(40 + 7 * r_t1) / 51, (24 + 7 * r_t1) / 28, Fraction(6, 5)]  # C alone in T2 keeps their own ratio
    assert column(out, "ratio_shrunk") == pytest.approx(floats(shrunk), rel=1e-12)
    assert column(out, "final") == pytest.approx(floats([P * s for s in shrunk]), rel=1e-12)
    assert out["team_id"].to_list() == ["T1", "T1", "T2"]


def test_null_group_shrinks_toward_the_floor() -> None:
    per = case_mix(WORKED, ["dpd_bucket"]).with_columns(team_id=pl.Series(["T1", None, None], dtype=pl.String))
    out = shrink(per, 7, group="team_id")
    assert column(out, "target_ratio") == pytest.approx([40 / 44, 1.0, 1.0])


def test_provisional_by_den_or_expected() -> None:
    per = case_mix(WORKED, ["dpd_bucket"])
    assert column(mark_provisional(per, 50), "provisional") == [False, False, True]
    assert column(mark_provisional(per, 25, volume="expected"), "provisional") == [False, True, True]
    assert column(mark_provisional(per, None), "provisional") == [False, False, False]


def test_case_rows_nulls_and_float_sums_give_the_same_collectors() -> None:
    # The worked example split into case rows, one null recovered amount, floats for den.
    rows = pl.DataFrame(
        {
            "collector_id": ["A", "A", "A", "B", "B", "B", "C", "C"],
            "dpd_bucket": ["M1", "M1", "M4+", "M1", "M4+", "M4+", "M1", "M1"],
            "den": [50.0, 30.0, 20.0, 10.0, 40.0, 40.0, 10.0, None],
            "num": [39, 0, 1, 5, 19, None, 6, 0],
        }
    )
    assert_frame_equal(case_mix(rows, ["dpd_bucket"]), case_mix(WORKED, ["dpd_bucket"]), rel_tol=1e-12)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="missing column"):
        case_mix(WORKED, ["product"])
    with pytest.raises(ValueError, match="trailing"):
        case_mix(WORKED, ["dpd_bucket"], reference="trailing")
    with pytest.raises(ValueError, match="reserved"):
        case_mix(WORKED.with_columns(cell_expected=pl.lit(1.0)), ["dpd_bucket"])
    with pytest.raises(ValueError, match="reference must be"):
        case_mix(WORKED, reference="other")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly collector_id and one group column"):
        fair_scores(WORKED, k=7, groups=pl.DataFrame({"collector_id": ["A"]}))
    with pytest.raises(ValueError, match="unknown placeholder"):
        WORKED.select(explanation(count_wording("{oops}")))
