"""When speech-to-text fails, nothing is spoken and the result says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corpus import clips
from tests import satellite
from tests.components.chatterbox.proxy import ERROR_TEXT, WyomingProxy
from tests.support.ports import free_port
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(30)]


@pytest.fixture
async def faulty(roundtrip_server: ServerProcess) -> AsyncIterator[WyomingProxy]:
    """A fault-injecting Wyoming proxy in front of the real server."""
    proxy = WyomingProxy(roundtrip_server.host, roundtrip_server.port)
    await proxy.start()
    yield proxy
    await proxy.stop()


def speech() -> bytes:
    return clips()[0].pcm()


async def test_server_down() -> None:
    """Nothing listening: the round trip stops at STT with 'cannot connect'."""
    trip = await satellite.round_trip(f"tcp://127.0.0.1:{free_port()}", speech(), read_timeout=5)
    assert trip.tts is None
    assert trip.answer_text is None
    assert trip.error is not None
    assert trip.error.startswith("speech-to-text failed: cannot connect")


async def test_server_error_event(faulty: WyomingProxy) -> None:
    """The server answers the transcription with a Wyoming Error: its code and text are kept."""
    faulty.fault = "error"
    trip = await satellite.round_trip(f"tcp://{faulty.host}:{faulty.port}", speech())
    assert trip.tts is None
    assert trip.error == f"speech-to-text failed: server error test-fault: {ERROR_TEXT}"
    # Only the transcription was attempted: no Synthesize reached the server.
    assert not faulty.requests("synthesize")


async def test_server_stalls(faulty: WyomingProxy) -> None:
    """A server that takes the audio and never answers: a timeout after AudioStop, no TTS."""
    faulty.fault = "stall"
    trip = await satellite.round_trip(
        f"tcp://{faulty.host}:{faulty.port}", speech(), read_timeout=1
    )
    assert trip.tts is None
    assert trip.error == (
        "speech-to-text failed: timeout: no answer within 1 s (transcript after audio-stop)"
    )
    assert faulty.requests("audio-stop"), "the whole utterance was sent before the timeout"
    assert 1000 <= trip.timings_ms["total"] < 5000

    faulty.fault = None  # the server is back: the next round trip works
    trip = await satellite.round_trip(f"tcp://{faulty.host}:{faulty.port}", speech())
    assert trip.ok, trip.error


async def test_stt_off_on_a_tts_only_server(test_models: Path) -> None:
    """A real tts-only server refuses transcription with its own Error, and the result says so.

    The satellite listens while it streams, and the server lets the Error arrive before it
    closes, so the reason is not lost to a connection reset.
    """
    server = ServerProcess(test_models, "--mode", "tts")
    server.start()
    try:
        trip = await satellite.round_trip(server.uri, speech())
    finally:
        server.stop()
    assert trip.tts is None
    assert trip.error is not None
    assert trip.error.startswith("speech-to-text failed: server error stt-disabled: ")
