"""Keep the process's memory compact: fewer malloc arenas for the worker threads.

glibc's malloc gives threads that contend for memory arenas of their own, up to 8 per core, and
each keeps the memory freed into it. Inference threads allocate and free large buffers all the
time, so on a small host the idle arenas added 10-15 MB to the peak (bench, test models). Two
arenas keep that down at little cost in contention. ``MALLOC_ARENA_MAX`` (or
``GLIBC_TUNABLES=glibc.malloc.arena_max=N``) in the environment, read by glibc itself, wins;
other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h
MALLOC_ARENAS = 2


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``count``; call before starting threads. True if it did."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already uses
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
