"""`kpi init`'s scheme as YAML text: a proposal (collector_kpi.init) written for people.

Sure mappings are plain lines; doubtful ones, headers left unmapped and codes not known are
comments marked ``check:``. Paths are relative to the scheme's folder (where it reads them
from), with ``{month}`` for the month the folder is named after. The rest of the scheme —
params, eligibility, grades, team and bonus — is the default scheme's.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import InputError, OutputError
from .init import CANONICAL_CODES, DEFAULT_METRICS, FileProposal, Proposal, propose, what_is_missing
from .metrics import METRICS
from .scheme import TABLES

__all__ = ["scheme_text", "summary", "write_scheme"]

HEAD = """\
params:
  sla_days: 30          # 期内解决: a case settled within 30 days of assignment is on time
  followup_hours: 24    # 跟进记录: a contact logged within 24 hours is timely

missing: reweight       # a metric with no value has its weight re-spread (or `zero`)

eligibility:
  min_cases: 20         # fewer than 20 cases: listed, not ranked
  active_only: true
"""
VIOLATION_GATE = """
gates:
  - metric: violations  # 违规次数: any compliance violation caps the grade at C
    above: 0
    action: cap_grade
    grade: C
    reason: 违规 compliance violation
    cancel_bonus: true
"""
TAIL = """
grades:                 # 等级
  - {grade: A, min: 75}
  - {grade: B, min: 60}
  - {grade: C, min: 40}
  - {grade: D, min: 0}

team:
  method: pooled

bonus:                  # 奖金: base × grade multiplier + a tiered commission on the recovered amount
  base: 2000
  by_grade: {A: 1.5, B: 1.0, C: 0.5, D: 0}
  commission:
    basis: marginal
    tiers:
      - {upto: 100000, rate: 0.005}
      - {upto: 300000, rate: 0.010}
      - {rate: 0.015}
"""


_PLAIN = re.compile(r"[\w\u3400-\u9fff][\w\u3400-\u9fff .#/-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def _q(text: str) -> str:
    """``text`` as a YAML scalar: plain where that reads back as the same string, else quoted."""
    plain = _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and text == text.strip()
    if plain and not re.fullmatch(r"[-+0-9.eE_:]+", text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _path(file: str, month: str | None, base: Path) -> str:
    """The file as the scheme names it: relative to the scheme's folder, ``{month}`` for the month."""
    absolute = Path(file).resolve()
    relative = os.path.relpath(absolute, base.resolve())
    # NOTE: a path that climbs out of more than two folders reads better from the root.
    shown = str(absolute) if relative.startswith(os.path.join("..", "..", "..")) else relative
    return shown.replace(month, "{month}") if month else shown


def _inputs(proposal: FileProposal, month: str | None, base: Path) -> list[str]:
    name = Path(proposal.path).name
    sure = proposal.mapped()
    lines = [f"  {proposal.table}:", f"    path: {_q(_path(proposal.path, month, base))}"]
    if proposal.encoding and proposal.encoding not in ("utf-8", "utf-8-sig"):
        lines.append(f"    encoding: {proposal.encoding}")
    if proposal.separator and proposal.separator != ",":
        lines.append(f"    separator: {json.dumps(proposal.separator)}")
    columns: list[str] = []
    for m in proposal.matches:
        if m.column is None:
            columns.append(f"      # {_q(m.source)}:   # not mapped: no {proposal.table} column looks like it")
        elif not m.sure:
            columns.append(f"      # {_q(m.source)}: {m.column}   # check: a guess ({m.likeness:.2f} alike)")
        elif m.source != m.column:
            columns.append(f"      {_q(m.source)}: {m.column}")
    if columns:
        lines += ["    columns:", *columns]
    elif sure:
        lines.append(f"    # every header of {name} is a canonical column")
    if proposal.datetime_parts:
        lines.append("    datetime_parts:")
        lines += [f"      {c}: [{_q(d)}, {_q(t)}]" for c, (d, t) in proposal.datetime_parts.items()]
    if proposal.formats:
        lines.append("    formats:")
        lines += [f"      {c}: {json.dumps(f)}" for c, f in proposal.formats.items()]
    coded = sorted(set(proposal.values) | set(proposal.unknown_values))
    if coded:
        lines.append("    values:")
    for column in coded:
        lines.append(f"      {column}:")
        for key, value in proposal.values.get(column, {}).items():
            shown = str(value).lower() if isinstance(value, bool) else value
            lines.append(f"        {_q(key)}: {shown}")
        choices = ", ".join(CANONICAL_CODES.get(column, ("true", "false")))
        for key in proposal.unknown_values.get(column, []):
            lines.append(f"        # {_q(key)}: ?   # check: an unknown code; map it to one of {choices}")
    return lines


