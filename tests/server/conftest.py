"""Fixtures for server tests: the real server on an ephemeral port, test audio, measurements."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import speech_like
from tests.support.measurements import Measurements
from tests.support.server import ServerProcess

# Numbers worth reporting (printed at the end of the run and by the tests with -s).
MEASUREMENTS = Measurements("chatterbox server measurements", "measure")
record = MEASUREMENTS.record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the measured numbers after the test results."""
    MEASUREMENTS.write(terminalreporter)


if importlib.util.find_spec("pytest_homeassistant_custom_component") is None:

    @pytest.fixture
    def socket_enabled() -> None:
        """Without Home Assistant's plugin (the Python 3.13 run) nothing blocks sockets."""


@pytest.fixture
def start_server(test_models: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers with other flags; each is stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(*extra_args: str, timeout: float = 60) -> ServerProcess:
        process = ServerProcess(test_models, *extra_args)
        started.append(process)
        process.start(timeout)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """Three seconds of 16 kHz speech-like audio (float32)."""
    return speech_like(3.0)
