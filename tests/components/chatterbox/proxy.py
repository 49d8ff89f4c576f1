"""A Wyoming proxy in front of the real server: records requests and injects faults.

Every event a client sends is parsed with the wyoming library and recorded, then forwarded to
the real server; the server's replies are piped back byte for byte. With ``fault`` set, requests
(and, with ``fault_describe``, Describe too) are answered by the fault instead of the server:

- ``stall``: read everything, never answer.
- ``error``: answer with a Wyoming ``Error`` event.
- ``drop``: close the connection at once.
- ``garbage``: answer with a line that is not a Wyoming event.
- ``no_type``: answer with valid JSON that lacks the event type.
- ``foreign``: answer Describe with Info of a plain (non-Chatterbox) Wyoming server.
- ``chunk_first``: answer with audio that lacks its AudioStart.
- ``silent``: answer a synthesis with no audio at all.
- ``malformed``: answer with a known event type whose data is missing its fields.
- ``error_close``: answer with an ``Error`` at once and close without reading the rest.
- ``transcript_stream``: after AudioStop, answer with streaming transcript events first.
- ``audio_drop``: answer a synthesis with the start of its audio, then close.

A client that opens each request with a Describe (a handshake, as clients with fallbacks do)
gets the server's Info for it and the fault for the request after it, unless ``fault_describe``
faults the Describe too.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.tts import SynthesizeStopped

HOST = "127.0.0.1"
ERROR_TEXT = "voice exploded"


def foreign_info() -> Info:
    """Info of a Wyoming TTS server that is not Chatterbox."""
    attribution = Attribution(name="Someone else", url="https://example.com")
    voice = TtsVoice(
        name="other",
        attribution=attribution,
        installed=True,
        description=None,
        version=None,
        languages=["en"],
    )
    return Info(
        tts=[
            TtsProgram(
                name="other-tts",
                attribution=attribution,
                installed=True,
                description=None,
                version="1",
                voices=[voice],
            )
        ]
    )


class WyomingProxy:
    """Listens on an ephemeral loopback port; see the module docstring."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.events: list[Event] = []
        self.fault: str | None = None
        self.fault_describe = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def host(self) -> str:
        """Address clients connect to."""
        return HOST

    def requests(self, event_type: str) -> list[Event]:
        """Recorded events of ``event_type``."""
        return [event for event in self.events if event.type == event_type]

    async def start(self) -> None:
        """Listen for clients."""
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            first = await async_read_event(reader)
            if first is None:
                return
            self.events.append(first)
            is_describe = Describe.is_type(first.type)
            if self.fault is not None and is_describe and not self.fault_describe:
                await async_write_event(await self._upstream_info(), writer)
                first = await async_read_event(reader)  # the request after the handshake
                if first is None:
                    return
                self.events.append(first)
                is_describe = Describe.is_type(first.type)
            if self.fault is not None and (self.fault_describe or not is_describe):
                await self._fault(first, reader, writer)
            else:
                await self._forward(first, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _fault(
        self, first: Event, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        fault = self.fault
        if fault == "stall":
            await self._record_until(reader, None)
            return
        if fault == "transcript_stream":
            await self._record_until(reader, "audio-stop")
        replies = _replies(fault, first)
        for reply in replies:
            if isinstance(reply, bytes):
                writer.write(reply)
                await writer.drain()
            else:
                await async_write_event(reply, writer)
        if fault not in ("drop", "error_close", "foreign", "audio_drop"):
            await reader.read()

    async def _upstream_info(self) -> Event:
        """The server's answer to a Describe."""
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        try:
            await async_write_event(Describe().event(), up_writer)
            while (event := await async_read_event(up_reader)) is not None:
                if Info.is_type(event.type):
                    return event
            raise ConnectionError("the server closed without Info")
        finally:
            up_writer.close()
            with suppress(ConnectionError):
                await up_writer.wait_closed()

    async def _record_until(self, reader: asyncio.StreamReader, event_type: str | None) -> None:
        """Record the client's events until ``event_type`` (or the end of the connection)."""
        while (event := await async_read_event(reader)) is not None:
            self.events.append(event)
            if event.type == event_type:
                return

    async def _forward(
        self, first: Event, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers.add(up_writer)

        async def pipe_back() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        back = asyncio.create_task(pipe_back())
        self._tasks.add(back)
        try:
            await async_write_event(first, up_writer)
            while (event := await async_read_event(reader)) is not None:
                self.events.append(event)
                await async_write_event(event, up_writer)
            up_writer.write_eof()
            await back
        finally:
            back.cancel()
            with suppress(asyncio.CancelledError, ConnectionError):
                await back
            self._tasks.discard(back)
            self._writers.discard(up_writer)
            up_writer.close()
            with suppress(ConnectionError):
                await up_writer.wait_closed()


def _replies(fault: str | None, first: Event) -> list[Event | bytes]:
    """What the proxy answers for ``fault`` to a request that began with ``first``."""
    is_describe = Describe.is_type(first.type)
    error = Error(text=ERROR_TEXT, code="test-fault").event()
    audio = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200)).event()
    return {
        "error": [error],
        "error_close": [error],
        "garbage": [b"this is not a wyoming event\n"],
        "no_type": [b'{"data": {"text": "hello"}}\n'],
        "foreign": [foreign_info().event()] if is_describe else [],
        "chunk_first": [audio, AudioStop().event(), SynthesizeStopped().event()],
        "audio_drop": [AudioStart(rate=16000, width=2, channels=1).event(), audio],
        "silent": [AudioStop().event(), SynthesizeStopped().event()],
        "malformed": [Event("info" if is_describe else "transcript", {"asr": "not a list"})],
        "transcript_stream": [
            TranscriptStart(language="en").event(),
            TranscriptChunk(text="hello").event(),
            Transcript(text="hello world").event(),
        ],
    }.get(fault or "", [])
