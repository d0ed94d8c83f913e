"""Scheme validation: every problem names the file, the line and the YAML path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from collector_kpi import scheme as scheme_module
from collector_kpi.errors import SchemeError
from collector_kpi.scheme import find_scheme, load_scheme, parse_scheme

GOOD = """\
name: test
missing: reweight
metrics:
  recovery_rate:
    weight: 60
    score: {method: range, floor: 0.1, ceiling: 0.5}
  case_count:
    weight: 40
    score: {method: percentile}
grades:
  - {grade: A, min: 80}
  - {grade: B, min: 0}
"""


def error_of(text: str) -> str:
    with pytest.raises(SchemeError) as info:
        parse_scheme(textwrap.dedent(text), "s.yaml")
    return info.value.message


def test_good_scheme_loads_into_typed_objects() -> None:
    scheme = parse_scheme(GOOD, "s.yaml")
    assert scheme.metrics["recovery_rate"].weight == 60
    assert scheme.direction("recovery_rate") == "higher"
    assert scheme.missing == "reweight"
    assert scheme.needed_metrics() == ["recovery_rate", "case_count"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("weight: 60", "weight: 50"), "s.yaml:3: metrics: weights add up to 90, not 100"),
        (("weight: 60", "weight: sixty"), "s.yaml:5: metrics.recovery_rate.weight: Input should be a valid number"),
        (("recovery_rate:", "recovery_rat:"), "unknown metric 'recovery_rat' (did you mean 'recovery_rate'?)"),
        (("name: test", "name: test\ncolour: red"), "s.yaml:2: colour: unknown key"),
        (("    weight: 60", "    weight: 60\n    wieght: 1"), "s.yaml:6: metrics.recovery_rate.wieght: unknown key"),
        (("floor: 0.1, ceiling: 0.5", "floor: 0.5, ceiling: 0.5"), "metrics.recovery_rate.score: floor and ceiling"),
        (("floor: 0.1, ceiling: 0.5", "floor: 0.5, ceiling: 0.1"), "range runs the wrong way for a 'higher' metric"),
        (("{method: percentile}", "{method: magic}"), "s.yaml:9: metrics.case_count.score: Input tag 'magic'"),
        (("{method: percentile}", "{method: target, target: 0}"), "metrics.case_count.score.target: Input should be"),
        (("{method: percentile}", "{method: target}"), "metrics.case_count.score.target: required key is missing"),
        (("missing: reweight\n", ""), "s.yaml:1: missing: required key is missing"),
        (("missing: reweight", "missing: ignore"), "s.yaml:2: missing: Input should be 'reweight' or 'zero'"),
        (("{grade: B, min: 0}", "{grade: B, min: 10}"), "grades: the last grade band must have min: 0"),
        (("{grade: B, min: 0}", "{grade: A, min: 0}"), "grades: grade names must be unique"),
    ],
)
def test_invalid_schemes_name_the_key(change: tuple[str, str], expected: str) -> None:
    message = error_of(GOOD.replace(*change))
    assert expected in message


def test_band_needs_ordered_bounds() -> None:
    text = GOOD.replace("{method: percentile}", "{method: band, low: 0.3, high: 0.1, falloff: 0.1}")
    assert "metrics.case_count.score: low must not be above high" in error_of(text)


def test_gate_errors_point_at_the_gate() -> None:
    base = GOOD + "gates:\n  - {metric: violatons, above: 0, action: zero_score}\n"
    assert "s.yaml:14: gates[0].metric: unknown metric 'violatons'" in error_of(base)
    capped = GOOD + "gates:\n  - {metric: violations, above: 0, action: cap_grade}\n"
    assert "gates[0]: action cap_grade needs `grade`" in error_of(capped)
    unknown = GOOD + "gates:\n  - {metric: violations, above: 0, action: cap_grade, grade: Z}\n"
    assert "gates[0].grade: unknown grade 'Z'" in error_of(unknown)
    both = GOOD + "gates:\n  - {metric: violations, above: 0, below: 3, action: zero_score}\n"
    assert "give exactly one of `above` or `below`" in error_of(both)


def test_waiver_rate_needs_a_direction_or_a_band() -> None:
    text = GOOD.replace("case_count:", "waiver_rate:")
    assert "waiver_rate: has no default direction" in error_of(text)
    banded = text.replace("{method: percentile}", "{method: band, low: 0.05, high: 0.2, falloff: 0.1}")
    assert parse_scheme(banded).metrics["waiver_rate"].score.method == "band"


def test_target_attainment_needs_a_target() -> None:
    text = GOOD.replace("case_count:", "target_attainment:")
    assert "needs a target" in error_of(text)


def test_bad_yaml_names_the_line() -> None:
    message = error_of("metrics:\n  a: [1, 2\nmissing: zero\n")
    assert message.startswith("s.yaml:3: not valid YAML")


def test_bad_yaml_names_the_character_and_the_alias() -> None:
    # libyaml's own words are terser; the message still names what is wrong.
    assert "found character '\\t' that cannot start any token" in error_of("name: x\nmetrics:\n\tcase_count: 1\n")
    assert "found undefined alias 'nope'" in error_of("name: x\nmetrics: *nope\n")


def test_bad_yaml_with_the_pure_python_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where PyYAML has no libyaml, its reader refuses a control character as it starts.
    monkeypatch.setattr(scheme_module, "_Loader", yaml.SafeLoader)
    assert error_of("name: a\x01b\n").startswith("s.yaml: not valid YAML: unacceptable character #x0001")


def test_not_a_mapping() -> None:
    assert "a scheme is a YAML mapping" in error_of("- 1\n- 2\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemeError, match="scheme file not found"):
        load_scheme(tmp_path / "nope.yaml")


def test_find_scheme_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPI_CONFIG", raising=False)
    with pytest.raises(SchemeError, match="no scheme found: looked for"):
        find_scheme(None, tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "default.yaml").write_text(GOOD)
    assert find_scheme(None, tmp_path) == tmp_path / "configs" / "default.yaml"
    (tmp_path / "kpi.yaml").write_text(GOOD)
    assert find_scheme(None, tmp_path) == tmp_path / "kpi.yaml"
    monkeypatch.setenv("KPI_CONFIG", "/elsewhere.yaml")
    assert find_scheme(None, tmp_path) == Path("/elsewhere.yaml")
    assert find_scheme("given.yaml", tmp_path) == Path("given.yaml")


def test_relative_inputs_resolve_against_the_scheme(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(GOOD + "inputs:\n  cases: {path: 'data/{month}/cases.csv'}\n")
    scheme = load_scheme(tmp_path / "s.yaml")
    assert scheme.resolve_path("data/{month}/cases.csv", "2025-03") == str(tmp_path / "data/2025-03/cases.csv")


@pytest.mark.parametrize("name", ["default.yaml", "online-lending.yaml"])
def test_shipped_schemes_load(name: str) -> None:
    scheme = load_scheme(Path(__file__).parent.parent / "configs" / name)
    assert sum(rule.weight for rule in scheme.metrics.values()) == pytest.approx(100)


def test_value_codes_keep_their_leading_zeros() -> None:
    """An export's code 01 or 010 stays "01" / "010" (YAML would read 1 and octal 8)."""
    codes = "inputs:\n  contacts:\n    values:\n      channel: {01: call, 010: sms, 2: visit}\n"
    text = GOOD.replace("metrics:", codes + "metrics:", 1)
    scheme = parse_scheme(text)
    assert scheme.inputs.contacts.values["channel"] == {"01": "call", "010": "sms", "2": "visit"}


