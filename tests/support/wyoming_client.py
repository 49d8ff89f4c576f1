"""Async Wyoming client helpers for tests, built on ``wyoming.client.AsyncClient``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

TIMEOUT = 60.0


class ServerError(RuntimeError):
    """The server answered with a Wyoming ``Error`` event."""

    def __init__(self, error: Error) -> None:
        super().__init__(f"{error.code}: {error.text}")
        self.error = error


@dataclass
class Timings:
    """Client-side timings of one request, in milliseconds from the first event sent."""

    first_chunk_ms: float | None = None
    total_ms: float = 0.0


@dataclass
class Synthesis:
    """The audio a synthesis produced; unpacks as ``(start, chunks, timings)``."""

    start: AudioStart | None
    chunks: list[AudioChunk]
    timings: Timings
    events: list[str] = field(default_factory=list)
    first_chunk_before_stop: bool | None = None
    sent_ms: list[float] = field(default_factory=list)  # when each text piece was sent

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.start, self.chunks, self.timings))

    @property
    def audio(self) -> bytes:
        """All audio bytes joined."""
        return b"".join(chunk.audio for chunk in self.chunks)

    @property
    def seconds(self) -> float:
        """Total audio duration."""
        return sum(chunk.seconds for chunk in self.chunks)


def client(uri: str, io_timeout: float = TIMEOUT) -> AsyncClient:
    """Return an unconnected client for ``uri`` with connect and read timeouts."""
    return AsyncClient.from_uri(uri, connect_timeout=io_timeout, read_timeout=io_timeout)


async def read_until(conn: AsyncClient, *types: str) -> list[Event]:
    """Read events until one of ``types`` (returned last); raise ``ServerError`` on Error."""
    events: list[Event] = []
    while True:
        event = await conn.read_event()
        if event is None:
            raise ConnectionError(f"server closed the connection waiting for {types}")
        events.append(event)
        if Error.is_type(event.type):
            raise ServerError(Error.from_event(event))
        if event.type in types:
            return events


async def describe(uri: str, io_timeout: float = TIMEOUT) -> Info:
    """Send Describe and return the server's Info."""
    async with client(uri, io_timeout) as conn:
        await conn.write_event(Describe().event())
        events = await read_until(conn, "info")
        return Info.from_event(events[-1])


async def timed_describe(uri: str, io_timeout: float = TIMEOUT) -> tuple[Info, float]:
    """Return the Info and the milliseconds from connecting until the whole Info event arrived.

    Decoding the event into ``Info`` dataclasses (client work) is not part of the time.
    """
    start = time.perf_counter()
    async with client(uri, io_timeout) as conn:
        await conn.write_event(Describe().event())
        events = await read_until(conn, "info")
        elapsed = (time.perf_counter() - start) * 1000
    return Info.from_event(events[-1]), elapsed


