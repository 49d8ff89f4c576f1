"""Timed Wyoming requests, made as a satellite makes them, to Chatterbox and to the peers.

The conversations are the integration's client core's (``chatterbox_wyoming``, imported by its
own name: see ``bench/__init__.py``); this module paces the audio like a microphone and turns
the core's instants into the bench's numbers.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import dataclass

from wyoming.audio import AudioChunk
from wyoming.info import Info

from chatterbox_wyoming import (
    CannotConnect,
    ConnectionClosed,
    ServerError,
    Timeout,
    Timeouts,
    Timings,
    WyomingClient,
    WyomingError,
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


def _ms(since: float, until: float) -> float:
    return (until - since) * 1000


def _client(port: int, limit: float = TIMEOUT) -> WyomingClient:
    return WyomingClient(HOST, port, Timeouts(limit, limit, limit, limit))


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Fail as a plain Wyoming client does: OSError or TimeoutError, else RequestError."""
    try:
        yield
    except Timeout as err:
        raise TimeoutError(str(err)) from err
    except (CannotConnect, ConnectionClosed) as err:
        if isinstance(cause := err.__cause__, OSError):
            raise cause from None
        raise RequestError(str(err)) from err
    except ServerError as err:
        raise RequestError(f"{err.code}: {err.text}") from err
    except WyomingError as err:
        raise RequestError(str(err)) from err


async def describe(port: int, limit: float = 10.0) -> tuple[Info, float]:
    """Connect, ask Describe and return the Info with the round trip in ms.

    The round trip runs from connecting to the whole Info event read (JSON decoded, so a big
    answer costs the client too), not its conversion to ``Info``.
    """
    timings = Timings()
    with _plain_errors():
        async with asyncio.timeout(limit):
            info = await _client(port, limit).describe(timings)
    assert timings.done is not None
    return info, _ms(timings.started, timings.done)


async def paced(pcm: bytes, pace: float, began: float) -> AsyncIterator[tuple[int, bytes]]:
    """Yield ``pcm``'s 20 ms chunks with their byte offsets, as a microphone records them.

    Each leaves once it would have been recorded by a microphone started at ``began``, at
    ``pace`` x real time (0: unpaced).
    """
    for index, offset in enumerate(range(0, len(pcm), CHUNK_BYTES)):
        if pace > 0:
            due = began + (index + 1) * CHUNK_SECONDS / pace  # once recorded
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        yield offset, pcm[offset : offset + CHUNK_BYTES]


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
    began: float | None = None  # when the microphone started

    async def microphone() -> AsyncIterator[bytes]:
        nonlocal began
        began = time.perf_counter()
        async for _, chunk in paced(pcm, pace, began):
            yield chunk

    timings = Timings()
    with _plain_errors():
        async with asyncio.timeout(TIMEOUT + seconds):
            result = await _client(port).transcribe(
                microphone(),
                language=language,
                names=list(names) or None,
                vad_sensitivity=sensitivity,
                stop_after_transcript=False,
                timings=timings,
            )
            # Early: when AudioStop would have gone (the audio's end; now if unpaced).
            if result.early:
                assert began is not None
                stopped = began + seconds / pace if pace > 0 else time.perf_counter()
            else:
                assert timings.audio_stop_sent is not None
                stopped = timings.audio_stop_sent
            arrived = timings.transcript
            assert arrived is not None
            sent_at = timings.chunks_sent  # when each chunk had gone
            speech_sent: float | None = None
            if speech_end is not None:
                for index, at in enumerate(sent_at):
                    if min((index + 1) * CHUNK_BYTES, len(pcm)) / (RATE * WIDTH) >= speech_end:
                        speech_sent = at
                        break
            heard = bisect.bisect_right(sent_at, arrived) * CHUNK_BYTES / (RATE * WIDTH)
            spoken: float | None = None
            if answer is not None and speech_sent is not None:
                spoken = (await synthesize(*answer, since=speech_sent)).first_audio_ms
    return SttResult(
        _ms(stopped, arrived),
        result.text,
        _ms(speech_sent, arrived) if speech_sent is not None else None,
        result.early,
        round(min(heard, seconds) if result.early else seconds, 3),
        spoken,
    )


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


async def _pieces(pieces: list[str]) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


async def synthesize(
    port: int, text: str, mode: str = ONESHOT, since: float | None = None
) -> TtsResult:
    """Speak ``text`` one-shot (Synthesize) or streamed (SynthesizeStart/Chunk/Stop).

    See :func:`stream_chunks` for the streaming modes; a stream also carries the whole text as
    a plain Synthesize before SynthesizeStop, as Home Assistant sends it. One-shot ends at
    AudioStop, streaming at SynthesizeStopped. The times run from the first event sent, or
    from ``since`` (a ``time.perf_counter()`` instant) when given.
    """
    client = _client(port)
    timings = Timings()
    audio_seconds = 0.0
    with _plain_errors():
        async with asyncio.timeout(TIMEOUT):
            if mode == ONESHOT:
                events = client.synthesize(text, timings=timings)
            else:
                pieces = _pieces(stream_chunks(text, mode))
                events = client.synthesize_stream(pieces, full_text=True, timings=timings)
            async with aclosing(events):
                async for event in events:
                    if AudioChunk.is_type(event.type):
                        got = AudioChunk.from_event(event)
                        audio_seconds += len(got.audio) / (got.rate * got.width * got.channels)
    if timings.first_audio is None:
        raise RequestError("no audio")
    assert timings.connected is not None
    assert timings.done is not None
    started = timings.connected if since is None else since
    return TtsResult(_ms(started, timings.first_audio), _ms(started, timings.done), audio_seconds)
