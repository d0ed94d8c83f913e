"""What the tool prints cannot be turned against the reader.

Text from the data (a collector's name, a file name, a value quoted in a warning) may hold
control characters: ESC starts a sequence that can retitle a terminal, move its cursor or
hide a line, and a bidi override shows a line in another order than it is read. Before such
text is shown it goes through :func:`printable` (or :func:`markdown_cell` for a Markdown
table); the console streams are set up by :func:`guard_stdout`.
"""

from __future__ import annotations

import io
import os
import re
import sys

# C0 controls, DEL, C1 controls, the bidi marks, embeddings, overrides and isolates, and the
# Unicode line and paragraph separators. A zero-width joiner stays: emoji are made with it.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARACTER = re.compile(f"[{_UNSAFE}]")
MARK = "\ufffd"  # � : something was there that is not shown


def printable(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1) and bidi control replaced by a
    visible mark, so that it shows as text and never acts on the terminal."""
    return _UNSAFE_CHARACTER.sub(MARK, text)


def printable_lines(text: str) -> str:
    """:func:`printable` for a message of several lines: its line breaks are kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def on_terminal(payload: bytes) -> bytes:
    """A text output (CSV, JSON, Markdown) as written to stdout: :func:`printable_lines`
    where stdout is a terminal, as it is elsewhere (a file or a pipe gets the data)."""
    if not sys.stdout.isatty():
        return payload
    return printable_lines(payload.decode("utf-8")).encode("utf-8")


# NOTE: `<` opens every HTML tag, so escaping it (and `&`, which would start an entity)
# is enough; a `>` stays as it is (`violations > 0` reads right in the raw text too).
_MARKDOWN = str.maketrans({"\\": "\\\\", "|": "\\|", "&": "&amp;", "<": "&lt;"})


def markdown_cell(text: str) -> str:
    """Text as one Markdown table cell: printable, on one line, no cell break (``|``) and
    no HTML tag (``<script>`` shows as text)."""
    return printable(text).translate(_MARKDOWN)


class _Stdout(io.RawIOBase):
    """File descriptor 1 (None where it was closed), whose write errors are ours (an
    OutputError): the first says what went wrong, the later ones write nothing (the run is
    stopping)."""

    def __init__(self, fd: int | None) -> None:
        super().__init__()
        self._fd = fd
        self._failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._fd is None:
            raise io.UnsupportedOperation("stdout is closed")
        return self._fd

    def isatty(self) -> bool:
        return self._fd is not None and os.isatty(self._fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(memoryview(data))
        if self._failed:
            return size
        # NOTE: errors is imported here, not above: this module is imported before the
        # input files' hashing is begun, and errors' imports (dataclasses) would delay it.
        from .errors import OutputError

        if self._fd is None:
            self._failed = True
            raise OutputError("stdout is closed; nothing can be printed (give --output FILE, or leave stdout open)")
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            raise  # the reader went away: stopped quietly by the command line
        except OSError as exc:
            self._failed = True
            raise OutputError(f"stdout: cannot write ({exc.strerror or exc})") from None


def guard_stdout() -> None:
    """Set up the standard streams before anything is printed.

    - stdout writes a character its encoding lacks (an emoji on a GBK console) as ``?``;
    - a write that fails (stdout closed, or a full disk) is an ``OutputError``;
    - a closed stdin, stdout or stderr is held by /dev/null, so that no file the run opens
      takes its number (a file opened as descriptor 1 would get what is printed).
    """
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for fd in closed:
        quiet = os.open(os.devnull, os.O_RDWR)
        if quiet != fd:
            os.dup2(quiet, fd)
            os.close(quiet)
    if sys.stdout is not None and 1 not in closed:
        encoding = sys.stdout.encoding
        line_buffering = bool(sys.stdout.line_buffering)
        sys.stdout.flush()  # the stream replaced stays open: sys.__stdout__ holds it
        raw = _Stdout(1)
    else:
        encoding, line_buffering, raw = "utf-8", False, _Stdout(None)
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors="replace", line_buffering=line_buffering
    )
