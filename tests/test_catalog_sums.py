"""catalog.yaml gives, per collector, exactly the sums today's hand-wired metrics give.

For every metric, the numerator and denominator (and the fallback's) summed from the
catalog's definitions over the month's usable rows equal the component sums of
``aggregate.month_sums``, on the tiny month of conftest.py and on the bundled sample month.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme
from collector_kpi.aggregate import month_sums
from collector_kpi.catalog import load_catalog, parse_catalog
from collector_kpi.compile_polars import collector_sums, metric_sums, pooled, value_expr
from collector_kpi.compile_sql import sums_query, to_sql
from collector_kpi.metrics import METRICS
from collector_kpi.metrics import value_expr as hand_wired_value
from collector_kpi.sources import MonthData, month_filter
from tests.conftest import write_scheme
from tests.test_compile import in_duckdb

CATALOG = load_catalog()
SAMPLE = Path(__file__).parent.parent / "sample_data"

EVERY_METRIC = "".join(
    f"  {metric_id}: {{weight: {100 if metric_id == 'recovery_rate' else 0}, score: {{method: percentile}}"
    + (", better: lower" if metric.better is None else "")
    + "}\n"
    for metric_id, metric in CATALOG.metrics.items()
)


def _components(metric_id: str) -> dict[str, str]:
    """The role → component names of a metric in metrics.py."""
    metric = METRICS[metric_id]
    out = {"num": metric.numerator}
    if metric.denominator:
        out["den"] = metric.denominator
    if metric.fallback:
        out["fallback_num"], out["fallback_den"] = metric.fallback
    return out


def _usable_rows(data: MonthData) -> dict[str, pl.LazyFrame]:
    """Each table's rows that month_sums uses: of the period, and not rejected."""
    out = {}
    for name, table in data.tables.items():
        in_month = month_filter(name, table.columns, data.months, data.start, data.end)
        keep = pl.col("_ok") & (in_month if in_month is not None else pl.lit(True))
        out[name] = table.frame.filter(keep.fill_null(False))
    return out


def _params(scheme_path: Path, data: MonthData) -> dict[str, object]:
    params = load_scheme(scheme_path).params
    return {
        "month_start": data.start,
        "month_end": data.end,
        "sla_days": params.sla_days,
        "followup_hours": params.followup_hours,
    }


def _compare(scheme_path: Path, month: str) -> int:
    """Assert the catalog's sums equal month_sums' for every metric; how many were compared."""
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, month)
    today = month_sums(scheme, data).collectors
    rows = _usable_rows(load_month(scheme, month))
    compared = 0
    for metric_id, metric in CATALOG.metrics.items():
        sums = metric_sums(metric)
        ours = collector_sums(sums, rows, _params(scheme_path, data))  # type: ignore[arg-type]
        for role, component in _components(metric_id).items():
            lookup = sums[role].kind == "lookup"
            expected = dict(today.select("collector_id", component).iter_rows())
            got = dict(ours.select("collector_id", role).iter_rows())
            # A collector the catalog's tables do not hold sums 0 (a lookup: no value).
            got = {c: got.get(c, None if lookup else 0) for c in expected}
            assert got == expected, f"{metric_id}.{role} ({component})"
            compared += 1
    return compared


def test_catalog_sums_equal_today_on_the_tiny_month(tiny: Path) -> None:
    scheme = write_scheme(tiny, f"missing: reweight\nmetrics:\n{EVERY_METRIC}")
    # Three metrics are a sum alone, one has a fallback: 22 · 2 − 3 + 2 sums.
    assert _compare(scheme, "2025-03") == 43


def test_catalog_sums_equal_today_on_the_sample_month(tmp_path: Path) -> None:
    inputs = "".join(
        f"  {table}: {{path: '{SAMPLE}/{{month}}/{name}'}}\n"
        for table, name in (
            ("cases", "cases.csv"),
            ("contacts", "contacts.parquet"),
            ("reviews", "reviews.csv"),
            ("roster", "roster.csv"),
        )
    )
    body = f"inputs:\n{inputs}params: {{sla_days: 30, followup_hours: 24}}\nmissing: reweight\nmetrics:\n{EVERY_METRIC}"
    scheme = write_scheme(tmp_path, body, inputs=False)
    assert _compare(scheme, "2025-03") == 43


