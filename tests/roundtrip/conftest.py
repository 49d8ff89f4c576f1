"""Fixtures for the round-trip suite: the real server and the latency summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, real_model_server

from .latency import ROUND_TRIP


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print per-stage p50/p95 after the test results."""
    ROUND_TRIP.write(terminalreporter)


@pytest.fixture(scope="session")
def roundtrip_server(test_models: Path) -> Iterator[ServerProcess]:
    """The real server (STT and TTS) with the generated test models."""
    server = ServerProcess(test_models)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def real_server(real_models: Path) -> Iterator[ServerProcess]:
    """The real server with real models (``CHATTERBOX_TEST_MODELS``); skipped without them."""
    with real_model_server(real_models) as server:
        yield server
