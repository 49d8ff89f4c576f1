"""The Wyoming client core's early-Transcript upload, against a stand-in server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from wyoming.asr import Transcript
from wyoming.event import async_read_event, async_write_event

from custom_components.chatterbox.lib.chatterbox_wyoming import Timeouts, Timings, WyomingClient

pytestmark = pytest.mark.usefixtures("socket_enabled")

ANSWER_AFTER = 3  # chunks


class EarlyServer:
    """Answers a Transcript after ANSWER_AFTER chunks, then records the client's events."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.closed = asyncio.Event()
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (event := await async_read_event(reader)) is not None:
            self.events.append(event.type)
            if self.events.count("audio-chunk") == ANSWER_AFTER and event.type == "audio-chunk":
                await async_write_event(Transcript(text="turn on the light").event(), writer)
        writer.close()
        self.closed.set()


async def microphone() -> AsyncIterator[bytes]:
    """20 ms chunks that never end by themselves."""
    while True:
        yield bytes(640)
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("stop", [True, False])
async def test_early_transcript_stops_the_upload(stop: bool) -> None:
    """The upload stops at the Transcript; AudioStop follows only when asked for."""
    stand_in = EarlyServer()
    server = await asyncio.start_server(stand_in.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timings = Timings()
    try:
        result = await WyomingClient("127.0.0.1", port, Timeouts(1, 1, 1, 1)).transcribe(
            microphone(), language="en", stop_after_transcript=stop, timings=timings
        )
        await asyncio.wait_for(stand_in.closed.wait(), 2)
    finally:
        server.close()
        await server.wait_closed()
    assert (result.text, result.early) == ("turn on the light", True)
    assert stand_in.events[:2] == ["transcribe", "audio-start"]
    assert stand_in.events.count("audio-chunk") <= ANSWER_AFTER + 1  # stopped at once
    assert stand_in.events.count("audio-stop") == (1 if stop else 0)
    assert timings.audio_stop_sent is None  # the audio did not end
    assert timings.connected is not None
    assert timings.transcript is not None
    assert timings.started < timings.connected < timings.chunks_sent[0] < timings.transcript
    assert timings.audio_bytes == 640 * len(timings.chunks_sent)
