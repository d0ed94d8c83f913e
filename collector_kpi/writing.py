"""Writing output files so that a reader never finds half of one, nor a manifest beside a
file it does not describe.

- Each file is written to a temporary file beside it, ``.NAME.kpi-tmp-PID``, and renamed
  over it: a reader sees the old file or the new one, never a part.
- A run writing a file holds a lock on it (``flock`` on ``.NAME.kpi-lock`` beside it), so
  two runs writing one path take turns; the lock file is removed when it is let go.
- A run that was killed leaves its temporary file behind; the next run writing that file
  (or any run writing in that folder, once the pid in the name has ended) removes it.
- :class:`OutputSet`: the files of one run and the manifest that lists them, written as one
  unit: the old manifest goes before the first file is replaced, the new one comes last.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

from .errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - a system without flock: files are still written whole
    fcntl = None  # type: ignore[assignment]

TEMP_TAG = ".kpi-tmp-"
LOCK_TAG = ".kpi-lock"

# The locks this process holds: lock file -> (descriptor, depth). A second open() and
# flock() of the same file by this process would wait on itself.
_held: dict[Path, tuple[int, int]] = {}


def temp_path(target: Path) -> Path:
    """Where ``target`` is written before it is renamed into place (one name per process)."""
    return target.parent / f".{target.name}{TEMP_TAG}{os.getpid()}"


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}{LOCK_TAG}"


@contextlib.contextmanager
def locked(targets: Iterable[Path], on_wait: Callable[[Path], None] | None = None) -> Iterator[None]:
    """Hold the lock of every target (taken in one order, so two runs never wait on each
    other); a target already held by this process is held once more. ``on_wait`` is told
    of a target another run is writing, before waiting for it."""
    with contextlib.ExitStack() as stack:
        for target in sorted({Path(t).resolve() for t in targets}):
            stack.enter_context(_locked(target, on_wait))
        yield


@contextlib.contextmanager
def _locked(target: Path, on_wait: Callable[[Path], None] | None) -> Iterator[None]:
    lock = lock_path(target)
    if lock in _held:
        fd, depth = _held[lock]
        _held[lock] = (fd, depth + 1)
        try:
            yield
        finally:
            _held[lock] = (fd, depth)
        return
    fd = _acquire(target, lock, on_wait)
    _held[lock] = (fd, 1)
    try:
        remove_stale_temps(target)
        yield
    finally:
        del _held[lock]
        if fd >= 0:
            # Removed while still held: a run waiting on this file finds it gone and opens anew.
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(fd)


def _acquire(target: Path, lock: Path, on_wait: Callable[[Path], None] | None) -> int:
    told = False
    while True:
        if fcntl is None:  # pragma: no cover
            return -1
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None and not told:
                on_wait(target)
                told = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            mine = os.stat(lock)
            held = os.fstat(fd)
            if (mine.st_dev, mine.st_ino) == (held.st_dev, held.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the run before removed the file as it let go: lock the new one


def remove_stale_temps(target: Path) -> None:
    """Remove the temporary files killed runs left beside ``target``: its own (this run
    holds its lock, so no live run is writing them) and those of other files whose run has
    ended."""
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    own = f".{target.name}{TEMP_TAG}"
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and TEMP_TAG in name):
            continue
        pid = name.rpartition(TEMP_TAG)[2]
        if not pid.isdigit():
            continue
        if (name.startswith(own) and name[len(own) :] == pid) or not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def write_atomic(path: Path, payload: bytes, protected: Iterable[str] | None = None) -> None:
    """Write ``payload`` to ``path`` whole: through a temporary file renamed over it, under
    the file's lock; never over a file in ``protected`` (the inputs)."""
    target = path.resolve()
    for other in protected or ():
        with contextlib.suppress(OSError):
            if Path(other).resolve() == target:
                raise OutputError(f"{path}: refusing to overwrite an input file")
    if target.is_dir():
        raise OutputError(f"{path}: is a directory")
    if not target.parent.is_dir():
        raise OutputError(f"{path}: folder {target.parent} does not exist")
    with locked([target]):
        tmp = temp_path(target)
        try:
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename or removal in ``folder`` durable before the next step depends on it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class OutputSet:
    """The files one run writes and the manifest that describes them, as one unit.

    Entered, it holds the lock of every file (the manifest and ``stale`` too); the first
    :meth:`write` removes the manifest and ``stale`` (a manifest that another name of
    the output had) before anything is replaced; :meth:`write_manifest` comes last. Killed
    at any point, the folder holds the old files with their manifest, or files without a
    manifest, or the new files with theirs.
    """

    def __init__(
        self,
        files: Iterable[Path],
        manifest: Path | None,
        protected: Iterable[str] = (),
        stale: Iterable[Path] = (),
        on_wait: Callable[[Path], None] | None = None,
    ) -> None:
        self.manifest = manifest
        self._protected = list(protected)
        shielded = {Path(p).resolve() for p in self._protected}
        self._retired = [p for p in [manifest, *stale] if p is not None and p.resolve() not in shielded]
        self._locks = locked([*files, *self._retired], on_wait)
        self._written = False

    def __enter__(self) -> OutputSet:
        self._locks.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._locks.__exit__(kind, error, trace)

    def write(self, path: Path, payload: bytes) -> None:
        """Write one of the files (the first write removes the old manifest)."""
        if not self._written:
            self._written = True
            for old in self._retired:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
                _sync_folder(old.resolve().parent)
        write_atomic(path, payload, self._protected)

    def write_manifest(self, payload: bytes) -> None:
        """Write the manifest, once every file it lists is written."""
        if self.manifest is None:
            raise ValueError("this set of outputs has no manifest")
        if not self._written:
            self.write(self.manifest, payload)
        else:
            write_atomic(self.manifest, payload, self._protected)
