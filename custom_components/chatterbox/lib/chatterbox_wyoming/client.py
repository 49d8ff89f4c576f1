"""The requests: Describe, the early-Transcript upload, one-shot and streamed synthesis.

One TCP connection per request, every wait with a deadline (:class:`Timeouts`). Each request
notes when its stages happened in a :class:`Timings` the caller may pass in (it is filled in
also when the request fails), so the layers above report what they need from the same instants.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import SynthesizeChunk, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from .connection import Connection, Timeouts, parse
from .errors import ConnectionClosed, NoAudio, WyomingError
from .protocol import (
    PCM16K,
    AudioFormat,
    synthesize_event,
    synthesize_start_event,
    transcribe_event,
)


@dataclass(slots=True)
class Timings:
    """``time.perf_counter()`` instants of one request; None where it did not get to."""

    started: float = 0.0
    """The request began, before connecting."""
    connected: float | None = None
    handshake: float | None = None
    """Info read in answer to the opening Describe (a client made with ``handshake``)."""
    chunks_sent: list[float] = field(default_factory=list)
    """Each AudioChunk (upload) or SynthesizeChunk (text stream) written."""
    audio_bytes: int = 0
    """Bytes of audio written."""
    audio_stop_sent: float | None = None
    """AudioStop written after the audio; None when the Transcript came first."""
    transcript: float | None = None
    """The Transcript read."""
    first_audio: float | None = None
    """The first AudioChunk of a synthesis read."""
    done: float | None = None
    """The answer's last event read: Info, Transcript, AudioStop or SynthesizeStopped."""


def host_port(host: str, port: int) -> str:
    """Return ``host:port``, an IPv6 host in brackets (``[::1]:10300``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Transcription:
    """The server's Transcript and whether it came before the audio ended."""

    transcript: Transcript
    early: bool
    """The server found the end of speech itself and answered before AudioStop."""

    @property
    def text(self) -> str:
        """The recognized text."""
        return self.transcript.text


class _Answer:
    """Watches a synthesis' events: its first audio, its end, whether it had any audio."""

    def __init__(self, last: str, timings: Timings) -> None:
        self.last = last
        self.timings = timings
        self.audio = False

    def ends_with(self, event: Event) -> bool:
        """Note ``event``; True when it ends the answer (which then must have had audio)."""
        now = time.perf_counter()
        if AudioChunk.is_type(event.type):
            self.audio = True
            if self.timings.first_audio is None:
                self.timings.first_audio = now
        elif AudioStart.is_type(event.type):
            self.audio = True
        if event.type != self.last:
            return False
        self.timings.done = now
        if not self.audio:
            raise NoAudio
        return True


