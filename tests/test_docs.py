"""The README stays true: generated sections match the code, shown commands run."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from collector_kpi.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_metric_catalog_in_readme_is_generated() -> None:
    result = CliRunner().invoke(app, ["metrics", "--format", "markdown", "--lang", "en"])
    block = re.search(r"<!-- metrics:start -->\n(.*?)<!-- metrics:end -->", README, re.S)
    assert block is not None
    assert block.group(1) == result.stdout


def test_readme_documents_every_scheme_key() -> None:
    from collector_kpi.scheme import Eligibility, InputSpec, Params, Scheme

    for model, prefix in (
        (Scheme, ""),
        (Params, "params."),
        (Eligibility, "eligibility."),
        (InputSpec, "inputs.<table>."),
    ):
        for name in model.model_fields:
            if name == "base_dir":
                continue
            assert f"`{prefix}{name}" in README, f"{prefix}{name}"


def test_readme_explain_session_is_real_output() -> None:
    import os

    block = re.search(r"```text\n\$ kpi (explain [^\n]*)\n(.*?)```", README, re.S)
    assert block is not None
    root = Path(__file__).parent.parent
    cwd = os.getcwd()
    try:
        os.chdir(root)  # the README runs from the repository root
        result = CliRunner().invoke(app, block.group(1).split())
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    # a table pads its lines with blanks, which the README does not keep
    assert block.group(2) == "".join(line.rstrip() + "\n" for line in result.stdout.splitlines())
