"""The audit manifest: which tool, scheme and files produced a scorecard, and its totals."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__

if TYPE_CHECKING:  # the manifest's hashing starts before polars is imported
    from .scoring import Scorecard


class _Stopped(Exception):
    """Hashing was stopped (the run ended before it needed the hash)."""


class _Stop(Protocol):
    def is_set(self) -> bool: ...


def sha256_file(path: str | Path | int, stop: _Stop | None = None) -> str:
    """SHA-256 of a file (or of an open file descriptor, which it closes), read in chunks
    into one buffer; ``stop`` ends it early.

    NOTE: 128 KiB chunks read into a reused buffer stay in the CPU cache: 1.2 s of CPU for
    a 1.8 GB file, against 1.6 s with fresh 1 MiB chunks.
    """
    digest = hashlib.sha256()
    buffer = bytearray(1 << 17)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            if stop is not None and stop.is_set():
                raise _Stopped(path)
            digest.update(view[:size])
    return digest.hexdigest()


def resolved_scheme(card: Scorecard) -> dict[str, Any]:
    """The scheme as it was applied: every default filled in."""
    data: dict[str, Any] = card.scheme.model_dump(mode="json")
    return data


def scheme_hash(scheme: dict[str, Any]) -> str:
    text = json.dumps(scheme, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class InputHashes:
    """SHA-256 of the input files, computed beside the scoring: those the command line
    names by a child process begun before the imports (see `hash_from_argv`), the others in
    a background thread as the month finds them.

    NOTE: hashing a 2 GB export takes seconds; hashlib releases the GIL, so it overlaps the
    polars work instead of adding to it. One thread, not two: a second slowed the imports
    on a 2-core machine (−0.04 s of 3.2 without it); at a lower priority (see
    `background_pool`).
    """

    def __init__(self, files: Iterable[str] = (), forked: _Forked | None = None) -> None:
        from concurrent.futures import Future

        from .background import background_pool

        self._forked = forked
        self._pool = background_pool("sha256")
        self._stop = threading.Event()
        self._futures: dict[str, Future[str]] = {}
        self.add(files)

    def add(self, files: Iterable[str]) -> None:
        """Start hashing these files too (those not already started)."""
        for file in files:
            if file not in self._futures and (self._forked is None or file not in self._forked.files):
                self._futures[file] = self._pool.submit(sha256_file, file, self._stop)

    def get(self, file: str) -> str:
        if self._forked is not None and file in self._forked.files:
            digest = self._forked.get(file)
            if digest is not None:
                return digest
        future = self._futures.get(file)
        return future.result() if future is not None else sha256_file(file)

    def close(self) -> None:
        """Stop the hashing still running: a run that ends early does not wait for it."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._forked is not None:
            self._forked.close()


def named_files(given: Iterable[str]) -> list[str]:
    """The input files named as they are (not a glob, nor a folder), as the month's reading
    will name them."""
    named = (str(Path(p)) for p in given if not any(c in p for c in "*?["))
    return [p for p in named if Path(p).is_file()]


# The options of `kpi score` that name input files, and those that ask for a manifest.
_INPUT_OPTIONS = ("--cases", "--contacts", "--reviews", "--roster")
_MANIFEST_OPTIONS = ("--output", "-o", "--manifest")
_early: InputHashes | None = None


class _Forked:
    """SHA-256 of files in a child process, forked while the process is still one thread
    with little memory (before the command-line parser and polars are imported).

    NOTE: a thread begun then hashed little until the imports were done, as they hold the
    interpreter (the GIL) and it needs it between chunks; a child process hashes a 400 MB
    Parquet export in the 0.25 s the imports leave a core idle, and the scoring then has
    both cores: 1M-case month, Parquet, 3.65 → 3.40 s (median of 10 paired runs).
    The child lowers its priority, stops if this process ends, and reports each digest on
    a line of a pipe, in the order of ``files``.
    """

    def __init__(self, files: list[str]) -> None:
        # Opened here, hashed there: the child reads what this process would (a path such
        # as /dev/stdin names another file in the child, whose standard streams are closed).
        opened: dict[str, int] = {}
        for file in dict.fromkeys(files):
            with contextlib.suppress(OSError):  # left to this process, which says why
                opened[file] = os.open(file, os.O_RDONLY)
        self.files = list(opened)
        self._lines: list[str] = []
        parent = os.getpid()
        made = list(opened.values())
        try:
            read, write = os.pipe()
            made += [read, write]
            self._pid = os.fork()
        except OSError:
            for fd in made:
                os.close(fd)
            raise
        if self._pid == 0:  # the child: hash, report each digest on its own line, end
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
                os.close(read)
                # Holds no terminal or pipe of the parent's open (`kpi … | head` ends with it).
                quiet = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(quiet, fd)
                with contextlib.suppress(OSError):
                    os.nice(10)
                with os.fdopen(write, "w", encoding="ascii") as out:
                    for fd in opened.values():
                        try:
                            digest = sha256_file(fd, _ParentGone(parent))
                        except OSError:
                            digest = "-"  # the parent hashes it again, and says why it fails
                        out.write(digest + "\n")
                        out.flush()
            except BaseException:
                code = 1
            os._exit(code)
        os.close(write)
        for fd in opened.values():
            os.close(fd)
        self._reader = os.fdopen(read, "r", encoding="ascii")

    def get(self, file: str) -> str | None:
        """The file's digest, once the child has it; None if it could not."""
        if file not in self.files:
            return None
        index = self.files.index(file)
        while len(self._lines) <= index:
            line = self._reader.readline()
            if not line:  # the child ended early
                return None
            self._lines.append(line.strip())
        digest = self._lines[index]
        return digest if digest and digest != "-" else None

    def close(self) -> None:
        """End the child if it is still hashing (a run that ends early does not wait)."""
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            os.waitpid(self._pid, 0)
        self._reader.close()