class WyomingClient:
    """Requests to one Wyoming server (Chatterbox or any other).

    With ``handshake`` every request opens with a Describe that must be answered within
    ``timeouts.handshake``: a server that accepts connections but no longer answers (hung,
    overloaded, something else on the port) is found out in that time rather than at the
    request's own, much longer deadline. It costs one round trip; Wyoming servers answer
    Describe on any connection and go on with the request after it.
    """

    def __init__(
        self, host: str, port: int, timeouts: Timeouts | None = None, *, handshake: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self.timeouts = timeouts if timeouts is not None else Timeouts()
        self.handshake = handshake

    @property
    def address(self) -> tuple[str, int]:
        """Host and port."""
        return self.host, self.port

    @classmethod
    def from_uri(cls, uri: str, timeouts: Timeouts | None = None) -> WyomingClient:
        """Make a client for ``tcp://host:port``."""
        parts = urlsplit(uri)
        if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
            raise ValueError(f"not a tcp://host:port URI: {uri}")
        return cls(parts.hostname, parts.port, timeouts)

    @asynccontextmanager
    async def _connect(
        self, timings: Timings, *, handshake: bool = True
    ) -> AsyncIterator[Connection]:
        connection = await Connection.open(self.host, self.port, self.timeouts)
        timings.connected = time.perf_counter()
        try:
            if self.handshake and handshake:
                await connection.write(Describe().event())
                await _info(connection, self.timeouts.handshake, "handshake")
                timings.handshake = time.perf_counter()
            yield connection
        finally:
            await connection.close()

    async def describe(self, timings: Timings | None = None) -> Info:
        """Ask the server what it offers."""
        timings = _begin(timings)
        async with self._connect(timings, handshake=False) as connection:
            await connection.write(Describe().event())
            info = await _info(connection, self.timeouts.describe, "describe")
            timings.done = time.perf_counter()
        return info

    async def transcribe(
        self,
        audio: AsyncIterable[bytes],
        *,
        language: str | None = None,
        names: Sequence[str] | None = None,
        terms: Sequence[str] | None = None,
        vad_sensitivity: str | None = None,
        audio_format: AudioFormat = PCM16K,
        stop_after_transcript: bool = True,
        timings: Timings | None = None,
    ) -> Transcription:
        """Stream ``audio`` (PCM in ``audio_format``) and return the server's Transcript.

        Chunks go out as ``audio`` yields them: pacing them is the caller's. The server may
        answer before the audio ends, with an Error or, once it found the end of speech itself
        (Info: ``requires_external_vad`` false), with the Transcript; so the upload listens
        while it sends, and an early answer stops it (the rest of ``audio`` is not read). After
        an early Transcript, ``stop_after_transcript`` ends the upload with AudioStop as a
        client that stopped talking does; without it the connection just closes.
        """
        timings = _begin(timings)
        async with self._connect(timings) as connection:
            await connection.write(transcribe_event(language, names, terms, vad_sensitivity))
            await connection.write(audio_format.start())

            async def upload() -> None:
                async for pcm in audio:
                    await connection.write(audio_format.chunk(pcm))
                    timings.chunks_sent.append(time.perf_counter())
                    timings.audio_bytes += len(pcm)
                await connection.write(AudioStop().event())
                timings.audio_stop_sent = time.perf_counter()

            events = connection.events_while(upload(), self.timeouts.transcript, "transcribe")
            async with aclosing(events):
                async for event in events:
                    if Transcript.is_type(event.type):
                        timings.transcript = timings.done = time.perf_counter()
                        transcript = parse(Transcript.from_event, event)
                        break
                else:
                    raise ConnectionClosed
            early = timings.audio_stop_sent is None  # the upload is stopped by now
            if early and stop_after_transcript:
                with suppress(WyomingError):
                    await connection.write(AudioStop().event())
        return Transcription(transcript, early)

    async def synthesize(
        self,
        text: str,
        *,
        voice: SynthesizeVoice | None = None,
        context: dict[str, Any] | None = None,
        timings: Timings | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Speak ``text`` in one request: yield the answer's events up to its AudioStop.

        Each event must come within ``timeouts.audio``; an answer without AudioStart or any
        audio is NoAudio.
        """
        timings = _begin(timings)
        answer = _Answer(AudioStop().event().type, timings)
        async with self._connect(timings) as connection:
            await connection.write(synthesize_event(text, voice, context))
            while True:
                event = await connection.read(self.timeouts.audio, "synthesize")
                ended = answer.ends_with(event)
                yield event
                if ended:
                    return

    async def synthesize_stream(
        self,
        text: AsyncIterable[str],
        *,
        voice: SynthesizeVoice | None = None,
        context: dict[str, Any] | None = None,
        full_text: bool = False,
        timings: Timings | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Send ``text`` as it comes; yield the answer's events up to SynthesizeStopped.

        SynthesizeStart, a SynthesizeChunk per non-empty piece, SynthesizeStop; ``full_text``
        also sends the whole text as a plain Synthesize before SynthesizeStop, as Home
        Assistant does for servers that do not stream. No deadline while text is still coming
        (the server may be waiting for the end of a sentence); once it is all sent, each event
        must come within ``timeouts.audio``. An error of ``text`` ends the stream with it.
        """
        timings = _begin(timings)
        answer = _Answer(SynthesizeStopped().event().type, timings)
        async with self._connect(timings) as connection:

            async def send() -> None:
                await connection.write(synthesize_start_event(voice, context))
                sent: list[str] = []
                async for piece in text:
                    if piece:
                        await connection.write(SynthesizeChunk(text=piece).event())
                        timings.chunks_sent.append(time.perf_counter())
                        sent.append(piece)
                if full_text:
                    await connection.write(synthesize_event("".join(sent), voice, context))
                await connection.write(SynthesizeStop().event())

            events = connection.events_while(send(), self.timeouts.audio, "synthesize")
            async with aclosing(events):
                async for event in events:
                    ended = answer.ends_with(event)
                    yield event
                    if ended:
                        return


async def _info(connection: Connection, seconds: float, stage: str) -> Info:
    """Read up to the Info answering a Describe, each event within ``seconds``."""
    event = await connection.read(seconds, stage)
    while not Info.is_type(event.type):
        event = await connection.read(seconds, stage)
    return parse(Info.from_event, event)


def _begin(timings: Timings | None) -> Timings:
    timings = timings if timings is not None else Timings()
    timings.started = time.perf_counter()
    return timings
