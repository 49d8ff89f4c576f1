"""Bad input gets an Error event (or a clean close) for that client only; the server goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

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


async def test_unknown_event_is_an_error_but_keeps_the_connection(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await async_write_event(Event(type="frobnicate", data={"x": 1}), writer)
        await async_write_event(Event(type="ping", data={"text": "p"}), writer)
        await async_write_event(Event(type="describe"), writer)
        events = [await asyncio.wait_for(async_read_event(reader), 10) for _ in range(3)]
    finally:
        writer.close()
        await writer.wait_closed()
    assert [event.type if event else None for event in events] == ["error", "pong", "info"]
    assert events[0] is not None
    assert events[0].data["code"] == "unknown-event"


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
