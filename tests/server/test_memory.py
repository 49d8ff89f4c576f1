"""The malloc arena cap: applied on glibc, left to MALLOC_ARENA_MAX when that is set."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from chatterbox_server.memory import limit_malloc_arenas

# A fresh interpreter: the cap must come before threads, and tests run plenty of them.
PROBE = "from chatterbox_server.memory import limit_malloc_arenas as f; print(f())"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_caps_arenas_on_glibc() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "True", done.stderr


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