class _ParentGone:
    """For the child: whether the parent process has ended (stop hashing then)."""

    def __init__(self, parent: int) -> None:
        self._parent = parent

    def is_set(self) -> bool:
        return os.getppid() != self._parent


def hash_from_argv(argv: Sequence[str]) -> None:
    """Begin hashing the input files a `kpi score` command line names, if it writes a
    manifest, before the command-line parser and polars are imported (`take_early`).

    Only a head start: the parsed command line names the files again, and any not begun
    here (a glob, a folder, an option spelled otherwise) are hashed then.
    """
    global _early
    if not argv or argv[0] != "score":
        return
    values: dict[str, list[str]] = {}
    args = list(argv[1:])
    for index, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if not eq:
            value = args[index + 1] if index + 1 < len(args) else ""
        values.setdefault(name, []).append(value)
    if not any(v != "-" for option in _MANIFEST_OPTIONS for v in values.get(option, [])):
        return
    files = named_files(v for option in _INPUT_OPTIONS for v in values.get(option, []))
    if files:
        forked = None
        # Forked only while this process is one thread (a fork copies no other thread).
        if hasattr(os, "fork") and threading.active_count() == 1:
            with contextlib.suppress(OSError):  # no process to be had: hashed by a thread
                forked = _Forked(files)
        _early = InputHashes(files, forked=forked)


def take_early() -> InputHashes | None:
    """The hashing begun by `hash_from_argv`, if any (once)."""
    global _early
    early, _early = _early, None
    return early


def build_manifest(
    card: Scorecard,
    scheme_path: str | Path,
    outputs: dict[str, bytes],
    level: str,
    output_format: str,
    hashes: InputHashes | None = None,
    compared: Scorecard | None = None,
) -> dict[str, Any]:
    """Everything needed to audit or reproduce a run (no clock time: same run, same bytes):
    the scheme (its file's bytes and as applied), every file read, the totals, the outputs.

    ``inputs`` are the files of the period scored; ``references`` those of other periods
    it was measured against (``trailing`` months of a fair metric, the ``compare`` period).
    """
    scheme = resolved_scheme(card)

    def described(path: str) -> dict[str, Any]:
        digest = hashes.get(path) if hashes is not None else sha256_file(path)
        return {"path": path, "size": Path(path).stat().st_size, "sha256": digest}

    inputs = [{"table": table, **described(file)} for table, stats in card.stats.items() for file in stats.files]
    references = [
        {"role": role, "month": read["month"], "table": read["table"], **described(read["path"])}
        for role, read in _references(card, compared)
    ]
    return {
        "tool": {"name": "collector-kpi", "version": __version__},
        "month": card.month,
        "level": level,
        "format": output_format,
        "scheme": {
            "path": str(scheme_path),
            "file_sha256": described(str(scheme_path))["sha256"],
            "sha256": scheme_hash(scheme),
            "resolved": scheme,
        },
        "inputs": inputs,
        "references": references,
        "rows": {table: stats.to_dict() for table, stats in card.stats.items()},
        "reconciliation": card.reconciliation,
        "fairness": card.fairness,
        "outputs": [
            {"path": str(path), "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
            for path, payload in outputs.items()
        ],
    }


def _references(card: Scorecard, compared: Scorecard | None) -> list[tuple[str, dict[str, str]]]:
    """(role, month/table/path) of each file of another period the run read, once."""
    found = [("trailing", read) for read in card.references]
    if compared is not None:
        found += [
            ("compare", {"month": compared.month, "table": table, "path": file})
            for table, stats in compared.stats.items()
            for file in stats.files
        ]
        found += [("compare", read) for read in compared.references]
    own = {file for stats in card.stats.values() for file in stats.files}
    seen: set[str] = set()
    unique = []
    for role, read in found:
        if read["path"] not in own and read["path"] not in seen:
            seen.add(read["path"])
            unique.append((role, read))
    return unique


def files_read(card: Scorecard, scheme_path: str | Path, compared: Scorecard | None = None) -> list[str]:
    """Every file a run read (the scheme, the period's inputs, the other periods'): none of
    them may be written over."""
    own = [file for stats in card.stats.values() for file in stats.files]
    return [str(scheme_path), *own, *(read["path"] for _, read in _references(card, compared))]


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
