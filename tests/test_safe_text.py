"""What kpi prints cannot be turned against the reader: control characters from the data never
reach a terminal, Markdown cells stay cells, and stdout that cannot take the output is one
line of error, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector_kpi.cli import app
from collector_kpi.safe_text import MARK, markdown_cell, printable, printable_lines
from tests.conftest import GRADES, INPUTS, TINY_SCHEME, write_month

TITLE = "\x1b]0;pwned\x07"  # an xterm sequence that retitles the terminal


# ESC, BEL, NUL, line breaks, tab, backspace, DEL, C1 (NEL, CSI), bidi overrides, isolates, marks.
CONTROLS = "\x1b\x07\x00\n\r\t\x08\x7f\x85\x9b\u202e\u202a\u2066\u2069\u200e\u2028"


@pytest.mark.parametrize("control", list(CONTROLS))
def test_every_control_character_is_marked(control: str) -> None:
    assert printable(f"Ann{control}x") == f"Ann{MARK}x"


def test_ordinary_text_is_left_as_it_is() -> None:
    text = "李娜 Zoë O'Neil [b]bold[/b] 👩‍💻 <x> | 100%"  # the emoji holds a zero-width joiner
    assert printable(text) == text


def test_a_message_keeps_its_lines() -> None:
    assert printable_lines(f"first {TITLE}\nsecond\r") == f"first {MARK}]0;pwned{MARK}\nsecond{MARK}"


def test_a_markdown_cell_is_one_cell_of_text() -> None:
    assert markdown_cell("a|b") == "a\\|b"
    assert markdown_cell("a\\|b") == "a\\\\\\|b"  # a backslash cannot undo the escaped bar
    assert markdown_cell("<script>alert(1)</script>") == "&lt;script>alert(1)&lt;/script>"
    assert markdown_cell("R&D") == "R&amp;D"
    assert markdown_cell("two\nlines") == f"two{MARK}lines"


def _month(root: Path, name: str) -> Path:
    """The tiny month with collector A named ``name`` (in the cases and the roster); its scheme."""
    write_month(root)
    quoted = '"' + name.replace('"', '""') + '"'
    for table in ("cases", "roster"):
        path = root / "2025-03" / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("A,Ann,T1", f"A,{quoted},T1"), encoding="utf-8")
    scheme = root / "scheme.yaml"
    scheme.write_text(INPUTS + TINY_SCHEME + GRADES, encoding="utf-8")
    return scheme


def _invoke(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize(
    "args",
    [
        ["score", "-m", "2025-03"],
        ["score", "-m", "2025-03", "-f", "markdown"],
        ["explain", "-m", "2025-03", "A"],
        ["explain", "-m", "2025-03", "A", "-f", "markdown"],
    ],
)
def test_a_name_with_control_characters_is_shown_marked(tmp_path: Path, args: list[str]) -> None:
    scheme = _month(tmp_path, f"Ann{TITLE}\u202e")
    result = CliRunner().invoke(app, [*args, "-c", str(scheme)])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
    assert f"Ann{MARK}]0;pwned{MARK}{MARK}" in result.stdout


def test_a_name_is_not_read_as_rich_markup(tmp_path: Path) -> None:
    scheme = _month(tmp_path, "[link=http://evil.example]Ann[/link]")
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme)])
    assert result.exit_code == 0, result.stderr
    assert "[link=http://evil.example]Ann[/link]" in result.stdout


def test_a_markdown_cell_cannot_add_a_row_or_html(tmp_path: Path) -> None:
    scheme = _month(tmp_path, "Ann\n| 1 | Z forged | T9 |<script>x</script>")
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 4  # header, rule, one row per collector of the roster
    assert all(line.count(" | ") == lines[0].count(" | ") for line in lines[2:])
    assert f"A Ann{MARK}\\| 1 \\| Z forged \\| T9 \\|&lt;script>x&lt;/script>" in result.stdout


def test_a_warning_naming_a_file_is_printable(tmp_path: Path) -> None:
    # A value is quoted with repr(); a file name is shown as it is, so it is made printable.
    scheme = _month(tmp_path, "Ann")
    odd = tmp_path / f"cases{TITLE}.csv"
    cases = (tmp_path / "2025-03" / "cases.csv").read_text()
    odd.write_text(cases.replace("T1,2025-03-05,1000", "T1,2025-03-05,many"), encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "csv", "--cases", str(odd)])
    assert result.exit_code == 0, result.stderr
    assert (
        f"rejected and left out of every score (first: {tmp_path}/cases{MARK}]0;pwned{MARK}.csv row 4" in result.stderr
    )
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_validate_shows_a_file_name_printable(tmp_path: Path) -> None:
    scheme = _month(tmp_path, "Ann")
    odd = tmp_path / f"cases{TITLE}.csv"
    (tmp_path / "2025-03" / "cases.csv").rename(odd)
    result = CliRunner().invoke(app, ["validate", "-m", "2025-03", "-c", str(scheme), "--cases", str(odd)])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert f"cases{MARK}]0;pwned{MARK}.csv" in result.stdout.replace("\n", "").replace(" ", "")


def _kpi(args: list[str], cwd: Path, **options: object) -> subprocess.CompletedProcess[bytes]:
    """`kpi` as a process of its own."""
    command = [sys.executable, "-m", "collector_kpi", *args]
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run(command, cwd=cwd, timeout=120, **{**streams, **options})  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize("args", [["score", "-m", "2025-03"], ["score", "-m", "2025-03", "-f", "csv"]])
def test_a_terminal_never_gets_a_control_sequence_from_the_data(tmp_path: Path, args: list[str]) -> None:
    _month(tmp_path, f"Ann{TITLE}\u202e")
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "collector_kpi", *args, "-c", "scheme.yaml"],
            cwd=tmp_path,
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
        assert child.wait(timeout=120) == 0
    finally:
        os.close(leader)
    assert b"]0;pwned" in shown  # shown as text …
    assert TITLE.encode() not in shown and b"\x07" not in shown  # … never acted on
    assert "\u202e".encode() not in shown


def test_a_console_that_lacks_a_character_gets_a_replacement(tmp_path: Path) -> None:
    _month(tmp_path, "Ann😀")
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    for args in (["score", "-m", "2025-03"], ["explain", "-m", "2025-03", "A"]):
        child = _kpi([*args, "-c", "scheme.yaml"], tmp_path, env=env)
        assert child.returncode == 0, child.stderr.decode("gbk", "replace")
        shown = child.stdout.decode("gbk")
        assert "Ann?" in shown and "😀" not in shown
        assert "· 2025-03 ·" in shown  # the rest as the console's encoding has it


@pytest.mark.parametrize(
    "args",
    [
        ["score", "-m", "2025-03"],
        ["score", "-m", "2025-03", "-f", "csv"],
        ["explain", "-m", "2025-03", "A", "-f", "json"],
        ["validate", "-m", "2025-03"],
    ],
)
def test_a_full_disk_on_stdout_is_one_line_of_error(tmp_path: Path, args: list[str]) -> None:
    _month(tmp_path, "Ann")
    with open("/dev/full", "wb") as full:
        child = _kpi([*args, "-c", "scheme.yaml"], tmp_path, stdout=full, stderr=subprocess.PIPE)
    errors = [line for line in child.stderr.decode().splitlines() if line.startswith("Error")]
    assert errors == ["Error: stdout: cannot write (No space left on device)"]
    assert "Traceback" not in child.stderr.decode()
    assert child.returncode == 2


@pytest.mark.parametrize("args", [["score", "-m", "2025-03"], ["score", "-m", "2025-03", "-f", "json"]])
def test_a_closed_stdout_that_is_needed_is_one_line_of_error(tmp_path: Path, args: list[str]) -> None:
    _month(tmp_path, "Ann")
    command = " ".join([f"'{sys.executable}'", "-m", "collector_kpi", *args, "-c", "scheme.yaml", ">&-"])
    child = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, timeout=120)
    assert child.returncode == 2
    assert child.stderr.decode().splitlines()[-1].startswith("Error: stdout is closed")
    assert "Traceback" not in child.stderr.decode()


def test_with_stdout_closed_the_named_files_are_hashed_right(tmp_path: Path) -> None:
    # The first file opened would take descriptor 1, and the hashing child points 1 at /dev/null.
    scheme = _month(tmp_path, "Ann")
    cases = tmp_path / "2025-03" / "cases.csv"
    command = f"'{sys.executable}' -m collector_kpi score -m 2025-03 -c '{scheme}' --cases '{cases}' -o card.csv >&-"
    child = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, timeout=120)
    assert child.returncode == 0, child.stderr.decode()
    listed = json.loads((tmp_path / "card.csv.manifest.json").read_text())["inputs"]
    assert {e["path"]: e["sha256"] for e in listed}[str(cases)] == hashlib.sha256(cases.read_bytes()).hexdigest()


@pytest.mark.parametrize("form", [[], ["-f", "json"]])
def test_validate_into_a_closed_pipe_is_quiet(tmp_path: Path, form: list[str]) -> None:
    """`kpi validate | head`, on a month with rejected rows (which exits 1 otherwise)."""
    _month(tmp_path, "Ann")
    cases = tmp_path / "2025-03" / "cases.csv"
    cases.write_text(cases.read_text().replace("2025-03-05", "05/03/2025"), encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-m", "collector_kpi", "validate", "-m", "2025-03", "-c", "scheme.yaml", *form],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first byte
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert err == ""


def test_validate_piped_to_head_is_quiet(tmp_path: Path) -> None:
    _month(tmp_path, "Ann")
    command = f"'{sys.executable}' -m collector_kpi validate -m 2025-03 -c scheme.yaml | head -n 1"
    child = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, timeout=120)
    assert child.returncode == 0
    assert child.stdout.decode().startswith("2025-03: rows per table")
    assert child.stderr == b""
