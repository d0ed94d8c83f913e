"""Bonus, audit manifest, reproducibility and safe writing of outputs."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi import manifest as manifest_module
from collector_kpi.cli import app
from collector_kpi.errors import OutputError
from collector_kpi.manifest import _Stopped, sha256_file
from collector_kpi.render import to_csv, write_atomic
from tests.conftest import write_month, write_scheme
from tests.test_scoring import MIXED

ROOT = Path(__file__).parent.parent

BONUS = """\
bonus:
  base: 1000
  by_grade: {{A: 2, B: 1, C: 0.5, D: 0}}
  commission:
    basis: {basis}
    tiers:
      - {{upto: 1000, rate: 0.1}}
      - {{upto: 2000, rate: 0.2}}
      - {{rate: 0.3}}
"""


def bonuses(root: Path, body: str) -> dict[str, float]:
    scheme = load_scheme(write_scheme(root, body))
    card = score(scheme, load_month(scheme, "2025-03"))
    return dict(card.table("collector").select("collector_id", "bonus").iter_rows())


def test_bonus_marginal_tiers(tiny: Path) -> None:
    paid = bonuses(tiny, MIXED + BONUS.format(basis="marginal"))
    # A: grade A → 2 × 1000, plus 10 % of 1000 + 20 % of 1000 + 30 % of 1100 on 3100 recovered
    assert paid["A"] == pytest.approx(2000 + 100 + 200 + 330)
    # B: grade capped at D by the violation gate → 0 × base, commission 10 % of 1000
    assert paid["B"] == pytest.approx(100)
    # C: grade C → 500, commission 10 % of 1000; D is not eligible
    assert paid["C"] == pytest.approx(600)
    assert paid["D"] == 0


def test_bonus_whole_tier_and_cancelling_gate(tiny: Path) -> None:
    body = MIXED.replace("grade: D}", "grade: D, cancel_bonus: true}") + BONUS.format(basis="whole")
    paid = bonuses(tiny, body)
    assert paid["A"] == pytest.approx(2000 + 0.3 * 3100)
    assert paid["C"] == pytest.approx(500 + 0.1 * 1000)  # `upto` is inclusive
    assert paid["B"] == 0  # the violation gate cancels the bonus


def test_bonus_needs_every_grade(tiny: Path) -> None:
    from collector_kpi.errors import SchemeError

    with pytest.raises(SchemeError, match=r"bonus.by_grade: no multiplier for grade\(s\) D"):
        load_scheme(write_scheme(tiny, MIXED + "bonus: {base: 1, by_grade: {A: 1, B: 1, C: 1}}\n"))


def run_score(*args: str) -> str:
    result = CliRunner().invoke(app, ["score", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("size", [0, 1, (1 << 17) - 1, 1 << 17, (1 << 17) * 3 + 5])
def test_file_hashes_span_the_read_chunks(tmp_path: Path, size: int) -> None:
    payload = random.Random(size).randbytes(size)
    path = tmp_path / "export.csv"
    path.write_bytes(payload)
    assert sha256_file(path) == hashlib.sha256(payload).hexdigest()


def test_stopped_hashing_ends_early(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"x" * (1 << 18))
    stop = threading.Event()
    stop.set()
    with pytest.raises(_Stopped):
        sha256_file(path, stop)


def test_manifest_hashes_files_named_on_the_command_line(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Named as a relative "./" path, a folder and a glob: each hashed once, under its listed path.
    scheme = write_scheme(tiny, MIXED, inputs=False)
    (tiny / "reviews").mkdir()
    (tiny / "2025-03" / "reviews.csv").rename(tiny / "reviews" / "reviews.csv")
    monkeypatch.chdir(tiny)
    hashed: list[str] = []
    original = manifest_module.sha256_file

    def counted(path: str | Path, stop: threading.Event | None = None) -> str:
        hashed.append(str(path))
        return original(path, stop)

    monkeypatch.setattr(manifest_module, "sha256_file", counted)
    run_score(
        "-m", "2025-03", "-c", str(scheme), "-f", "csv", "-o", "card.csv",
        "--cases", "./2025-03/cases.csv", "--contacts", "2025-03/contact*.csv",
        "--reviews", "reviews", "--roster", str(tiny / "2025-03" / "roster.csv"),
    )  # fmt: skip
    manifest = json.loads((tiny / "card.csv.manifest.json").read_text())
    listed = {e["table"]: e for e in manifest["inputs"]}
    assert set(listed) == {"cases", "contacts", "reviews", "roster"}
    for entry in listed.values():
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
    # The scheme file's bytes are hashed too, once.
    assert manifest["scheme"]["file_sha256"] == hashlib.sha256(scheme.read_bytes()).hexdigest()
    assert sorted(hashed) == sorted([*(e["path"] for e in listed.values()), str(scheme)])


class _Recorded:
    """Stands in for the forked hashing: which files it was given."""

    started: ClassVar[list[list[str]]] = []

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.started.append(files)

    def get(self, file: str) -> str | None:
        return None

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("argv", "begun"),
    [
        (["score", "--cases", "a.csv", "--contacts=b.csv", "-o", "card.csv"], ["a.csv", "b.csv"]),
        (["score", "--roster", "./a.csv", "--manifest", "m.json"], ["a.csv"]),  # as the reading names it
        (["score", "--cases", "a.csv", "--reviews", "missing.csv", "--roster", "*.csv", "-o", "x"], ["a.csv"]),
        (["score", "--cases", "a.csv"], None),  # no manifest is written
        (["score", "--cases", "a.csv", "--output", "-"], None),  # stdout
        (["validate", "--cases", "a.csv", "-o", "x"], None),
        ([], None),
    ],
)
def test_a_score_command_line_begins_hashing_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], begun: list[str] | None
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x")
    monkeypatch.setattr(manifest_module, "_Forked", _Recorded)
    monkeypatch.setattr(manifest_module.threading, "active_count", lambda: 1)
    _Recorded.started = []
    manifest_module.hash_from_argv(argv)
    early = manifest_module.take_early()
    assert manifest_module.take_early() is None  # taken once
    if begun is None:
        assert early is None and _Recorded.started == []
        return
    assert early is not None and _Recorded.started == [begun]
    early.close()


def test_the_files_named_are_hashed_by_a_child_begun_first(tmp_path: Path) -> None:
    """Forked before the imports (in a process of one thread): the right digests, whatever
    the order they are asked in, a path named twice, one the child's /dev/stdin would not
    name, a file it cannot open left to the parent, and no child left behind."""
    files = [tmp_path / "a.csv", tmp_path / "b.parquet", tmp_path / "stdin.csv"]
    for index, path in enumerate(files):
        path.write_bytes(random.Random(index).randbytes((1 << 17) * 3 + index))
    a, b, gone = str(files[0]), str(files[1]), str(tmp_path / "gone.csv")
    code = f"""
