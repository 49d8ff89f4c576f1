"""Wyoming client helpers for the server's tests.

The requests Home Assistant and satellites make (``describe``, ``transcribe``, ``synthesize``,
``synthesize_streaming``) go through the integration's client core (``chatterbox_wyoming``), so
these tests exercise the exchange the integration ships. ``client``, ``read_until``,
``audio_chunks`` and ``send_events`` stay raw (``wyoming.client.AsyncClient``): protocol and
fault tests send events no well-behaved client sends, in orders it never would, and read the
answer event by event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Info
from wyoming.tts import SynthesizeVoice

import chatterbox_wyoming as core
from chatterbox_wyoming import ServerError

__all__ = [
    "ServerError",
    "Synthesis",
    "Timings",
    "audio_chunks",
    "client",
    "describe",
    "read_until",
    "send_events",
    "synthesize",
    "synthesize_streaming",
    "timed_describe",
    "timed_transcribe",
    "transcribe",
]

TIMEOUT = 60.0


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
            error = Error.from_event(event)
            raise ServerError(error.code, error.text)
        if event.type in types:
            return events


def _core(uri: str, io_timeout: float) -> core.WyomingClient:
    """The client core, every deadline ``io_timeout``."""
    return core.WyomingClient.from_uri(
        uri, core.Timeouts(io_timeout, io_timeout, io_timeout, io_timeout)
    )


@contextlib.contextmanager
def _plain_errors() -> Iterator[None]:
    """A timeout as TimeoutError, a refused or closed connection as ConnectionError."""
    try:
        yield
    except core.Timeout as err:
        raise TimeoutError(str(err)) from err
    except (core.CannotConnect, core.ConnectionClosed) as err:
        raise ConnectionError(str(err)) from err


async def describe(uri: str, io_timeout: float = TIMEOUT) -> Info:
    """Send Describe and return the server's Info."""
    with _plain_errors():
        return await _core(uri, io_timeout).describe()


async def timed_describe(uri: str, io_timeout: float = TIMEOUT) -> tuple[Info, float]:
    """Return the Info and the milliseconds from connecting until the whole Info event arrived.

    Decoding the event into ``Info`` dataclasses (client work) is not part of the time.
    """
    timings = core.Timings()
    with _plain_errors():
        info = await _core(uri, io_timeout).describe(timings)
    assert timings.done is not None
    return info, (timings.done - timings.started) * 1000


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
    """Send one utterance unpaced, as the integration does, and return its Transcript."""

    async def microphone() -> AsyncIterator[bytes]:
        for chunk in audio_chunks(pcm, rate, width, channels, chunk_ms):
            yield chunk.audio

    with _plain_errors():
        transcription = await _core(uri, io_timeout).transcribe(
            microphone(),
            language=language,
            names=names,
            terms=terms,
            audio_format=core.AudioFormat(rate, width, channels),
        )
    return transcription.transcript


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
    events: AsyncGenerator[Event],
    instants: core.Timings,
    result: Synthesis,
    first_audio: asyncio.Event | None = None,
) -> Synthesis:
    """Keep the answer's events in ``result``; its times run from connected."""
    with _plain_errors():
        async with contextlib.aclosing(events):
            async for event in events:
                result.events.append(event.type)
                if AudioStart.is_type(event.type) and result.start is None:
                    result.start = AudioStart.from_event(event)
                elif AudioChunk.is_type(event.type):
                    result.chunks.append(AudioChunk.from_event(event))
                    if first_audio is not None:
                        first_audio.set()
    assert instants.connected is not None
    assert instants.done is not None
    if instants.first_audio is not None:
        result.timings.first_chunk_ms = (instants.first_audio - instants.connected) * 1000
    result.timings.total_ms = (instants.done - instants.connected) * 1000
    result.sent_ms = [(sent - instants.connected) * 1000 for sent in instants.chunks_sent]
    return result


async def synthesize(
    uri: str,
    text: str,
    voice: str | None = None,
    speaker: str | None = None,
    *,
    io_timeout: float = TIMEOUT,
) -> Synthesis:
    """One-shot ``Synthesize``: return the audio up to AudioStop and client timings."""
    instants = core.Timings()
    events = _core(uri, io_timeout).synthesize(text, voice=_voice(voice, speaker), timings=instants)
    return await _collect(events, instants, Synthesis(start=None, chunks=[], timings=Timings()))


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
    first AudioChunk before ending the stream; ``first_chunk_before_stop`` in the result says
    whether audio arrived while the stream was still open. Like Home Assistant, the full text
    is also sent as a plain ``Synthesize`` inside the stream unless ``send_full_synthesize``
    is false.
    """
    pieces = list(pieces)
    result = Synthesis(start=None, chunks=[], timings=Timings())
    first_audio = asyncio.Event()

    async def text() -> AsyncIterator[str]:
        for piece in pieces:
            yield piece
            if delay:
                await asyncio.sleep(delay)
        if wait_for_audio is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_audio.wait(), wait_for_audio)
        result.first_chunk_before_stop = bool(result.chunks)

    instants = core.Timings()
    events = _core(uri, io_timeout).synthesize_stream(
        text(),
        voice=_voice(voice, speaker),
        full_text=send_full_synthesize,
        timings=instants,
    )
    return await _collect(events, instants, result, first_audio)


async def send_events(uri: str, events: Iterable[Event], *, io_timeout: float = TIMEOUT) -> None:
    """Send events on a fresh connection and close it without reading."""
    async with client(uri, io_timeout) as conn:
        for event in events:
            await conn.write_event(event)