def test_the_catalog_values_of_the_ratio_metrics_equal_today(tiny: Path) -> None:
    scheme_path = write_scheme(tiny, f"missing: reweight\nmetrics:\n{EVERY_METRIC}")
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, "2025-03")
    today = month_sums(scheme, data).collectors
    rows = _usable_rows(load_month(scheme, "2025-03"))
    ratios = [m for m in CATALOG.metrics.values() if m.denominator is not None]
    for metric in ratios:
        sums = collector_sums(metric_sums(metric), rows, _params(scheme_path, data))  # type: ignore[arg-type]
        names = {role: role for role in metric_sums(metric)}
        ours = dict(sums.select("collector_id", value_expr(metric, names)).iter_rows())
        expected = dict(today.select("collector_id", hand_wired_value(METRICS[metric.id])).iter_rows())
        assert {c: ours.get(c) for c in expected if c in ours} == {c: expected[c] for c in ours}, metric.id


@pytest.mark.parametrize("metric_id", list(METRICS))
def test_every_metric_of_today_is_in_the_catalog_with_its_labels(metric_id: str) -> None:
    ours, today = CATALOG.metrics[metric_id], METRICS[metric_id]
    assert (ours.zh, ours.en, ours.definition, ours.unit, ours.better, ours.team_pooled) == (
        today.zh,
        today.en,
        today.definition,
        today.unit,
        today.better,
        today.team_pooled,
    )
    assert set(ours.tables) == set(today.tables) | ({"roster"} if metric_id == "target_attainment" else set())


def test_the_catalog_holds_no_metric_today_lacks() -> None:
    assert list(CATALOG.metrics) == list(METRICS)


def test_teams_and_the_floor_pool_the_catalog_sums(tiny: Path) -> None:
    scheme_path = write_scheme(tiny, f"missing: reweight\nmetrics:\n{EVERY_METRIC}")
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, "2025-03")
    teams = month_sums(scheme, data).collectors.select("collector_id", "team_id")
    rows = _usable_rows(data)
    recovery, calls = CATALOG.metrics["recovery_rate"], CATALOG.metrics["call_connect_rate"]
    names = {"num": "num", "den": "den"}
    by_collector = collector_sums(metric_sums(recovery), rows, _params(scheme_path, data))  # type: ignore[arg-type]
    by_team = pooled(by_collector.join(teams, on="collector_id"), ["team_id"])
    # T1: A and B recovered 3100 + 1000 of 5000 + 7000; T2: C 1000 of 5000
    assert dict(by_team.select("team_id", value_expr(recovery, names)).iter_rows()) == {
        "T1": 4100 / 12000,
        "T2": 1000 / 5000,
    }
    # The floor's calls: A 2 of 3 connected, B 1 of 2, C 0 of 1 (k11 is February's)
    call_sums = collector_sums(metric_sums(calls), rows, _params(scheme_path, data))  # type: ignore[arg-type]
    assert pooled(call_sums).select(value_expr(calls, names)).item() == 3 / 6


@pytest.mark.parametrize(
    ("rule", "keys"),
    [
        ("adjust: {segments: [dpd_bucket]}", ["collector_id", "dpd_bucket"]),
        ("shrink: {k: 10}", ["collector_id", "case_id"]),
    ],
)
def test_fairness_cells_from_the_catalog_equal_today(tiny: Path, rule: str, keys: list[str]) -> None:
    metrics = "".join(
        f"  {m}: {{weight: {w}, score: {{method: percentile}}, {rule}}}\n"
        for m, w in (("recovery_rate", 50), ("contact_coverage", 50))
    )
    scheme_path = write_scheme(tiny, f"missing: reweight\nmetrics:\n{metrics}")
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, "2025-03")
    today = month_sums(scheme, data).cells
    rows = _usable_rows(load_month(scheme, "2025-03"))
    for metric_id in ("recovery_rate", "contact_coverage"):
        metric = CATALOG.metrics[metric_id]
        ours = collector_sums(metric_sums(metric), rows, _params(scheme_path, data), keys)  # type: ignore[arg-type]
        expected = today[metric_id].sort(keys, nulls_last=True)
        assert ours.rows() == expected.select(*keys, "num", "den").rows(), metric_id
        assert len(ours) > 2


