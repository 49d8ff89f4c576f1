"""Fixtures for the round-trip suite: the real server and the latency summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

from .latency import ROUND_TRIP


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print per-stage p50/p95 after the test results."""
    if lines := ROUND_TRIP.lines():
        terminalreporter.section(ROUND_TRIP.title)
        for line in lines:
            terminalreporter.write_line(line)


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
    voices = sorted((real_models / "tts").glob("*.onnx"))
    if not voices:
        pytest.skip(f"no Piper voice (*.onnx) in {real_models / 'tts'}")
    # The last --tts-voice wins over the test voice ServerProcess puts first.
    server = ServerProcess(real_models, "--tts-voice", str(voices[0]))
    server.start(timeout=300)
    yield server
    server.stop()
