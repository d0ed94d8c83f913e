"""Background pools: one thread, at a lower priority than the scoring's."""

from __future__ import annotations

import os
import threading

import pytest

from collector_kpi.background import background_pool


def _priority_and_name() -> tuple[int, str]:
    return os.getpriority(os.PRIO_PROCESS, 0), threading.current_thread().name


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priority on this system")
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