import os
from collector_kpi import manifest
forked = manifest._Forked([{a!r}, "/dev/stdin", {gone!r}, {b!r}, {a!r}])
print(forked.get({b!r}), forked.get({a!r}), forked.get("/dev/stdin"), forked.get({gone!r}))
forked.close()
try:
    os.waitpid(-1, os.WNOHANG)
    print("a-child-is-left")
except ChildProcessError:
    print("no-child")
"""
    with files[2].open("rb") as stdin:
        child = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, stdin=stdin, capture_output=True, text=True, timeout=60
        )
    assert child.returncode == 0, child.stderr
    expected = [hashlib.sha256(files[i].read_bytes()).hexdigest() for i in (1, 0, 2)]
    assert child.stdout.split() == [*expected, "None", "no-child"]


def test_without_a_child_process_the_files_are_hashed_by_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"rows")

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(manifest_module.os, "fork", no_fork)
    monkeypatch.setattr(manifest_module.threading, "active_count", lambda: 1)
    open_before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    manifest_module.hash_from_argv(["score", "--cases", str(path), "-o", str(tmp_path / "card.csv")])
    early = manifest_module.take_early()
    assert early is not None and early._forked is None
    assert early.get(str(path)) == hashlib.sha256(b"rows").hexdigest()
    early.close()
    if open_before is not None:  # the files and the pipe opened for the child are closed
        assert len(os.listdir("/proc/self/fd")) == open_before


def test_the_kpi_command_lists_the_digests_of_the_files_it_names(tmp_path: Path) -> None:
    out = tmp_path / "card.csv"
    month = ROOT / "sample_data" / "2025-03"
    named = {"cases": month / "cases.csv", "contacts": month / "contacts.parquet"}
    options = [arg for table, path in named.items() for arg in (f"--{table}", str(path))]
    command = [sys.executable, "-m", "collector_kpi", "score", "-m", "2025-03", *options, "-f", "csv", "-o", str(out)]
    child = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=120)
    assert child.returncode == 0, child.stderr.decode()
    inputs = json.loads((tmp_path / "card.csv.manifest.json").read_text())["inputs"]
    assert {e["table"] for e in inputs} == {"cases", "contacts", "reviews", "roster"}
    for entry in inputs:
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()


def test_the_child_stops_when_its_parent_is_gone() -> None:
    assert not manifest_module._ParentGone(os.getppid()).is_set()
    assert manifest_module._ParentGone(os.getppid() + 1).is_set()


def test_manifest_hashes_and_reconciliation(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    out = tiny / "card.csv"
    run_score("-m", "2025-03", "-c", str(scheme), "-f", "csv", "-o", str(out))
    manifest = json.loads((tiny / "card.csv.manifest.json").read_text())
    for entry in manifest["inputs"]:
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
        assert entry["size"] == Path(entry["path"]).stat().st_size
    assert {e["table"] for e in manifest["inputs"]} == {"cases", "contacts", "reviews", "roster"}
    assert manifest["outputs"][0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["reconciliation"]["inputs"] == {"recovered": 5100.0, "overdue": 17000.0, "case_rows": 12}
    assert manifest["reconciliation"]["difference"] == 0
    assert manifest["rows"]["contacts"]["other_month"] == 1
    assert manifest["scheme"]["resolved"]["missing"] == "reweight"
    assert manifest["scheme"]["resolved"]["params"]["sla_days"] == 30  # defaults are filled in

    cases = tiny / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text().replace("c1,C,Cy,T2,2025-03-01,1000,1000,", "c1,C,Cy,T2,2025-03-01,1000,900,"))
    run_score("-m", "2025-03", "-c", str(scheme), "-f", "csv", "-o", str(out))
    changed = json.loads((tiny / "card.csv.manifest.json").read_text())
    before = {e["table"]: e["sha256"] for e in manifest["inputs"]}
    after = {e["table"]: e["sha256"] for e in changed["inputs"]}
    assert before["cases"] != after["cases"] and before["contacts"] == after["contacts"]
    assert changed["reconciliation"]["inputs"]["recovered"] == 5000.0


def test_manifest_lists_the_rejects_file_too(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    out, rejects = tiny / "card.csv", tiny / "rejects.csv"
    run_score("-m", "2025-03", "-c", str(scheme), "-o", str(out), "--rejects", str(rejects))
    manifest = json.loads((tiny / "card.csv.manifest.json").read_text())
    listed = {e["path"]: e["sha256"] for e in manifest["outputs"]}
    assert listed == {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (out, rejects)}


def test_manifest_path_option(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    target = tiny / "audit.json"
    run_score("-m", "2025-03", "-c", str(scheme), "-f", "json", "--manifest", str(target))
    assert json.loads(target.read_text())["outputs"] == []


def _shuffled_copy(source: Path, target: Path, seed: int) -> None:
    """The sample month with every table's rows shuffled, contacts split over two files."""
    target.mkdir(parents=True)
    rng = random.Random(seed)
    for name in ("cases.csv", "reviews.csv", "roster.csv"):
        header, *rows = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)
        rng.shuffle(rows)
        (target / name).write_text(header + "".join(rows), encoding="utf-8")
    contacts = pl.read_parquet(source / "contacts.parquet")
    order = list(range(contacts.height))
    rng.shuffle(order)
    shuffled = contacts[order]
    (target / "contacts").mkdir()
    half = shuffled.height // 2
    shuffled[:half].write_parquet(target / "contacts" / "part-b.parquet")
    shuffled[half:].write_parquet(target / "contacts" / "part-a.parquet")