def test_a_value_key_with_spaces_around_it_is_an_error() -> None:
    text = GOOD.replace("metrics:", "inputs:\n  contacts:\n    values:\n      channel: {' 8': call}\nmetrics:", 1)
    with pytest.raises(SchemeError, match=r"inputs.contacts.values: channel: key ' 8' has spaces around it"):
        parse_scheme(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "missing: zero\n", "s.yaml:13: not valid YAML: the key 'missing' is given twice (lines 2 and 13)"),
        (
            GOOD.replace("  case_count:\n", "  recovery_rate:\n"),
            "s.yaml:7: not valid YAML: the key 'recovery_rate' is given twice (lines 4 and 7)",
        ),
    ],
)
def test_a_key_given_twice_is_an_error_not_the_last_one_silently(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_yaml_merge_keys_still_work() -> None:
    text = GOOD.replace(
        "    score: {method: range, floor: 0.1, ceiling: 0.5}\n",
        "    score: &range {method: range, floor: 0.1, ceiling: 0.5}\n",
    ).replace("    score: {method: percentile}\n", "    score: {<<: *range, ceiling: 0.6}\n")
    scheme = parse_scheme(text.replace("case_count", "settlement_rate"), "s.yaml")
    merged = scheme.metrics["settlement_rate"].score
    assert (merged.method, merged.floor, merged.ceiling) == ("range", 0.1, 0.6)  # merged, then overridden


def laughs(levels: int, fan_out: int = 9) -> str:
    """A scheme whose `values` hold nested aliases: level i holds fan_out aliases of level i − 1."""
    lines = ["      lol0: &l0 [" + ", ".join(["lol"] * fan_out) + "]"]
    for level in range(1, levels):
        lines.append(f"      lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fan_out) + "]")
    codes = "inputs:\n  cases:\n    values:\n      dpd_bucket:\n  " + "\n  ".join(lines) + "\n"
    return GOOD.replace("metrics:", codes + "metrics:", 1)


@pytest.mark.parametrize("loader", ["libyaml", "python"])
def test_an_alias_bomb_is_refused_at_the_line_where_it_grows_too_large(
    loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9 levels of 9 aliases would be 9^9 (387 million) values. Level i holds 1 + 9 + … + 9^(i+1)
    # nodes: lol4 66,430, lol5 597,871; lol5 is on line 12 (lol0 is on line 7).
    if loader == "python":
        monkeypatch.setattr(scheme_module, "_Loader", yaml.SafeLoader)
    message = error_of(laughs(9))
    assert message == (
        "s.yaml:12: inputs.cases.values.dpd_bucket.lol5: YAML aliases expand this to more than 100,000 values; "
        "write the values out instead"
    )


def test_aliases_that_stay_small_are_fine() -> None:
    # lol0..lol4: 1 + 10 + 91 + 820 + 7,381 + 66,430 nodes and a few more: under 100,000.
    scheme = parse_scheme(laughs(5), "s.yaml")
    assert len(scheme.inputs.cases.values["dpd_bucket"]["lol4"]) == 9


def test_an_alias_inside_the_node_it_names_is_refused() -> None:
    text = GOOD.replace("metrics:", "inputs:\n  cases:\n    constants: {product: &loop [1, *loop]}\nmetrics:", 1)
    assert error_of(text) == "s.yaml:5: an alias inside this node names the node itself (a loop with no end)"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("weight: 60", "weight: .nan"), "s.yaml:5: metrics.recovery_rate.weight: Input should be a finite number"),
        (("weight: 60", "weight: 'NaN'"), "s.yaml:5: metrics.recovery_rate.weight: Input should be a finite number"),
        (("floor: 0.1", "floor: -.inf"), "s.yaml:6: metrics.recovery_rate.score.floor: Input should be a finite"),
        (("ceiling: 0.5", "ceiling: .Inf"), "s.yaml:6: metrics.recovery_rate.score.ceiling: Input should be a finite"),
        (("{method: percentile}", "{method: target, target: inf}"), "s.yaml:9: metrics.case_count.score.target: Inpu"),
        (("min: 80", "min: .nan"), "s.yaml:11: grades[0].min: Input should be a finite number"),
        (("name: test", "name: test\nparams: {followup_hours: .inf}"), "s.yaml:2: params.followup_hours: Input sh"),
        (
            ("{method: percentile}", "{method: percentile}\n    shrink: {k: .nan}"),
            "s.yaml:10: metrics.case_count.shrink.k: K must be a finite number above 0, or auto (not nan)",
        ),
        (
            ("{method: percentile}", "{method: percentile}\n    shrink: {k: '-inf'}"),
            "s.yaml:10: metrics.case_count.shrink.k: K must be a finite number above 0, or auto (not '-inf')",
        ),
        (
            ("missing: reweight", "missing: reweight\ngates: [{metric: violations, above: .nan, action: zero_score}]"),
            "s.yaml:3: gates[0].above: Input should be a finite number",
        ),
        (
            ("missing: reweight", "missing: reweight\nbonus: {base: 100, by_grade: {A: 2, B: .inf}}"),
            "s.yaml:3: bonus.by_grade.B: Input should be a finite number",
        ),
        (
            ("missing: reweight", "missing: reweight\ninputs: {cases: {constants: {waived_amount: .nan}}}"),
            "s.yaml:3: inputs.cases.constants: waived_amount: nan is not a finite number",
        ),
        (
            ("missing: reweight", "missing: reweight\ninputs: {contacts: {values: {qa_score: {'-': -.inf}}}}"),
            "s.yaml:3: inputs.contacts.values: qa_score: - maps to -inf, not a finite number",
        ),
    ],
)
def test_nan_and_infinity_are_refused_wherever_a_number_is_taken(change: tuple[str, str], expected: str) -> None:
    message = error_of(GOOD.replace(*change))
    assert message.startswith(expected), message
    assert message.endswith(("a finite number", "or auto (not nan)", "or auto (not '-inf')"))


