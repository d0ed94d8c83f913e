"""A corpus of bad inputs: each exits with its code and a clear message, never a traceback.

Every folder under ``tests/corpus/`` is one case. Its ``expect.yaml`` says how to build
the inputs in a fresh ``{root}`` and what ``kpi`` must answer:

    about: what is wrong, in one line
    month: true            # write the tiny 2025-03 month of conftest.py into {root} (default)
    scheme: tiny           # scheme body written to {root}/scheme.yaml: tiny, wide or none
    scheme_text: |         # … or a scheme body of its own (the tiny month's inputs are prepended)
    edit:                  # exact text edits of the written files (the text must be there)
      - {file: 2025-03/cases.csv, old: "…", new: "…"}
    make:                  # generated files: empty, text, bytes, png, copy, gzip, encode, xlsx, parquet, link
      - {file: 2025-03/cases.csv, kind: png}
    args: [score, -m, 2025-03, -c, "{scheme}"]   # {root} and {scheme} are filled in
    exit: 2
    words: ["…"]           # must all appear on stderr
    out_words: ["…"]       # must all appear on stdout
    summary_first: true    # the row-accounting line comes before the error (--strict, --rejects)
    same_as_clean: true    # exit 0 and stdout byte-identical to the same args on the clean month
    clean_edit: [...]      # … where the clean month is the tiny month with these edits (the expected numbers)

Other files in the folder are copied into ``{root}`` before the edits. For exit 2 stdout
is empty and stderr ends with exactly one line starting ``Error: `` (and is only that line
unless ``summary_first``).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from collector_kpi.cli import app
from tests.conftest import GRADES, INPUTS, TINY_SCHEME, write_month

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.yaml").is_file())

BODIES = {
    # recovery_rate needs the case amounts, call_connect_rate the contacts' channel and outcome.
    "tiny": TINY_SCHEME,
    # Reads dates, ptp, qa_score and the reviews as well, so their bad values are rejected.
    "wide": """\
name: wide
missing: reweight
metrics:
  recovery_rate: {weight: 20, score: {method: range, floor: 0.1, ceiling: 0.5}}
  handling_days: {weight: 20, score: {method: range, floor: 60, ceiling: 10}}
  settlement_rate: {weight: 10, score: {method: percentile}}
  call_connect_rate: {weight: 20, score: {method: percentile}}
  ptp_rate: {weight: 10, score: {method: band, low: 0.3, high: 0.6, falloff: 0.3}}
  call_quality: {weight: 10, score: {method: range, floor: 50, ceiling: 100}}
  knowledge: {weight: 10, score: {method: target, target: 90}}
gates:
  - {metric: violations, above: 0, action: cap_grade, grade: C}
""",
}

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def _make(root: Path, spec: dict[str, Any]) -> None:
    target = root / spec["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    kind = spec["kind"]
    source = root / spec["from"] if "from" in spec else None
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "text":
        target.write_bytes(spec["text"].encode(spec.get("encoding", "utf-8")))
    elif kind == "bytes":
        target.write_bytes(bytes.fromhex(spec["hex"]))
    elif kind == "png":
        target.write_bytes(PNG)
    elif kind == "copy":
        assert source is not None
        shutil.copyfile(source, target)
    elif kind == "gzip":
        assert source is not None
        target.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
    elif kind == "encode":
        assert source is not None
        text = source.read_text(encoding="utf-8")
        for old, new in spec.get("replace", {}).items():
            text = text.replace(old, new)
        target.write_bytes(text.encode(spec["encoding"]))
    elif kind == "xlsx":
        assert source is not None
        pl.read_csv(source, infer_schema=False).write_excel(target, worksheet=spec.get("sheet", "Sheet1"))
    elif kind == "parquet":
        assert source is not None
        pl.read_csv(source, infer_schema=False).write_parquet(target)
    elif kind == "link":  # a symbolic link to `to`, as written (relative to the link's folder)
        target.symlink_to(spec["to"])
    else:  # pragma: no cover - a typo in a corpus file
        raise AssertionError(f"unknown make kind {kind!r}")


def _edit(root: Path, case: str, changes: list[dict[str, str]]) -> None:
    for change in changes:
        path = root / change["file"]
        text = path.read_text(encoding="utf-8")
        assert change["old"] in text, f"{case}: {change['old']!r} is not in {change['file']}"
        path.write_text(text.replace(change["old"], change["new"], 1), encoding="utf-8")


def build(case: str, root: Path, clean: bool = False) -> dict[str, Any]:
    """Write the case's inputs into ``root``; return its expectations.

    With ``clean`` only the month and the scheme are written, with the case's ``clean_edit``:
    the month whose numbers an odd but usable input must give.
    """
    folder = CORPUS / case
    expect: dict[str, Any] = yaml.safe_load((folder / "expect.yaml").read_text(encoding="utf-8"))
    if expect.get("month", True):
        write_month(root)
    if "scheme_text" in expect:
        text = expect["scheme_text"]
        own_inputs = any(line.startswith("inputs:") for line in text.splitlines())
        (root / "scheme.yaml").write_text(("" if own_inputs else INPUTS) + text, encoding="utf-8")
    elif expect.get("scheme", "tiny") != "none":
        (root / "scheme.yaml").write_text(INPUTS + BODIES[expect.get("scheme", "tiny")] + GRADES, encoding="utf-8")
    if clean:
        _edit(root, case, expect.get("clean_edit", []))
        return expect
    for item in folder.rglob("*"):
        if item.is_file() and item.name != "expect.yaml":
            destination = root / item.relative_to(folder)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, destination)
    for spec in expect.get("make", []):
        _make(root, spec)
    _edit(root, case, expect.get("edit", []))
    return expect


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "case"
    root.mkdir()
    expect = build(case, root)
    monkeypatch.delenv("KPI_CONFIG", raising=False)
    monkeypatch.chdir(root)  # nothing is found by accident in the repository's folders
    result = _invoke(expect["args"], root)
    out, err = result.stdout, result.stderr
    assert "Traceback" not in out + err
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == expect["exit"], err or out
    for word in expect.get("words", []):
        assert str(word).format(root=root) in err, (word, err)
    for word in expect.get("out_words", []):
        assert str(word).format(root=root) in out, (word, out)
    if expect["exit"] == 2:
        assert out == ""
        lines = err.splitlines()
        assert lines, "no message"
        assert [line for line in lines if line.startswith("Error: ")] == [lines[-1]]
        if expect.get("summary_first"):
            assert lines[0].startswith("2025-03: ") and len(lines) == 2, err
        else:
            assert len(lines) == 1, err
    if expect.get("same_as_clean"):
        assert expect["exit"] == 0
        clean_root = tmp_path / "clean"
        clean_root.mkdir()
        build(case, clean_root, clean=True)
        monkeypatch.chdir(clean_root)
        clean = _invoke(expect["args"], clean_root)
        assert clean.exit_code == 0, clean.stderr
        assert out == clean.stdout


def _invoke(args: list[Any], root: Path) -> Any:
    filled = [str(a).format(root=root, scheme=root / "scheme.yaml") for a in args]
    return CliRunner().invoke(app, filled)
