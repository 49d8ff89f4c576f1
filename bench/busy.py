"""Busy neighbours: plain CPU-bound processes beside the servers, as a home's other work.

Home Assistant core, the recorder, other add-ons, a camera's stream: in a home the voice
server never has the CPU to itself, and most of that work runs at normal priority. The
fairest stand-in is a process that never sleeps (``while True: pass``) at a given nice value.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

SPIN = "while True: pass"


@dataclass(frozen=True)
class Load:
    """How many busy processes run beside the servers, and at which nice value."""

    busy: int
    nice: int = 0

    @property
    def name(self) -> str:
        """Short label: ``idle``, ``1 busy``, ``2 busy nice 10``."""
        if not self.busy:
            return "idle"
        return f"{self.busy} busy" + (f" nice {self.nice}" if self.nice else "")


LOADS = (Load(0), Load(1), Load(2), Load(2, 10))
"""The loaded section's levels: idle, 1 and 2 at normal priority, 2 well-behaved ones."""


def parse_load(text: str) -> Load:
    """Parse ``N`` or ``N@NICE`` (``2@10``: two busy processes at nice 10)."""
    busy, _, nice = text.partition("@")
    load = Load(int(busy), int(nice or 0))
    if load.busy < 0 or not -20 <= load.nice <= 19:
        raise ValueError(f"not a load: {text!r} (N or N@NICE, NICE in -20..19)")
    return load


@contextlib.contextmanager
def busy(load: Load) -> Iterator[list[int]]:
    """Run ``load.busy`` spinning processes at ``load.nice`` while inside; yield their pids."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(load.busy):
            process = subprocess.Popen([sys.executable, "-c", SPIN])
            processes.append(process)
            os.setpriority(os.PRIO_PROCESS, process.pid, load.nice)
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()