def test_shuffled_inputs_give_byte_identical_outputs(tmp_path: Path) -> None:
    sample = ROOT / "sample_data" / "2025-03"
    outputs = []
    for seed in (1, 2):
        folder = tmp_path / f"copy{seed}"
        _shuffled_copy(sample, folder, seed)
        out = tmp_path / f"card{seed}.csv"
        run_score(
            "-m", "2025-03", "-c", str(ROOT / "configs" / "default.yaml"), "-f", "csv", "-o", str(out),
            "--cases", str(folder / "cases.csv"), "--contacts", str(folder / "contacts"),
            "--reviews", str(folder / "reviews.csv"), "--roster", str(folder / "roster.csv"),
        )  # fmt: skip
        outputs.append(out.read_bytes())
    canonical = run_score("-m", "2025-03", "-c", str(ROOT / "configs" / "default.yaml"), "-f", "csv")
    assert outputs[0] == outputs[1] == codecs.BOM_UTF8 + canonical.encode("utf-8")


def test_interrupted_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "card.csv"
    target.write_text("the previous, complete scorecard\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"half of a new one")
    assert target.read_text() == "the previous, complete scorecard\n"
    assert [p.name for p in tmp_path.iterdir()] == ["card.csv"]


@pytest.mark.parametrize("failing", ["open", "fsync", "replace"])
def test_a_write_the_system_refuses_is_our_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, failing, refused)
    with pytest.raises(OutputError, match=r"card.csv: cannot write \(Permission denied\)"):
        write_atomic(tmp_path / "card.csv", b"rows")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["metrics"], ["metrics", "-f", "json"], ["score", "-m", "2025-03", "-f", "csv"]])