def test_a_weight_total_that_misses_100_shows_by_how_much() -> None:
    text = GOOD.replace("weight: 60", "weight: 59.99999")
    assert error_of(text) == "s.yaml:3: metrics: weights add up to 99.99999, not 100 (1e-05 short)"
    text = GOOD.replace("weight: 60", "weight: 60.0000001")
    assert error_of(text) == "s.yaml:3: metrics: weights add up to 100.0000001, not 100 (1e-07 over)"
    # Weights that add up to 100 exactly in decimals pass, whatever their binary rounding.
    three = GOOD.replace("weight: 60", "weight: 30.1").replace("weight: 40", "weight: 39.7")
    three = three.replace("metrics:\n", "metrics:\n  call_connect_rate: {weight: 30.2, score: {method: percentile}}\n")
    assert sum(r.weight for r in parse_scheme(three).metrics.values()) == pytest.approx(100)


def test_a_value_mapped_to_null_stays_null() -> None:
    codes = "inputs:\n  cases:\n    values:\n      collector_id: {'-': ~, 未知: null, x: X}\n"
    scheme = parse_scheme(GOOD.replace("metrics:", codes + "metrics:", 1))
    assert scheme.inputs.cases.values["collector_id"] == {"-": None, "未知": None, "x": "X"}


