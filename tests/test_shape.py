"""A CSV line with a field too many or too few must stop the run, never shift values."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector_kpi.cli import app
from collector_kpi.scheme import parse_scheme
from tests.conftest import write_scheme
from tests.test_scoring import MIXED


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # an unquoted thousands separator: 12 fields where the header has 11
        ("b1,B,Bo,T1,2025-03-01,4000,1000,", "b1,B,Bo,T1,2025-03-01,4,000,1000,", "line 6 has 12"),
        # a field lost: 10 fields
        ("c2,C,Cy,T2,2025-03-01,1000,0,0,,,M1", "c2,C,Cy,T2,2025-03-01,1000,0,0,,M1", "line 10 has 10"),
    ],
)
@pytest.mark.parametrize("command", ["score", "validate"])
def test_ragged_lines_are_an_error(tiny: Path, old: str, new: str, words: str, command: str) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    assert old in cases.read_text()
    cases.write_text(cases.read_text().replace(old, new))
    result = CliRunner().invoke(app, [command, "-m", "2025-03", "-c", str(write_scheme(tiny, MIXED))])
    assert result.exit_code == 2
    assert f"do not have the header's 11 fields ({words})" in result.stderr
    assert "Traceback" not in result.stderr


def test_quoted_separators_are_fine(tiny: Path) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text().replace("b1,B,Bo,T1", 'b1,B,"Bo, Jr.",T1'))
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(write_scheme(tiny, MIXED)), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    # the quoted comma is part of the name: B's numbers are those of the clean file
    assert "\n2,B,Bo,T1,25.95238095238095," in result.stdout


def test_value_map_keys_may_be_numbers_or_yes_no() -> None:
    text = """\
inputs:
  contacts:
    values:
      channel: {1: call, 2: sms, 3: visit}
      ptp: {yes: true, no: false}
missing: zero
metrics:
  call_connect_rate: {weight: 100, score: {method: percentile}}
grades: [{grade: A, min: 0}]
"""
    spec = parse_scheme(text).inputs.contacts
    assert spec.values["channel"] == {"1": "call", "2": "sms", "3": "visit"}
    assert spec.values["ptp"]["yes"] is True and spec.values["ptp"]["No"] is False
