"""Background pools: one thread, at a lower priority than the scoring's."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future

import pytest

from collector_kpi.background import background_pool

per_thread = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priority on this system")


def _priority_and_name() -> tuple[int, str]:
    return os.getpriority(os.PRIO_PROCESS, 0), threading.current_thread().name


def _pool_priority_from_a_thread_at(niceness: int) -> tuple[int, int]:
    """(the caller's nice value, its pool thread's) for a caller thread set to ``niceness``
    (a thread's own: the test process keeps its own)."""
    result: Future[tuple[int, int]] = Future()

    def caller() -> None:
        try:
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, niceness)
            pool = background_pool("test")
            try:
                pooled, _ = pool.submit(_priority_and_name).result()
            finally:
                pool.shutdown()
            result.set_result((os.getpriority(os.PRIO_PROCESS, thread), pooled))
        except BaseException as exc:
            result.set_exception(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    return result.result()


@per_thread
def test_the_pool_thread_runs_at_a_lower_priority() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    pool = background_pool("test")
    try:
        niceness, name = pool.submit(_priority_and_name).result()
    finally:
        pool.shutdown()
    assert niceness == min(before + 10, 19)
    assert name.startswith("test")
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the caller's thread is left as it was


@per_thread
def test_the_pool_thread_is_lower_than_an_already_niced_caller() -> None:
    # Under `nice -n 5` an absolute 10 would put the thread 5 below its caller, not 10.
    start = os.getpriority(os.PRIO_PROCESS, 0)
    caller, pooled = _pool_priority_from_a_thread_at(min(start + 5, 19))
    assert caller == min(start + 5, 19)
    assert pooled == min(start + 15, 19)


@per_thread
def test_a_caller_at_the_lowest_priority_still_gets_its_work_done() -> None:
    # Nothing lower than 19 exists, and going up again is refused to an unprivileged process.
    caller, pooled = _pool_priority_from_a_thread_at(19)
    assert (caller, pooled) == (19, 19)
