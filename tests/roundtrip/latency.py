"""Latency samples per stage, summarized as p50/p95 at the end of the test run."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np


class Latencies:
    """Milliseconds per named stage, collected across tests."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.samples: dict[str, list[float]] = defaultdict(list)

    def add(self, stage: str, ms: float) -> None:
        """Record one measurement of ``stage``."""
        self.samples[stage].append(ms)

    def add_all(self, timings_ms: dict[str, float]) -> None:
        """Record every stage of one request."""
        for stage, ms in timings_ms.items():
            self.add(stage, ms)

    def percentile(self, stage: str, q: float) -> float:
        """The ``q``-th percentile of ``stage`` (0-100)."""
        return float(np.percentile(self.samples[stage], q))

    def lines(self) -> list[str]:
        """One line per stage: count, p50, p95 and max."""
        return [
            f"{stage:<28} n={len(values):<3} p50={np.percentile(values, 50):8.1f} ms"
            f"  p95={np.percentile(values, 95):8.1f} ms  max={max(values):8.1f} ms"
            for stage, values in self.samples.items()
            if values
        ]

    def write(self, terminalreporter: Any) -> None:
        """Print the table as its own section of pytest's summary (nothing if empty)."""
        if lines := self.lines():
            terminalreporter.section(self.title)
            for line in lines:
                terminalreporter.write_line(line)


ROUND_TRIP = Latencies("chatterbox round-trip latency (Wyoming, per stage)")
"""Filled by the round-trip suite, printed by its conftest."""

PIPELINE = Latencies("chatterbox Assist pipeline latency (per stage)")
"""Filled by the pipeline suite, printed by its conftest."""