def test_a_closed_pipe_stops_quietly(args: list[str]) -> None:
    """`kpi … | head`: no error message, the shell's code for SIGPIPE (128 + 13)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "collector_kpi", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first byte
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141
    assert "Error" not in err and "Traceback" not in err


def test_a_run_removes_its_transcoded_copies(tmp_path: Path) -> None:
    """The GBK sample is read through UTF-8 copies in a scratch folder, gone at exit."""
    child = subprocess.run(
        [sys.executable, "-m", "collector_kpi", "score", "-m", "2025-03", "-c", "configs/zh-export.yaml", "-f", "csv"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr.decode()
    assert child.stdout.decode("utf-8").count("\n") > 5
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("closed", ["2>&-", ">&-"])
def test_a_closed_stream_is_no_error(tmp_path: Path, closed: str) -> None:
    """Run from cron with stderr (or stdout) closed: the files are written, exit 0."""
    out = tmp_path / "card.csv"
    command = f"'{sys.executable}' -m collector_kpi score -m 2025-03 -f csv -o '{out}' {closed}"
    child = subprocess.run(["sh", "-c", command], cwd=ROOT, capture_output=True, timeout=120)
    assert child.returncode == 0, child.stderr.decode()
    assert out.read_text(encoding="utf-8-sig").count("\n") > 5
    assert (tmp_path / "card.csv.manifest.json").is_file()


def test_csv_neutralises_formulas_but_not_numbers() -> None:
    frame = pl.DataFrame({"name": ["=SUM(A1)", "+1", "-x", "@here", "plain"], "score": [-1.5, 2.0, 3.0, 4.0, 5.0]})
    text = to_csv(frame).decode()
    assert text.splitlines() == [
        "name,score",
        "'=SUM(A1),-1.5",
        "'+1,2.0",
        "'-x,3.0",
        "'@here,4.0",
        "plain,5.0",
    ]


def test_a_change_that_rounds_to_zero_has_no_sign() -> None:
    from collector_kpi.render import _signed

    assert [_signed(v) for v in (-0.04, 0.0, -0.0, 0.04, 1.25, -2.0, None)] == [
        "0.0",
        "0.0",
        "0.0",
        "0.0",
        "+1.2",
        "-2.0",
        "—",
    ]


TRAILING = MIXED.replace(
    "recovery_rate: {weight: 40, score: {method: range, floor: 0.1, ceiling: 0.5}}",
    "recovery_rate:\n    weight: 40\n    score: {method: range, floor: 0.1, ceiling: 0.5}\n"
    "    adjust: {segments: [dpd_bucket], reference: trailing, months: 1}",
)


@pytest.mark.parametrize(
    ("body", "options", "role"),
    [(MIXED, ["--compare", "2025-02"], "compare"), (TRAILING, [], "trailing")],
)
def test_files_of_another_month_are_listed_and_never_written_over(
    tiny: Path, body: str, options: list[str], role: str
) -> None:
    write_month(tiny, "2025-02")
    scheme = write_scheme(tiny, body)
    assert ("reference: trailing" in scheme.read_text()) == (role == "trailing")
    earlier = tiny / "2025-02" / "cases.csv"
    before = earlier.read_bytes()
    args = ["score", "-m", "2025-03", "-c", str(scheme), *options]
    refused = CliRunner().invoke(app, [*args, "-f", "csv", "-o", str(earlier)])
    assert refused.exit_code == 2
    assert f"--output {earlier}: refusing to overwrite an input file" in refused.stderr
    assert earlier.read_bytes() == before
    run_score(*args[1:], "-o", str(tiny / "card.csv"))
    references = json.loads((tiny / "card.csv.manifest.json").read_text())["references"]
    listed = {Path(e["path"]).resolve(): e for e in references}
    assert earlier.resolve() in listed
    for entry in references:
        assert (entry["role"], entry["month"]) == (role, "2025-02")
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
    assert {e["table"] for e in references} == {"cases", "contacts", "reviews", "roster"}


def test_a_manifest_only_run_lists_no_references(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    target = tiny / "audit.json"
    run_score("-m", "2025-03", "-c", str(scheme), "-f", "json", "--manifest", str(target))
    record = json.loads(target.read_text())
    assert record["references"] == []
    assert record["scheme"]["file_sha256"] == hashlib.sha256(scheme.read_bytes()).hexdigest()


def test_a_manifest_asked_elsewhere_removes_the_one_beside_the_output(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    out, usual, asked = tiny / "card.csv", tiny / "card.csv.manifest.json", tiny / "audit.json"
    run_score("-m", "2025-03", "-c", str(scheme), "-o", str(out))
    assert usual.is_file()
    run_score("-m", "2025-03", "-c", str(scheme), "-o", str(out), "--top", "1", "--manifest", str(asked))
    assert not usual.exists()  # it described the card before this one
    assert json.loads(asked.read_text())["outputs"][0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_score_removes_what_a_killed_run_left_beside_its_output(tiny: Path) -> None:
    scheme = write_scheme(tiny, MIXED)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    for name in (
        f".card.csv.kpi-tmp-{ended.pid}",
        f".card.csv.manifest.json.kpi-tmp-{ended.pid}",
        ".card.csv.kpi-lock",
    ):
        (tiny / name).write_bytes(b"half of a scorecard")
    run_score("-m", "2025-03", "-c", str(scheme), "-o", str(tiny / "card.csv"))
    assert sorted(p.name for p in tiny.iterdir()) == ["2025-03", "card.csv", "card.csv.manifest.json", "scheme.yaml"]
