"""Loading metric definitions (catalog.py): the built-in catalog, and every kind of bad definition."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from collector_kpi.catalog import load_catalog, parse_catalog
from collector_kpi.definitions import CatalogError

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
CATALOG = load_catalog()

HEAD = """\
params:
  month_end: {type: date, doc: last day}
  sla_days: {type: int, doc: on time}
metrics:
  good:
    zh: 好
    en: Good
    definition: a valid one
    unit: rate
    better: higher
    table: cases
    numerator: {count: rows}
    denominator: {count: rows}
  bad:
    zh: 坏
    en: Bad
    definition: the one under test
    better: higher
    table: cases
"""


def problems(body: str) -> list[str]:
    """The problems of a catalog whose metric `bad` has ``body`` (its unit included)."""
    text = HEAD + textwrap.indent(textwrap.dedent(body), "    ")
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "defs.yaml")
    return [str(p) for p in caught.value.problems]


# Line 20 is the first line of the body (HEAD is 19 lines).
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "unit: rate\nnumerator: {sum: recoverd_amount}\ndenominator: {count: rows}\n",
            "defs.yaml:21: metrics.bad.numerator.sum: 'recoverd_amount' is neither a column of the table nor a param",
        ),
        (
            "unit: rate\nnumerator: {median: recovered_amount}\n",
            "defs.yaml:21: metrics.bad.numerator.median: unknown key",
        ),
        (
            "unit: rate\nnumerator: {sum: recovered_amount}\n",
            "defs.yaml:20: metrics.bad.unit: a rate needs a denominator",
        ),
        (
            "unit: money\nnumerator: {count: rows}\n",
            "defs.yaml:20: metrics.bad.unit: a money value sums money, not count",
        ),
        (
            "unit: days\nnumerator: {sum: overdue_amount}\ndenominator: {count: rows}\n",
            "defs.yaml:20: metrics.bad.unit: a days value sums days, not money",
        ),
        (
            "unit: rate\nnumerator: {sum: recovered_amount}\ndenominator: {count: rows}\n",
            "defs.yaml:20: metrics.bad.unit: a rate divides like by like, not money by count",
        ),
        (
            "unit: rate\nnumerator: {count: rows, where: \"channel = 'call'\"}\ndenominator: {count: rows}\n",
            "metrics.bad.numerator.where: 'channel' is neither a column of the table nor a param",
        ),
        (
            "unit: rate\nnumerator: {count: rows, where: 'settled_date <= month_stop'}\ndenominator: {count: rows}\n",
            "defs.yaml:21: metrics.bad.numerator.where: 'month_stop' is neither a column of the table nor a param",
        ),
        (
            "unit: rate\nnumerator: {lookup: target_amount, table: roster, default: target}\n"
            "denominator: {count: rows}\n",
            "defs.yaml:21: metrics.bad.numerator.default: 'target' is no param: one of month_end, sla_days",
        ),
        ("unit: ratio\nnumerator: {count: rows}\n", "defs.yaml:20: metrics.bad.unit: unit is one of rate, money"),
        (
            "unit: count\nnumerator: {count: rows, table: loans}\n",
            "defs.yaml:21: metrics.bad.numerator.table: 'loans' is no table",
        ),
        ("unit: count\nnumerator: {count: rows}\nweight: 3\n", "defs.yaml:22: metrics.bad.weight: unknown key"),
        (
            "unit: rate\nnumerator: {sum: recovered_amount}\ndenominator: {lookup: target_amount}\n",
            "defs.yaml:22: metrics.bad.denominator.table: a lookup reads reviews or roster",
        ),
        (
            "unit: points\nnumerator: {mean: qa_score}\n",
            "defs.yaml:21: metrics.bad.numerator.mean: a mean is a ratio itself: write it as value: {mean: …}",
        ),
        (
            "unit: money\nnumerator: {sum: dpd_bucket}\n",
            "defs.yaml:21: metrics.bad.numerator.sum: dpd_bucket cannot be summed (a text column)",
        ),
        (
            "unit: rate\nnumerator: {count: rows, covered_by: reviews}\ndenominator: {count: rows}\n",
            "defs.yaml:21: metrics.bad.numerator.covered_by: covered_by matches case ids: reviews has none",
        ),
        (
            "unit: points\nvalue: {mean: qa_scor}\n",
            "defs.yaml:21: metrics.bad.value.mean: 'qa_scor' is neither a column of the table nor a param",
        ),
        (
            "unit: days\nvalue: {mean: 'days(assigned_date, settled_date)', where: 'settled_date <= month_ned'}\n",
            "defs.yaml:21: metrics.bad.value.where: 'month_ned' is neither a column of the table nor a param",
        ),
        (
            "unit: days\nvalue: {mean: 'days(assigned_date, settled_date)'}\n"
            "fallback: {mean: knowledge, table: reviews}\n",
            "defs.yaml:22: metrics.bad.fallback: a days value sums days, not points",
        ),
    ],
)
def test_a_bad_definition_is_named_by_file_line_and_path(body: str, expected: str) -> None:
    found = problems(body)
    assert len(found) == 1
    assert expected in found[0]


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("dpd_bucket < 'M2'", "< does not apply to text"),
        ("settled_date <= sla_days", "cannot compare settled_date (date) with sla_days (number)"),
        ("overdue_amount > 'a lot'", "cannot compare overdue_amount (number) with 'a lot' (text)"),
        ("days(assigned_date, settled_date) > dpd_bucket", "cannot compare days(assigned_date, settled_date)"),
        ("hours(assigned_date, settled_date) > sla_days", "hours() takes two datetime columns"),
        ("dpd_bucket = 'M1' and", "expected a column, a param or a value, found 'the end'"),
        ("(dpd_bucket = 'M1'", "expected ')', found the end"),
        ("dpd_bucket", "dpd_bucket is not a yes/no column"),
        ("dpd_bucket in (M1)", "'M1' is neither a column of the table nor a param"),
        ("dpd_bucket == 'M1'", "expected a column, a param or a value, found '='"),
        ("recovered_amount > 0; drop table cases", "unexpected ';"),
        ("sla_days > 3", "a comparison needs a column on one side"),
        ("1 = 1", "a comparison needs a column on one side"),
    ],
)
def test_a_where_outside_the_grammar_is_refused(where: str, words: str) -> None:
    found = problems(
        f"unit: rate\nnumerator: {{count: rows, where: {json.dumps(where)}}}\ndenominator: {{count: rows}}\n"
    )
    assert len(found) == 1
    assert found[0].startswith("defs.yaml:21: metrics.bad.numerator.where: ")
    assert words in found[0]


def test_a_channel_or_outcome_value_must_exist() -> None:
    for where in ("channel = 'cal'", "outcome in ('connected', 'answered')"):
        text = HEAD.replace("table: cases\n", "table: contacts\n").replace("  bad:", "  bad2:") + textwrap.indent(
            f'unit: count\nnumerator: {{count: rows, where: "{where}"}}\n', "    "
        )
        with pytest.raises(CatalogError, match=r"defs.yaml:21: metrics.bad2.numerator.where: '(cal|answered)' is no"):
            parse_catalog(text, "defs.yaml")


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = HEAD + "    unit: ratio\n  worse:\n    zh: 差\n    en: Worse\n    definition: d\n    unit: rate\n"
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "defs.yaml")
    found = [str(p) for p in caught.value.problems]
    assert found[0].startswith("defs.yaml:20: metrics.bad.unit:")
    assert found[1].startswith("defs.yaml:21: metrics.worse: required key 'better' is missing")
    assert "(and 1 more problem(s))" in caught.value.message


def test_invalid_yaml_names_its_line() -> None:
    with pytest.raises(CatalogError, match=r"^defs.yaml:3: not valid YAML"):
        parse_catalog("metrics:\n  m:\n    zh: ]\n    en: x\n", "defs.yaml")


def test_a_valid_definition_loads() -> None:
    catalog = parse_catalog(HEAD.split("  bad:")[0], "defs.yaml")
    assert list(catalog.metrics) == ["good"]
    assert catalog.columns_needed(["good"]) == {"cases": ["collector_id"]}


# --- the built-in catalog ----------------------------------------------------------


def _readme_rows() -> dict[str, list[str]]:
    block = re.search(r"<!-- metrics:start -->\n(.*?)<!-- metrics:end -->", README, re.S)
    assert block is not None
    rows = [line.strip("|").split("|") for line in block.group(1).splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


@pytest.mark.parametrize("metric_id", list(CATALOG.metrics))
def test_every_catalog_metric_has_labels_a_unit_a_direction_and_a_readme_row(metric_id: str) -> None:
    metric = CATALOG.metrics[metric_id]
    assert metric.zh and metric.en and metric.definition
    assert metric.unit in ("rate", "money", "count", "days", "seconds", "points")
    row = _readme_rows()[metric_id]
    better = metric.better or "scheme decides"
    assert row[1:5] == [metric.zh, metric.en, metric.definition, better]
    assert set(row[5].split("+")) == set(metric.tables)


def test_contact_coverage_is_defined_once_in_the_catalog_file() -> None:
    text = (Path(__file__).parent.parent / "collector_kpi" / "catalog.yaml").read_text(encoding="utf-8")
    assert len(re.findall(r"^  contact_coverage:", text, re.M)) == 1
    assert len(re.findall(r"covered_by", text)) == 2  # the comment that explains it, and the definition


def test_the_catalog_derives_the_columns_each_table_must_give() -> None:
    needed = CATALOG.columns_needed(["contact_coverage", "followup_timeliness"])
    assert needed == {
        "cases": ["collector_id", "case_id"],
        "contacts": ["collector_id", "case_id", "contacted_at", "logged_at"],
    }
    assert CATALOG.params_needed(["on_time_rate", "followup_timeliness"]) == ["month_end", "sla_days", "followup_hours"]


def test_a_metric_id_is_a_plain_name() -> None:
    text = HEAD.split("  bad:")[0] + HEAD.split("  bad:")[0].split("metrics:\n")[1].replace("  good:", "  Good Rate:")
    with pytest.raises(CatalogError, match=r"defs.yaml:14: metrics.Good Rate: a metric id is lower-case letters"):
        parse_catalog(text, "defs.yaml")