def test_the_catalog_in_sql_gives_today_sums_in_duckdb(tiny: Path) -> None:
    scheme_path = write_scheme(tiny, f"missing: reweight\nmetrics:\n{EVERY_METRIC}")
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, "2025-03")
    today = month_sums(scheme, data).collectors
    needed = CATALOG.columns_needed(CATALOG.metrics)
    rows = {table: frame.select(needed[table]).collect() for table, frame in _usable_rows(data).items()}
    connection = in_duckdb(rows)
    params = _params(scheme_path, data)
    for metric_id, metric in CATALOG.metrics.items():
        for role, component in _components(metric_id).items():
            aggregate = metric_sums(metric)[role]
            sql = to_sql(sums_query({role: aggregate}, aggregate.table, params))  # type: ignore[arg-type]
            got = dict(connection.execute(sql).fetchall())
            expected = dict(today.select("collector_id", component).iter_rows())
            default = None if aggregate.kind == "lookup" else 0
            assert {c: got.get(c, default) for c in expected} == expected, f"{metric_id}.{role}"


def test_a_lookup_without_a_value_takes_the_scheme_default(tiny: Path) -> None:
    roster = tiny / "2025-03" / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8").replace("C,Cy,T2,1000,", "C,Cy,T2,,"), encoding="utf-8")
    scheme_path = write_scheme(tiny, f"params: {{target_amount: 1500}}\nmissing: reweight\nmetrics:\n{EVERY_METRIC}")
    scheme = load_scheme(scheme_path)
    data = load_month(scheme, "2025-03")
    today = month_sums(scheme, data).collectors
    target = CATALOG.metrics["target_attainment"].denominator
    assert target is not None
    params = _params(scheme_path, data) | {"target_amount": 1500}
    ours = collector_sums({"den": target}, _usable_rows(data), params)  # type: ignore[arg-type]
    expected = dict(today.select("collector_id", "target_cents").iter_rows())
    assert expected["C"] == 150_000  # C's own target is blank: the scheme's
    assert dict(ours.iter_rows()) == expected


INDUSTRY = """\
params:
  month_end: {type: date, doc: last day of the period}
metrics:
  avg_handle_seconds:
    zh: 平均通话时长
    en: Average handle time
    definition: Σ duration_s of connected calls with a duration / their number
    unit: seconds
    better: ~
    table: contacts
    value: {mean: duration_s, where: "channel = 'call' and outcome = 'connected'"}
  contacts_per_case:
    zh: 案均催记数
    en: Contacts per case
    definition: contact rows / case rows
    unit: rate
    better: ~
    table: cases
    numerator: {count: rows, table: contacts}
    denominator: {count: rows}
"""


def test_industry_measures_the_columns_allow_are_written_in_the_language(tiny: Path) -> None:
    scheme_path = write_scheme(tiny, f"missing: reweight\nmetrics:\n{EVERY_METRIC}")
    data = load_month(load_scheme(scheme_path), "2025-03", every_column=True)  # duration_s too
    rows = _usable_rows(data)
    catalog = parse_catalog(INDUSTRY, "industry.yaml")
    values = {}
    for metric in catalog.metrics.values():
        sums = collector_sums(metric_sums(metric), rows, _params(scheme_path, data))  # type: ignore[arg-type]
        values[metric.id] = dict(sums.select("collector_id", value_expr(metric, {"num": "num", "den": "den"})).rows())
    # Connected calls: A k01 120 s and k03 300 s, B k08 60 s; C's k11 is February's.
    assert values["avg_handle_seconds"] == {"A": 210.0, "B": 60.0, "C": None}
    # Contacts / cases: A 6 / 4, B 3 / 3, C 1 / 5 (k11 is February's)
    assert values["contacts_per_case"] == {"A": 6 / 4, "B": 1.0, "C": 1 / 5}
