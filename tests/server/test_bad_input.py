"""Bad input gets an Error event (or a clean close) for that client only; the server goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import numpy as np
import pytest
from wyoming.event import Event, async_read_event, async_write_event

from tests.support.server import ServerProcess
from tests.support.wyoming_client import describe, synthesize

pytestmark = pytest.mark.usefixtures("socket_enabled")

MIB = 1024 * 1024


def header(event_type: str, **fields: object) -> bytes:
    return json.dumps({"type": event_type, **fields}).encode() + b"\n"


def event_bytes(
    event_type: str, data: dict[str, object] | None = None, payload: bytes = b""
) -> bytes:
    body = json.dumps(data).encode() if data else b""
    fields: dict[str, object] = {}
    if body:
        fields["data_length"] = len(body)
    if payload:
        fields["payload_length"] = len(payload)
    return header(event_type, **fields) + body + payload


START_16K = event_bytes("audio-start", {"rate": 16000, "width": 2, "channels": 1})


async def exchange(server: ServerProcess, data: bytes, *, wait: float = 15) -> list[Event]:
    """Send raw bytes, read events until an Error, the server closing or ``wait`` seconds."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    events: list[Event] = []
    try:
        writer.write(data)
        await writer.drain()
        deadline = time.monotonic() + wait
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(async_read_event(reader), remaining)
            except (TimeoutError, ConnectionError):
                break
            if event is None:
                break
            events.append(event)
            if event.type == "error":
                break  # the server lingers briefly, then closes; no need to wait for it
    except ConnectionError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return events


