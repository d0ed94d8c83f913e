"""Output files: written whole, one run at a time, with a manifest that always describes them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector_kpi.errors import OutputError
from collector_kpi.writing import OutputSet, lock_path, locked, temp_path, write_atomic

ROOT = Path(__file__).parent.parent


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_write_leaves_the_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "card.csv"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["card.csv"]  # no temporary file, no lock file


def test_the_temporary_file_is_named_after_the_file_and_the_process(tmp_path: Path) -> None:
    assert temp_path(tmp_path / "card.csv") == tmp_path / f".card.csv.kpi-tmp-{os.getpid()}"
    assert lock_path(tmp_path / "card.csv") == tmp_path / ".card.csv.kpi-lock"


def test_a_killed_run_leaves_no_partial_file_and_the_next_removes_what_it_left(tmp_path: Path) -> None:
    target = tmp_path / "card.csv"
    ready = tmp_path / "writing"
    code = f"""
import os, time
from pathlib import Path
from collector_kpi import writing
os.fsync = lambda fd: (Path({str(ready)!r}).touch(), time.sleep(60))
writing.write_atomic(Path({str(target)!r}), b"x" * 10_000_000)
"""
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
    ready.unlink()
    assert not target.exists()  # only the temporary file, never the final name
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".card.csv.kpi-lock", f".card.csv.kpi-tmp-{child.pid}"]  # the killed run's
    write_atomic(target, b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.csv"]
    assert target.read_bytes() == b"whole"


def test_temporary_files_of_ended_runs_go_and_of_live_ones_stay(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".other.csv.kpi-tmp-{dead}").write_bytes(b"left by a killed run")
    (tmp_path / f".other.csv.kpi-tmp-{alive}").write_bytes(b"being written")
    (tmp_path / ".notes.kpi-tmp-draft").write_bytes(b"not ours: no pid")
    write_atomic(tmp_path / "card.csv", b"rows")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".notes.kpi-tmp-draft",
        f".other.csv.kpi-tmp-{alive}",
        "card.csv",
    ]


def test_an_input_is_never_written_over(tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    source.write_bytes(b"the export")
    with pytest.raises(OutputError, match="refusing to overwrite an input file"):
        write_atomic(tmp_path / "." / "cases.csv", b"a scorecard", protected=[str(source)])
    assert source.read_bytes() == b"the export"


def test_a_lock_is_held_again_by_its_own_process(tmp_path: Path) -> None:
    target = tmp_path / "card.csv"
    with locked([target]), locked([target, tmp_path / "other.csv"]):
        write_atomic(target, b"rows")  # would wait on itself if the lock were taken twice
        assert lock_path(target).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.csv"]


def test_a_second_process_waits_for_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "card.csv"
    code = f"""
import time
from pathlib import Path
from collector_kpi.writing import locked
started = time.monotonic()
with locked([Path({str(target)!r})], on_wait=lambda t: print("waiting", flush=True)):
    print(round(time.monotonic() - started, 1))
"""
    with locked([target]):
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline() == "waiting\n"
        time.sleep(0.5)
    waited = float(child.stdout.readline())
    assert child.wait(timeout=30) == 0
    assert waited >= 0.5


def test_the_old_manifest_goes_before_the_first_file_is_replaced(tmp_path: Path) -> None:
    card, rejects, manifest = tmp_path / "card.csv", tmp_path / "rejects.csv", tmp_path / "card.csv.manifest.json"
    card.write_bytes(b"old card")
    manifest.write_bytes(b"describes the old card")
    with OutputSet([card, rejects], manifest) as unit:
        assert manifest.read_bytes() == b"describes the old card"  # nothing written yet: kept
        unit.write(rejects, b"new rejects")
        assert not manifest.exists()
        assert card.read_bytes() == b"old card"
        unit.write(card, b"new card")
        unit.write_manifest(b"describes the new card")
    assert manifest.read_bytes() == b"describes the new card"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.csv", "card.csv.manifest.json", "rejects.csv"]


def test_a_run_stopped_before_writing_keeps_the_old_pair(tmp_path: Path) -> None:
    card, manifest = tmp_path / "card.csv", tmp_path / "card.csv.manifest.json"
    card.write_bytes(b"old card")
    manifest.write_bytes(b"describes the old card")
    with pytest.raises(RuntimeError), OutputSet([card], manifest):
        raise RuntimeError("--strict: a row was rejected")
    assert (card.read_bytes(), manifest.read_bytes()) == (b"old card", b"describes the old card")


def test_a_manifest_under_another_name_and_the_inputs_are_handled(tmp_path: Path) -> None:
    card, usual, asked = tmp_path / "card.csv", tmp_path / "card.csv.manifest.json", tmp_path / "audit.json"
    usual.write_bytes(b"describes an older card")
    with OutputSet([card], asked, stale=[usual]) as unit:
        unit.write(card, b"card")
        unit.write_manifest(b"manifest")
    assert not usual.exists() and asked.read_bytes() == b"manifest"
    # A stale name that is an input is left alone.
    usual.write_bytes(b"an input")
    with OutputSet([card], asked, protected=[str(usual)], stale=[usual]) as unit:
        unit.write(card, b"card")
    assert usual.read_bytes() == b"an input"


WRITER = """
import hashlib, json, random, sys, time
from pathlib import Path
from collector_kpi.writing import OutputSet
folder, name, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
card, manifest = folder / "card.csv", folder / "card.csv.manifest.json"
for n in range(rounds):
    payload = f"{name} {n}\\n".encode() * random.randint(1, 2000)
    with OutputSet([card], manifest) as unit:
        unit.write(card, payload)
        time.sleep(random.random() / 500)
        unit.write_manifest(json.dumps({"sha256": hashlib.sha256(payload).hexdigest()}).encode())
"""


def test_two_runs_writing_one_path_never_leave_a_card_beside_another_manifest(tmp_path: Path) -> None:
    """Two processes write card.csv and its manifest over and over; a third, taking no lock,
    reads the manifest, the card, the manifest again: if the manifest did not change, it
    describes the card read."""
    card, manifest = tmp_path / "card.csv", tmp_path / "card.csv.manifest.json"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name, "150"], cwd=ROOT) for name in "AB"]
    checked = 0
    try:
        while any(w.poll() is None for w in writers):
            try:
                before = manifest.read_bytes()
                body = card.read_bytes()
                after = manifest.read_bytes()
            except FileNotFoundError:
                continue
            if before == after:
                assert json.loads(before)["sha256"] == hashlib.sha256(body).hexdigest()
                checked += 1
    finally:
        for writer in writers:
            writer.wait(timeout=120)
    assert [w.returncode for w in writers] == [0, 0]
    assert checked > 0
    assert json.loads(manifest.read_bytes())["sha256"] == hashlib.sha256(card.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.csv", "card.csv.manifest.json"]
