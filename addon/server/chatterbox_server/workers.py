"""Worker threads that yield the CPU to the event loop.

On Linux the nice value is per thread and a new thread inherits its creator's. Pools made here
run at a lower priority than the event loop's thread, and so do the native threads CTranslate2
and onnxruntime start while models load (see :func:`run_at_worker_priority`): with every core
busy transcribing or speaking, Describe and the audio I/O still get the CPU first. Lowering
one's own priority needs no privilege; where it is not possible, nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

WORKER_NICENESS = 5  # added to the event loop's nice value

_T = TypeVar("_T")  # (not PEP 695's def f[T]: the server runs on Python 3.11)


def lower_priority() -> None:
    """Lower the calling thread's CPU priority by :data:`WORKER_NICENESS`."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)


def worker_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """Return a thread pool whose threads run below the event loop's priority."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=lower_priority)


def run_at_worker_priority(work: Callable[[], _T]) -> _T:
    """Run ``work`` on a lower-priority thread, so threads it starts inherit that priority."""
    with worker_pool(1, "load") as pool:
        return pool.submit(work).result()
