"""A satellite-like client: streams a clip as 20 ms chunks to an Assist pipeline or the server.

A voice satellite records 16 kHz mono 16-bit audio and sends it in small chunks as it is
recorded. :func:`chunks` is that stream as an async generator of bytes (what Home Assistant's
``async_pipeline_from_audio_stream`` takes); :func:`stream_to_server` sends it straight to a
Chatterbox server over Wyoming; :func:`synthesize` fetches the spoken answer and
:func:`round_trip` chains both, the way a pipeline does, timing every stage. The Wyoming side is
the integration's client core (``chatterbox_wyoming``): this module paces and times it.

Failures never raise: every result says why it failed (``error``), so a test can assert on it.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.audio import AudioChunk, AudioChunkConverter
from wyoming.tts import SynthesizeVoice

from chatterbox_wyoming import (
    AudioFormat,
    CannotConnect,
    NoAudio,
    ServerError,
    Timeout,
    Timeouts,
    Timings,
    WyomingClient,
    WyomingError,
)

RATE = 16000
WIDTH = 2
CHANNELS = 1
CHUNK_MS = 20
TIMEOUT = 30.0


def load_wav(path: Path) -> bytes:
    """Read a WAV file as 16 kHz mono 16-bit PCM (converted by wyoming if it is not)."""
    with wave.open(str(path), "rb") as wav:
        chunk = AudioChunk(
            rate=wav.getframerate(),
            width=wav.getsampwidth(),
            channels=wav.getnchannels(),
            audio=wav.readframes(wav.getnframes()),
        )
    return AudioChunkConverter(rate=RATE, width=WIDTH, channels=CHANNELS).convert(chunk).audio


def seconds_of(pcm: bytes, rate: int = RATE, width: int = WIDTH, channels: int = CHANNELS) -> float:
    """Duration of raw PCM."""
    return len(pcm) / (rate * width * channels)


async def chunks(
    pcm: bytes,
    *,
    rate: int = RATE,
    width: int = WIDTH,
    channels: int = CHANNELS,
    chunk_ms: int = CHUNK_MS,
    realtime: bool = False,
) -> AsyncIterator[bytes]:
    """Yield ``pcm`` in ``chunk_ms`` pieces, as a microphone stream would.

    With ``realtime`` each piece is yielded once it would have been recorded (chunk ``i`` at
    ``(i + 1) * chunk_ms`` after the start, against the event loop's clock, so pacing does not
    drift). Without it, pieces come as fast as the consumer takes them, yielding to the event
    loop between pieces so concurrent streams interleave.
    """
    step = max(1, rate * chunk_ms // 1000) * width * channels
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, offset in enumerate(range(0, len(pcm), step)):
        if realtime:
            await asyncio.sleep(max(0.0, started + (index + 1) * chunk_ms / 1000 - loop.time()))
        else:
            await asyncio.sleep(0)
        yield pcm[offset : offset + step]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _client(uri: str, timeout: float) -> WyomingClient:
    """The client core, every deadline ``timeout``."""
    return WyomingClient.from_uri(uri, Timeouts(timeout, timeout, timeout, timeout))


def _describe_failure(err: WyomingError, stage: str, timeout: float) -> str:
    if isinstance(err, ServerError):
        return f"server error {err.code}: {err.text}"
    if isinstance(err, Timeout):
        return f"timeout: no answer within {timeout:g} s ({stage})"
    if isinstance(err, NoAudio):
        return "no audio: the server sent neither AudioStart nor any AudioChunk"
    cause = err.__cause__
    if isinstance(err, CannotConnect) and isinstance(cause, ConnectionRefusedError):
        return f"cannot connect: {cause}"
    if isinstance(cause, OSError):
        return f"connection failed ({stage}): {type(cause).__name__}: {cause}"
    return f"connection failed ({stage}): {err}"


@dataclass
class StreamResult:
    """What the server made of one utterance, and how long each part took."""

    transcript: str | None
    """The recognized text; None when the request failed."""
    error: str | None
    """Why the request failed; None on success."""
    audio_seconds: float
    connect_ms: float | None = None
    """Opening the connection."""
    send_ms: float | None = None
    """From connected to AudioStop sent (the audio's duration when paced in real time)."""
    audio_stop_to_transcript_ms: float | None = None
    """From AudioStop sent to Transcript received: the server's recognition latency."""
    total_ms: float = 0.0
    audio_stop_at: float | None = None
    """``time.perf_counter()`` when AudioStop was sent."""
    early: bool = False
    """The Transcript came before AudioStop (the server found the end of speech): the
    satellite stopped sending then, as Home Assistant does."""
    stopped_at: float | None = None
    """When the satellite stopped talking: AudioStop sent, or the early Transcript read."""

    @property
    def ok(self) -> bool:
        """True when a transcript came back."""
        return self.error is None


async def stream_to_server(
    uri: str,
    pcm: bytes,
    *,
    rate: int = RATE,
    width: int = WIDTH,
    channels: int = CHANNELS,
    chunk_ms: int = CHUNK_MS,
    realtime: bool = False,
    language: str | None = None,
    names: list[str] | None = None,
    read_timeout: float = TIMEOUT,
) -> StreamResult:
    """Stream an utterance to the server over Wyoming and wait for its transcript.

    Like a real satellite, it listens while it talks: an Error the server sends mid-stream
    ends the request at once, and so does a Transcript (``early``; no AudioStop follows).
    ``read_timeout`` bounds connecting, each write and the wait for the transcript after
    AudioStop.
    """
    result = StreamResult(None, None, seconds_of(pcm, rate, width, channels))
    timings = Timings()
    microphone = chunks(
        pcm, rate=rate, width=width, channels=channels, chunk_ms=chunk_ms, realtime=realtime
    )
    try:
        transcription = await _client(uri, read_timeout).transcribe(
            microphone,
            language=language,
            names=names,
            audio_format=AudioFormat(rate, width, channels),
            stop_after_transcript=False,  # a satellite that heard the answer stops talking
            timings=timings,
        )
    except WyomingError as err:
        if timings.connected is None:
            stage = "connect"
        elif timings.audio_stop_sent is None:
            stage = "send audio"
        else:
            stage = "transcript after audio-stop"
        result.error = _describe_failure(err, stage, read_timeout)
    else:
        result.transcript = transcription.text
        result.early = transcription.early
        result.stopped_at = timings.transcript if transcription.early else timings.audio_stop_sent
    if timings.connected is not None:
        result.connect_ms = (timings.connected - timings.started) * 1000
    result.audio_stop_at = timings.audio_stop_sent
    if timings.audio_stop_sent is not None:
        assert timings.connected is not None
        result.send_ms = (timings.audio_stop_sent - timings.connected) * 1000
        if timings.transcript is not None:
            result.audio_stop_to_transcript_ms = (
                timings.transcript - timings.audio_stop_sent
            ) * 1000
    result.total_ms = _ms(timings.started)
    return result


@dataclass
class SpokenAnswer:
    """Audio the server synthesized, with its format and timings."""

    audio: bytes = field(default=b"", repr=False)
    rate: int = 0
    width: int = 0
    channels: int = 0
    error: str | None = None
    chunk_count: int = 0
    first_audio_ms: float | None = None
    """From Synthesize sent to the first AudioChunk."""
    total_ms: float = 0.0
    """From Synthesize sent to AudioStop."""
    first_audio_at: float | None = None
    """``time.perf_counter()`` when the first AudioChunk arrived."""

    @property
    def ok(self) -> bool:
        """True when audio came back complete."""
        return self.error is None

    @property
    def seconds(self) -> float:
        """Duration of the audio."""
        if not self.rate:
            return 0.0
        return seconds_of(self.audio, self.rate, self.width, self.channels)


async def synthesize(
    uri: str,
    text: str,
    *,
    voice: str | None = None,
    speaker: str | None = None,
    read_timeout: float = TIMEOUT,
) -> SpokenAnswer:
    """Ask the server to speak ``text`` (one-shot Synthesize) and collect the audio.

    ``read_timeout`` bounds connecting and each wait for the next event.
    """
    answer = SpokenAnswer()
    pieces: list[bytes] = []
    timings = Timings()
    synthesize_voice = SynthesizeVoice(name=voice, speaker=speaker) if voice or speaker else None
    events = _client(uri, read_timeout).synthesize(text, voice=synthesize_voice, timings=timings)
    try:
        async with aclosing(events):
            async for event in events:
                if AudioChunk.is_type(event.type):
                    chunk = AudioChunk.from_event(event)
                    if not pieces:
                        answer.rate, answer.width, answer.channels = (
                            chunk.rate,
                            chunk.width,
                            chunk.channels,
                        )
                    answer.chunk_count += 1
                    pieces.append(chunk.audio)
    except WyomingError as err:
        stage = "connect" if timings.connected is None else "synthesize"
        answer.error = _describe_failure(err, stage, read_timeout)
    started = timings.connected if timings.connected is not None else timings.started
    if timings.first_audio is not None:
        answer.first_audio_at = timings.first_audio
        answer.first_audio_ms = (timings.first_audio - started) * 1000
    answer.total_ms = _ms(started)
    answer.audio = b"".join(pieces)
    if answer.error is None and not answer.audio:
        answer.error = "no audio: the server sent AudioStop without any AudioChunk"
    return answer


def echo(transcript: str) -> str:
    """The default 'conversation agent' of a round trip: repeat what was understood."""
    return f"You said: {transcript}."


@dataclass
class RoundTrip:
    """Speech in, transcript, answer text, speech out; ``error`` says why it stopped early."""

    stt: StreamResult
    answer_text: str | None = None
    tts: SpokenAnswer | None = None
    error: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Per stage: ``stt`` (AudioStop to Transcript; 0 when it came before), ``tts_first_audio``,
    ``tts_total``, ``response`` (the satellite stopping to talk to the first answer audio,
    what the user waits for) and ``total``."""

    @property
    def ok(self) -> bool:
        """True when the answer was spoken."""
        return self.error is None


async def round_trip(
    uri: str,
    pcm: bytes,
    *,
    answer: Callable[[str], str] = echo,
    realtime: bool = False,
    language: str | None = None,
    voice: str | None = None,
    speaker: str | None = None,
    read_timeout: float = TIMEOUT,
) -> RoundTrip:
    """Run what a pipeline runs: STT, then ``answer`` on the transcript, then TTS.

    Like Home Assistant's pipeline, TTS is only run when STT produced text: a failed or empty
    recognition ends the round trip with ``error`` set and no ``tts``.
    """
    started = time.perf_counter()
    stt = await stream_to_server(
        uri, pcm, realtime=realtime, language=language, read_timeout=read_timeout
    )
    trip = RoundTrip(stt=stt)
    if stt.audio_stop_to_transcript_ms is not None or stt.early:
        trip.timings_ms["stt"] = stt.audio_stop_to_transcript_ms or 0.0
    if not stt.ok:
        trip.error = f"speech-to-text failed: {stt.error}"
    elif not stt.transcript or not stt.transcript.strip():
        trip.error = "speech-to-text recognized no text"
    if trip.error is not None:
        trip.timings_ms["total"] = _ms(started)
        return trip
    assert stt.transcript is not None
    trip.answer_text = answer(stt.transcript.strip())
    trip.tts = await synthesize(
        uri, trip.answer_text, voice=voice, speaker=speaker, read_timeout=read_timeout
    )
    if not trip.tts.ok:
        trip.error = f"text-to-speech failed: {trip.tts.error}"
    if trip.tts.first_audio_ms is not None:
        trip.timings_ms["tts_first_audio"] = trip.tts.first_audio_ms
    if trip.tts.first_audio_at is not None and stt.stopped_at is not None:
        trip.timings_ms["response"] = (trip.tts.first_audio_at - stt.stopped_at) * 1000
    trip.timings_ms["tts_total"] = trip.tts.total_ms
    trip.timings_ms["total"] = _ms(started)
    return trip