def scheme_text(proposal: Proposal, scheme_path: Path) -> str:
    """The proposed scheme as YAML, for a file at ``scheme_path`` (paths are relative to it)."""
    base = scheme_path.parent
    lines = [
        f"# Proposed by `kpi init {proposal.folder}` from the files found there. Check the lines",
        "# marked `check:` (doubtful guesses are comments), then read a month with",
        f"# `kpi validate --month {proposal.month or 'YYYY-MM'} --config {scheme_path.name}`.",
        "name: 催收考核 (kpi init)",
        "",
        "inputs:",
    ]
    for table in TABLES:
        if table in proposal.files:
            lines += _inputs(proposal.files[table], proposal.month, base)
    for file, why in proposal.set_aside:
        lines.append(f"  # not used: {Path(file).name}: {why}")
    lines += [
        "",
        HEAD.rstrip("\n"),
        "",
        "# The default scheme's metrics that these exports allow, weights rescaled to 100.",
    ]
    lines.append("metrics:")
    for metric_id, weight in proposal.metrics.items():
        rule = DEFAULT_METRICS[metric_id][1]
        lines += [f"  {metric_id}:  # {METRICS[metric_id].zh}", f"    weight: {weight:g}", f"    score: {rule}"]
    left_out = [m for m in DEFAULT_METRICS if m not in proposal.metrics]
    if left_out:
        lines.append(f"  # left out, the exports lack their columns: {', '.join(left_out)}")
    reviews = proposal.files.get("reviews")
    if reviews is not None and "violations" in reviews.columns():
        lines.append(VIOLATION_GATE.rstrip("\n"))
    lines.append(TAIL.rstrip("\n"))
    return "\n".join(lines) + "\n"


def write_scheme(folder: str | Path, output: str | Path) -> Proposal:
    """Propose a scheme for the exports in ``folder`` and write it to ``output`` (a new file)."""
    target = Path(output)
    if target.exists():
        raise OutputError(f"{target} already exists; kpi init never overwrites a file (give --output NEW.yaml)")
    proposal = propose(folder)
    if not proposal.metrics:
        why = "; ".join(what_is_missing(proposal.files))
        raise InputError(f"kpi init: the files in {folder} allow no metric of the default scheme ({why})")
    text = scheme_text(proposal, target)
    try:
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError as exc:
        raise OutputError(f"{target} already exists; kpi init never overwrites a file") from exc
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from exc
    return proposal


def summary(proposal: Proposal, output: str | Path) -> list[str]:
    """What was written, a line per table and per file left aside, and what to run next."""
    lines = [f"wrote {output}"]
    for table in TABLES:
        found = proposal.files.get(table)
        if found is None:
            lines.append(f"  {table}: no file found")
            continue
        sure = len(found.mapped()) + len(found.datetime_parts)
        doubtful = sum(1 for m in found.matches if m.column and not m.sure)
        unknown = sum(len(v) for v in found.unknown_values.values())
        line = f"  {table} <- {Path(found.path).name}: {sure} column(s) mapped"
        if doubtful or unknown:
            line += f", {doubtful + unknown} to check (commented `check:` lines)"
        lines.append(line)
    lines += [f"  not used: {Path(file).name}: {why}" for file, why in proposal.set_aside]
    lines.append(f"  metrics: {', '.join(f'{m} {w:g}' for m, w in proposal.metrics.items())}")
    lines.append(f"next: kpi validate --month {proposal.month or 'YYYY-MM'} --config {output}")
    return lines
