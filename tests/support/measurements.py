"""Numbers a test suite reports: printed when measured and again after the test results."""

from __future__ import annotations

import pytest


class Measurements:
    """Named measured values of one suite, shown in a terminal-summary section of their own."""

    def __init__(self, title: str, prefix: str) -> None:
        self.title = title
        self.prefix = prefix
        self.values: dict[str, str] = {}

    def record(self, name: str, value: str) -> None:
        """Keep a measured number for the terminal summary and print it now."""
        self.values[name] = value
        print(f"[{self.prefix}] {name}: {value}")

    def write(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the measured numbers after the test results."""
        if self.values:
            terminalreporter.section(self.title)
            for name, value in self.values.items():
                terminalreporter.write_line(f"{name}: {value}")
