"""Run the benchmark as ``scripts/bench`` does, in a process of its own, from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(
    peer_python: Path, models: Path, out: Path, *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``python -m bench`` on ``models`` into ``out`` (its asyncio.run() stays out of ours)."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "bench", "--peer-python", str(peer_python)),
            *("--models", str(models), "--out", str(out), *args),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