CASES: dict[str, tuple[bytes, str]] = {
    "malformed json": (b'{"type": "describe", oops\n', "bad-event"),
    "header is a list": (b"[1, 2, 3]\n", "bad-event"),
    "no type": (b'{"data": {}}\n', "bad-event"),
    "data not an object": (header("describe", data=[1, 2]), "bad-event"),
    "data_length not a number": (header("describe", data_length="12"), "bad-event"),
    "data_length too big": (header("describe", data_length=2 * MIB), "too-large"),
    "payload_length too big": (header("audio-chunk", payload_length=2 * MIB), "too-large"),
    "header too long": (b'{"type": "' + b"x" * (70 * 1024), "too-large"),
    "chunk before start": (
        event_bytes("audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, b"\0\0"),
        "out-of-order",
    ),
    "stop before anything": (event_bytes("audio-stop"), "out-of-order"),
    "synthesize-chunk outside stream": (
        event_bytes("synthesize-chunk", {"text": "hi"}),
        "out-of-order",
    ),
    "synthesize-stop outside stream": (event_bytes("synthesize-stop"), "out-of-order"),
    "double synthesize-start": (
        event_bytes("synthesize-start") + event_bytes("synthesize-start"),
        "out-of-order",
    ),
    "zero rate": (
        event_bytes("audio-start", {"rate": 0, "width": 2, "channels": 1}),
        "bad-audio-format",
    ),
    "zero width": (
        event_bytes("audio-start", {"rate": 16000, "width": 0, "channels": 1}),
        "bad-audio-format",
    ),
    "zero channels": (
        event_bytes("audio-start", {"rate": 16000, "width": 2, "channels": 0}),
        "bad-audio-format",
    ),
    "absurd rate": (
        event_bytes("audio-start", {"rate": 10**9, "width": 2, "channels": 1}),
        "bad-audio-format",
    ),
    "absurd channels in chunk": (
        START_16K
        + event_bytes("audio-chunk", {"rate": 16000, "width": 2, "channels": 99}, b"\0" * 198),
        "bad-audio-format",
    ),
    "rate is text": (
        event_bytes("audio-start", {"rate": "16000", "width": 2, "channels": 1}),
        "bad-audio-format",
    ),
    "odd byte count": (
        START_16K + event_bytes("audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, b"abc"),
        "bad-audio",
    ),
    "chunk without format": (START_16K + event_bytes("audio-chunk", None, b"\0\0"), "bad-event"),
    "synthesize without text": (event_bytes("synthesize", {"voice": {"name": "x"}}), "bad-event"),
    "synthesize text not a string": (event_bytes("synthesize", {"text": 42}), "bad-event"),
    "voice name not a string": (
        event_bytes("synthesize", {"text": "hi", "voice": {"name": 5}}),
        "bad-event",
    ),
    "transcript names not a list": (
        event_bytes("transcribe", {"transcript_names": "abc"}) + event_bytes("audio-stop"),
        "bad-event",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_input_gets_error_and_server_goes_on(server: ServerProcess, case: str) -> None:
    data, code = CASES[case]
    events = await exchange(server, data)
    types = [event.type for event in events]
    assert types[-1:] == ["error"], (case, events)  # then the server closed the connection
    assert set(types[:-1]) <= {"audio-start"}  # a stream announces its audio format first
    assert events[-1].data["code"] == code, events[-1].data
    assert events[-1].data["text"]
    info = await describe(server.uri)  # the server keeps answering
    assert info.asr
    assert info.tts


async def read_events(reader: asyncio.StreamReader, count: int, quiet: float = 0.5) -> list[Event]:
    """Read ``count`` events, then check nothing else arrives for ``quiet`` seconds."""
    events: list[Event] = []
    for _ in range(count):
        event = await asyncio.wait_for(async_read_event(reader), 30)
        assert event is not None, f"server closed the connection after {events}"
        events.append(event)
    with contextlib.suppress(TimeoutError):
        extra = await asyncio.wait_for(async_read_event(reader), quiet)
        raise AssertionError(f"unexpected event after {events}: {extra}")
    return events


async def test_unknown_events_are_dropped_without_a_reply(server: ServerProcess) -> None:
    # Wyoming peers ignore events they do not handle; wyoming-bench sends select-program.
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await async_write_event(Event(type="select-program", data={"name": "x"}), writer)
        await async_write_event(Event(type="frobnicate", data={"x": 1}, payload=b"\1\2"), writer)
        await async_write_event(Event(type="ping", data={"text": "p"}), writer)
        await async_write_event(Event(type="describe"), writer)
        events = await read_events(reader, 2)
    finally:
        writer.close()
        await writer.wait_closed()
    assert [event.type for event in events] == ["pong", "info"]


async def test_unknown_events_inside_a_transcription_and_a_stream(
    server: ServerProcess, speech: np.ndarray
) -> None:
    pcm = (speech * 32767).astype("<i2").tobytes()
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    half = len(pcm) // 2 & ~1
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await async_write_event(Event(type="transcribe", data={"language": "en"}), writer)
        await async_write_event(Event(type="audio-start", data=fmt), writer)
        await async_write_event(Event(type="audio-chunk", data=fmt, payload=pcm[:half]), writer)
        await async_write_event(
            Event(type="select-program", data={"name": "faster-whisper"}), writer
        )
        await async_write_event(Event(type="made-up-event", data={}, payload=b"\0" * 4), writer)
        await async_write_event(Event(type="audio-chunk", data=fmt, payload=pcm[half:]), writer)
        await async_write_event(Event(type="audio-stop"), writer)
        heard = [await asyncio.wait_for(async_read_event(reader), 60)]
        while heard[-1] is not None and heard[-1].type != "transcript":
            heard.append(await asyncio.wait_for(async_read_event(reader), 60))
        assert heard[-1] is not None, heard
        assert "error" not in [event.type for event in heard if event], heard
        # A text stream with unknown events in it: spoken as if they were not there.
        await async_write_event(Event(type="synthesize-start"), writer)
        await async_write_event(Event(type="select-program", data={"name": "piper"}), writer)
        await async_write_event(
            Event(type="synthesize-chunk", data={"text": "Hello there."}), writer
        )
        await async_write_event(Event(type="made-up-event"), writer)
        await async_write_event(Event(type="synthesize-stop"), writer)
        spoken: list[str] = []
        while not spoken or spoken[-1] != "synthesize-stopped":
            event = await asyncio.wait_for(async_read_event(reader), 60)
            assert event is not None, spoken
            spoken.append(event.type)
        assert "error" not in spoken, spoken
        assert "audio-chunk" in spoken, spoken
        await async_write_event(Event(type="ping", data={"text": "still here"}), writer)
        pong = await read_events(reader, 1)
    finally:
        writer.close()
        await writer.wait_closed()
    assert pong[0].type == "pong"
    assert pong[0].data["text"] == "still here"


async def test_a_health_probe_gets_the_malformed_error(server: ServerProcess) -> None:
    # Malformed bytes still get the clear error (and a closed connection).
    events = await exchange(server, b"\n")
    assert [event.type for event in events] == ["error"]
    assert events[0].data["code"] == "bad-event"


async def test_truncated_payload_and_disconnects(server: ServerProcess) -> None:
    # The client goes away in the middle of a payload, of an utterance, of a stream.
    await exchange(server, header("audio-chunk", payload_length=1000) + b"\0" * 10, wait=0.5)
    await exchange(server, event_bytes("transcribe") + START_16K, wait=0.2)
    words = b"".join(event_bytes("synthesize-chunk", {"text": "word. "}) for _ in range(200))
    await exchange(server, event_bytes("synthesize-start") + words, wait=0.2)
    await exchange(server, event_bytes("synthesize", {"text": "Long text. " * 500}), wait=0.1)
    assert (await describe(server.uri)).tts
    assert (await synthesize(server.uri, "Still speaking.")).audio


async def test_idle_connection_is_closed(start_server) -> None:  # type: ignore[no-untyped-def]
    idle = start_server("--idle-timeout", "0.5")
    reader, writer = await asyncio.open_connection(idle.host, idle.port)
    started = time.monotonic()
    try:
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
    finally:
        writer.close()
        await writer.wait_closed()
    assert time.monotonic() - started < 5
    idle.wait_for_log("idle for 0.5 s, closing")
    assert (await describe(idle.uri)).asr


async def test_client_that_stops_reading_is_closed(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server("--idle-timeout", "1")
    _, writer = await asyncio.open_connection(server.host, server.port)
    try:
        text = "This sentence makes plenty of audio for the test voice. " * 170  # ~9500 chars
        writer.write(event_bytes("synthesize", {"text": text}))
        await writer.drain()
        # Read nothing: the socket buffers fill up and the server's writes stall.
        server.wait_for_log("not reading for 1 s, closing", timeout=60)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert (await describe(server.uri)).tts