def test_missing_markers_are_texts_and_composite_columns_are_told_apart() -> None:
    inputs = """\
    inputs:
      contacts:
        columns: {坐席: collector_id, contact_id: [vru_line, call_id]}
        missing_values: {q_start: "0:00:00", server: [NO_SERVER, 0]}
        datetime_parts: {contacted_at: [date, [q_start, vru_entry]]}
    """
    spec = parse_scheme(GOOD + textwrap.dedent(inputs), "s.yaml").inputs.contacts
    assert spec.missing_values == {"q_start": ["0:00:00"], "server": ["NO_SERVER", "0"]}
    assert spec.renames() == {"坐席": "collector_id"}
    assert spec.composites() == {"contact_id": ["vru_line", "call_id"]}
    assert spec.datetime_parts["contacted_at"] == ("date", ["q_start", "vru_entry"])
    blank = GOOD + "inputs:\n  contacts: {missing_values: {q_start: [' 0:00:00']}}\n"
    assert "marker ' 0:00:00' is blank or has spaces around it" in error_of(blank)
    empty = GOOD + "inputs:\n  contacts: {missing_values: {q_start: [null]}}\n"
    assert "None is not a text to match" in error_of(empty)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            "inputs:\n  roster:\n    path: r.csv\n    formats: {active: '%Y'}\n",
            "s.yaml:4: inputs.roster.formats.active: active is not a date or datetime column, so it takes no "
            "format; roster has no date columns",
        ),
        (
            "inputs:\n  reviews:\n    columns:\n      foo: bar\n",
            "s.yaml:4: inputs.reviews.columns.foo: 'bar' is not a reviews column; reviews columns are collector_id, "
            "month, call_quality, knowledge, teamwork, violations",
        ),
        (
            "inputs:\n  contacts: {path: c.parquet, sheet: Calls}\n",
            "s.yaml:2: inputs.contacts.sheet: only an xlsx workbook has sheets, and c.parquet is read as parquet",
        ),
        (
            "inputs:\n  contacts: {path: c.csv, format: csv, constants: {qa_score: '-inf'}}\n",
            "s.yaml:2: inputs.contacts.constants.qa_score: '-inf' is not a finite number",
        ),
    ],
)
def test_every_input_is_checked_with_its_line_whatever_the_metrics_read(inputs: str, expected: str) -> None:
    assert error_of(inputs + GOOD) == expected


def test_a_sheet_is_taken_for_a_workbook_or_a_path_of_no_known_type() -> None:
    for spec in ("{path: c.xlsx, sheet: Calls}", "{path: 'exports/', sheet: Calls}", "{sheet: Calls}"):
        assert parse_scheme(f"inputs:\n  contacts: {spec}\n" + GOOD).inputs.contacts.sheet == "Calls"


@pytest.mark.parametrize(
    ("deep", "expected"),
    [
        ("[" * 5000 + "]" * 5000, "s.yaml:2: not valid YAML: exceeded maximum nesting depth"),  # libyaml's limit
        ("{a: " * 3000 + "1" + "}" * 3000, "s.yaml:2: nested more than 100 levels deep (a scheme needs a few)"),
        ("[" * 100 + "]" * 100, "s.yaml:2: nested more than 100 levels deep"),  # with the scheme's own mapping
        # block style: the line where the 101st level begins (the scheme's mapping is the first)
        ("\n" + "".join("  " * (n + 1) + f"k{n}:\n" for n in range(150)) + "  " * 151 + "v\n", "s.yaml:102: nested"),
    ],
)
def test_a_scheme_nested_too_deep_is_refused_with_its_line(deep: str, expected: str) -> None:
    assert error_of(f"name: deep\ngates: {deep}\n").startswith(expected)


def test_a_hundred_levels_are_taken() -> None:
    deep = "{a: " * 99 + "1" + "}" * 99
    with pytest.raises(SchemeError, match=r"s.yaml:3: gates: Input should be a valid list"):
        parse_scheme(f"name: deep\nmissing: reweight\ngates: {deep}\n" + GOOD.split("missing: reweight\n")[1], "s.yaml")
