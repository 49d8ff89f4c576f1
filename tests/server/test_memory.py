"""The malloc arena cap: fewer heaps for contending threads on glibc; the environment wins."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from chatterbox_server.memory import limit_malloc_arenas

# In a fresh interpreter (the cap must come before threads): 8 threads malloc and free at once
# (ctypes calls release the GIL), then glibc's malloc_info counts the heaps (arenas).
PROBE = """
import ctypes, sys, tempfile, threading
from chatterbox_server.memory import limit_malloc_arenas
capped = limit_malloc_arenas() if sys.argv[1] == "cap" else False
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, (ctypes.c_void_p,)
libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
start = threading.Barrier(8)
def churn():
    start.wait()
    for _ in range(20000):
        libc.free(libc.malloc(4096))
threads = [threading.Thread(target=churn) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
with tempfile.NamedTemporaryFile() as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(capped, open(out.name).read().count("<heap nr="))
"""


def heaps(mode: str, **environment: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env=env | environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    capped, count = done.stdout.split()
    return capped, int(count)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_contending_threads_share_two_heaps() -> None:
    assert heaps("cap") == ("True", 2)
    assert heaps("free")[1] > 2  # without the cap the same threads spread over more heaps


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_the_environment_wins() -> None:
    assert heaps("cap", MALLOC_ARENA_MAX="4")[0] == "False"
    assert heaps("cap", GLIBC_TUNABLES="glibc.malloc.arena_max=4")[0] == "False"


def test_no_cap_when_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