def audio_chunks(
    pcm: bytes, rate: int, width: int, channels: int, chunk_ms: int = 20
) -> list[AudioChunk]:
    """Split raw PCM into AudioChunk events of ``chunk_ms`` each."""
    step = max(1, rate * chunk_ms // 1000) * width * channels
    return [
        AudioChunk(rate=rate, width=width, channels=channels, audio=pcm[i : i + step])
        for i in range(0, len(pcm), step)
    ]


async def transcribe(
    uri: str,
    pcm: bytes,
    rate: int = 16000,
    width: int = 2,
    channels: int = 1,
    *,
    chunk_ms: int = 20,
    language: str | None = None,
    names: Sequence[str] | None = None,
    terms: Sequence[str] | None = None,
    io_timeout: float = TIMEOUT,
) -> Transcript:
    """Send one utterance and return its Transcript."""
    request = Transcribe(
        language=language,
        transcript_names=list(names) if names is not None else None,
        transcript_terms=list(terms) if terms is not None else None,
    )
    async with client(uri, io_timeout) as conn:
        try:
            await conn.write_event(request.event())
            await conn.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
            for chunk in audio_chunks(pcm, rate, width, channels, chunk_ms):
                await conn.write_event(chunk.event())
            await conn.write_event(AudioStop().event())
        except ConnectionError:
            pass  # the server refused and closed: its Error event may still be readable
        events = await read_until(conn, "transcript")
        return Transcript.from_event(events[-1])


async def timed_transcribe(uri: str, pcm: bytes, **kwargs: object) -> tuple[Transcript, float]:
    """Return the Transcript and milliseconds from connect to transcript."""
    start = time.perf_counter()
    transcript = await transcribe(uri, pcm, **kwargs)  # type: ignore[arg-type]
    return transcript, (time.perf_counter() - start) * 1000


def _voice(voice: str | None, speaker: str | None) -> SynthesizeVoice | None:
    if voice is None and speaker is None:
        return None
    return SynthesizeVoice(name=voice, speaker=speaker)


async def _collect(
    conn: AsyncClient,
    started: float,
    result: Synthesis,
    end_type: str,
    first_audio: asyncio.Event | None = None,
) -> None:
    try:
        await _collect_events(conn, started, result, end_type, first_audio)
    finally:
        if first_audio is not None:
            first_audio.set()  # also when the stream ended or failed without audio


async def _collect_events(
    conn: AsyncClient,
    started: float,
    result: Synthesis,
    end_type: str,
    first_audio: asyncio.Event | None,
) -> None:
    while True:
        event = await conn.read_event()
        if event is None:
            raise ConnectionError("server closed the connection during synthesis")
        result.events.append(event.type)
        if Error.is_type(event.type):
            raise ServerError(Error.from_event(event))
        if AudioStart.is_type(event.type) and result.start is None:
            result.start = AudioStart.from_event(event)
        elif AudioChunk.is_type(event.type):
            if result.timings.first_chunk_ms is None:
                result.timings.first_chunk_ms = (time.perf_counter() - started) * 1000
            result.chunks.append(AudioChunk.from_event(event))
            if first_audio is not None:
                first_audio.set()
        if event.type == end_type:
            result.timings.total_ms = (time.perf_counter() - started) * 1000
            return


async def synthesize(
    uri: str,
    text: str,
    voice: str | None = None,
    speaker: str | None = None,
    *,
    io_timeout: float = TIMEOUT,
) -> Synthesis:
    """One-shot ``Synthesize``: return the audio up to AudioStop and client timings."""
    result = Synthesis(start=None, chunks=[], timings=Timings())
    async with client(uri, io_timeout) as conn:
        started = time.perf_counter()
        await conn.write_event(Synthesize(text=text, voice=_voice(voice, speaker)).event())
        await _collect(conn, started, result, AudioStop().event().type)
    return result


async def synthesize_streaming(
    uri: str,
    pieces: Iterable[str],
    voice: str | None = None,
    speaker: str | None = None,
    *,
    delay: float = 0.0,
    wait_for_audio: float | None = None,
    send_full_synthesize: bool = True,
    io_timeout: float = TIMEOUT,
) -> Synthesis:
    """Stream text as SynthesizeChunk events (like Home Assistant) and collect the audio.

    ``delay`` sleeps between pieces. ``wait_for_audio`` waits up to that many seconds for the
    first AudioChunk before sending SynthesizeStop; ``first_chunk_before_stop`` in the result
    says whether audio arrived while the stream was still open. Like Home Assistant, the full
    text is also sent as a plain ``Synthesize`` inside the stream unless
    ``send_full_synthesize`` is false.
    """
    pieces = list(pieces)
    result = Synthesis(start=None, chunks=[], timings=Timings())
    synthesize_voice = _voice(voice, speaker)
    async with client(uri, io_timeout) as conn:
        started = time.perf_counter()
        await conn.write_event(SynthesizeStart(voice=synthesize_voice).event())
        first_audio = asyncio.Event()
        reader = asyncio.create_task(
            _collect(conn, started, result, SynthesizeStopped().event().type, first_audio)
        )
        try:
            for piece in pieces:
                await conn.write_event(SynthesizeChunk(text=piece).event())
                result.sent_ms.append((time.perf_counter() - started) * 1000)
                if delay:
                    await asyncio.sleep(delay)
            if send_full_synthesize:
                full = Synthesize(text="".join(pieces), voice=synthesize_voice)
                await conn.write_event(full.event())
            if wait_for_audio is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(first_audio.wait(), wait_for_audio)
            result.first_chunk_before_stop = bool(result.chunks)
            await conn.write_event(SynthesizeStop().event())
            await asyncio.wait_for(asyncio.shield(reader), io_timeout)
        finally:
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        reader.result()
    return result


async def send_events(uri: str, events: Iterable[Event], *, io_timeout: float = TIMEOUT) -> None:
    """Send events on a fresh connection and close it without reading."""
    async with client(uri, io_timeout) as conn:
        for event in events:
            await conn.write_event(event)
