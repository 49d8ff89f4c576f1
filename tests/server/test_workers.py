"""Worker threads yield the CPU to the event loop (Linux nice values are per thread)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from chatterbox_server.workers import WORKER_NICENESS, run_at_worker_priority, worker_pool
from tests.support.server import ServerProcess


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def nice_of_a_thread_started_here() -> int:
    """Start a thread (as an engine starts its native pool) and read its nice value."""
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(nice_of_this_thread()))
    thread.start()
    thread.join()
    return seen[0]


def test_pool_threads_run_below_the_caller() -> None:
    base = nice_of_this_thread()
    with worker_pool(1, "test") as pool:
        assert pool.submit(nice_of_this_thread).result() == min(base + WORKER_NICENESS, 19)
    assert nice_of_this_thread() == base


def test_threads_started_while_loading_inherit_the_lower_priority() -> None:
    base = nice_of_this_thread()
    assert run_at_worker_priority(nice_of_a_thread_started_here) == min(base + WORKER_NICENESS, 19)
    assert nice_of_this_thread() == base


@pytest.mark.usefixtures("socket_enabled")
def test_only_the_event_loop_runs_at_normal_priority(test_models: Path) -> None:
    """In the real server every thread but the main one (the event loop) is a worker."""
    with ServerProcess(test_models) as server:
        assert server.process is not None
        pid = server.process.pid
        nice = {
            int(task.name): int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
            for task in Path(f"/proc/{pid}/task").iterdir()
        }
    base = nice.pop(pid)
    assert len(nice) >= 3  # numpy's, onnxruntime's and the engines' threads at least
    assert set(nice.values()) == {min(base + WORKER_NICENESS, 19)}, nice
