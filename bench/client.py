"""Timed Wyoming requests, made like a satellite would with ``wyoming.client.AsyncTcpClient``."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)

HOST = "127.0.0.1"
RATE, WIDTH, CHANNELS = 16000, 2, 1
CHUNK_SECONDS = 0.02
CHUNK_BYTES = int(RATE * CHUNK_SECONDS) * WIDTH * CHANNELS
TIMEOUT = 120.0
# Home Assistant's assist pipeline starts a TTS stream once the agent's answer has more than this
# many characters (STREAM_RESPONSE_CHARS) and sends those as the stream's first chunk.
HA_FIRST_CHUNK_CHARS = 60
ONESHOT, STREAMING, STREAMING_WORDS = "oneshot", "streaming", "streaming_words"
TTS_MODES = (ONESHOT, STREAMING, STREAMING_WORDS)


class RequestError(RuntimeError):
    """A server answered with an Error event or hung up early."""


@dataclass(frozen=True)
class SttResult:
    """One transcription: the waits for it and the text."""

    latency_ms: float
    """From the end of the audio (AudioStop sent, or due) to the Transcript: < 0 if before."""
    text: str
    speech_end_ms: float | None = None
    """From the end of the speech in the audio (when it was sent) to the Transcript."""
    early: bool = False
    """The Transcript came before AudioStop (the server found the end of speech)."""
    heard_s: float | None = None
    """Seconds of audio sent when the Transcript came (all of it once AudioStop went)."""
    answer_first_audio_ms: float | None = None
    """From the end of the speech to the first audio of the spoken answer asked right after
    the Transcript (``transcribe``'s ``answer``)."""


@dataclass(frozen=True)
class TtsResult:
    """One synthesis: time to the first audio chunk and to the end, from the first event sent."""

    first_audio_ms: float
    total_ms: float
    audio_seconds: float


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


async def _read(client: AsyncTcpClient) -> Event:
    event = await client.read_event()
    if event is None:
        raise RequestError("server closed the connection")
    if Error.is_type(event.type):
        error = Error.from_event(event)
        raise RequestError(f"{error.code}: {error.text}")
    return event


async def describe(port: int, limit: float = 10.0) -> tuple[Info, float]:
    """Connect, ask Describe and return the Info with the round trip in ms.

    The round trip runs from connecting to the whole Info event read (JSON decoded, so a big
    answer costs the client too), not its conversion to ``Info``.
    """
    started = time.perf_counter()
    async with asyncio.timeout(limit), AsyncTcpClient(HOST, port) as client:
        await client.write_event(Describe().event())
        while not Info.is_type((event := await _read(client)).type):
            pass
        elapsed = _ms(started)
    return Info.from_event(event), elapsed


async def transcribe(
    port: int,
    pcm: bytes,
    pace: float,
    language: str | None,
    names: Sequence[str] = (),
    speech_end: float | None = None,
    sensitivity: str | None = None,
    answer: tuple[int, str] | None = None,
) -> SttResult:
    """Stream ``pcm`` (16 kHz mono s16) in 20 ms chunks at ``pace`` x real time (0: unpaced).

    ``names``, the home's names, go in Transcribe's ``transcript_names`` as HA sends them;
    ``sensitivity`` in its ``vad_sensitivity`` (None: not sent, the server's default).

    Paced, each chunk leaves once it would have been recorded, as from a microphone. It reads
    while it sends, as Home Assistant's wyoming STT does: a Transcript before the audio ends
    stops the upload at once (no AudioStop) and closes. ``speech_end`` (seconds into ``pcm``)
    is where the speech ends, for ``speech_end_ms`` and ``answer_first_audio_ms``.

    ``answer`` (port, text): right after the Transcript, ask that TTS server for ``text``
    one-shot, as a pipeline speaks its answer, and time the end of speech to its first audio.
    """
    seconds = len(pcm) / (RATE * WIDTH)
    async with asyncio.timeout(TIMEOUT + seconds):
        async with AsyncTcpClient(HOST, port) as client:
            request = Transcribe(
                language=language,
                transcript_names=list(names) or None,
                vad_sensitivity=sensitivity,
            )
            await client.write_event(request.event())
            await client.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            began = time.perf_counter()
            speech_sent: float | None = None
            sent_at: list[float] = []  # when each chunk had gone
            reply = asyncio.ensure_future(_transcript(client))
            try:
                for index, offset in enumerate(range(0, len(pcm), CHUNK_BYTES)):
                    if pace > 0:
                        due = began + (index + 1) * CHUNK_SECONDS / pace  # once recorded
                        await asyncio.wait([reply], timeout=max(0.0, due - time.perf_counter()))
                    if reply.done():
                        break
                    audio = pcm[offset : offset + CHUNK_BYTES]
                    chunk = AudioChunk(rate=RATE, width=WIDTH, channels=CHANNELS, audio=audio)
                    await client.write_event(chunk.event())
                    sent_at.append(time.perf_counter())
                    done = (offset + len(audio)) / (RATE * WIDTH)
                    if speech_sent is None and speech_end is not None and done >= speech_end:
                        speech_sent = sent_at[-1]
                early = reply.done()
                if not early:
                    await client.write_event(AudioStop().event())
                # Early: when AudioStop would have gone (the audio's end; now if unpaced).
                stopped = began + seconds / pace if early and pace > 0 else time.perf_counter()
                text, arrived = await reply
            finally:
                if not reply.done():
                    reply.cancel()
                    await asyncio.gather(reply, return_exceptions=True)
        heard = bisect.bisect_right(sent_at, arrived) * CHUNK_BYTES / (RATE * WIDTH)
        spoken: float | None = None
        if answer is not None and speech_sent is not None:
            spoken = (await synthesize(*answer, since=speech_sent)).first_audio_ms
        return SttResult(
            (arrived - stopped) * 1000,
            text,
            (arrived - speech_sent) * 1000 if speech_sent is not None else None,
            early,
            round(min(heard, seconds) if early else seconds, 3),
            spoken,
        )


async def _transcript(client: AsyncTcpClient) -> tuple[str, float]:
    """Read up to the Transcript; return its text and when it came."""
    while not Transcript.is_type((event := await _read(client)).type):
        pass
    return Transcript.from_event(event).text, time.perf_counter()


def stream_chunks(text: str, mode: str) -> list[str]:
    """Cut ``text`` into a stream's SynthesizeChunk texts.

    The text comes word by word as a language model's tokens do, each word after the first
    with its leading space (" kitchen"). ``streaming`` sends it as Home Assistant's pipeline
    passes such an answer on: its first > 60 characters at once, then word by word.
    ``streaming_words`` sends every word on its own from the start.
    """
    first_word, *rest = text.split(" ")
    words = [first_word, *(f" {word}" for word in rest)]
    if mode == STREAMING_WORDS:
        return words
    first = ""
    while words and len(first) <= HA_FIRST_CHUNK_CHARS:
        first += words.pop(0)
    return [first, *words]


async def synthesize(
    port: int, text: str, mode: str = ONESHOT, since: float | None = None
) -> TtsResult:
    """Speak ``text`` one-shot (Synthesize) or streamed (SynthesizeStart/Chunk/Stop).

    See :func:`stream_chunks` for the streaming modes. One-shot ends at AudioStop, streaming at
    SynthesizeStopped. The times run from the first event sent, or from ``since`` (a
    ``time.perf_counter()`` instant) when given.
    """
    streaming = mode != ONESHOT
    async with asyncio.timeout(TIMEOUT), AsyncTcpClient(HOST, port) as client:
        started = time.perf_counter() if since is None else since
        if streaming:
            await client.write_event(SynthesizeStart().event())
            for chunk in stream_chunks(text, mode):
                await client.write_event(SynthesizeChunk(text=chunk).event())
            await client.write_event(Synthesize(text=text).event())
            await client.write_event(SynthesizeStop().event())
        else:
            await client.write_event(Synthesize(text=text).event())
        done = SynthesizeStopped if streaming else AudioStop
        first: float | None = None
        audio_seconds = 0.0
        while not done.is_type((event := await _read(client)).type):
            if AudioChunk.is_type(event.type):
                if first is None:
                    first = _ms(started)
                got = AudioChunk.from_event(event)
                audio_seconds += len(got.audio) / (got.rate * got.width * got.channels)
        total = _ms(started)
        if first is None:
            raise RequestError("no audio")
        return TtsResult(first, total, audio_seconds)
