"""A satellite-like client: streams a clip as 20 ms chunks to an Assist pipeline or the server.

A voice satellite records 16 kHz mono 16-bit audio and sends it in small chunks as it is
recorded. :func:`chunks` is that stream as an async generator of bytes (what Home Assistant's
``async_pipeline_from_audio_stream`` takes); :func:`stream_to_server` sends it straight to a
Chatterbox server over Wyoming; :func:`synthesize` fetches the spoken answer and
:func:`round_trip` chains both, the way a pipeline does, timing every stage.

Failures never raise: every result says why it failed (``error``), so a test can assert on it.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeVoice

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


def _describe_failure(err: BaseException, stage: str, timeout: float) -> str:
    if isinstance(err, TimeoutError):
        return f"timeout: no answer within {timeout:g} s ({stage})"
    if isinstance(err, ConnectionRefusedError):
        return f"cannot connect: {err}"
    return f"connection failed ({stage}): {type(err).__name__}: {err}"


class _ServerError(Exception):
    def __init__(self, error: Error) -> None:
        super().__init__(f"server error {error.code}: {error.text}")


async def _read(conn: AsyncClient, seconds: float | None) -> Event:
    async with asyncio.timeout(seconds):
        event = await conn.read_event()
    if event is None:
        raise ConnectionResetError("server closed the connection")
    if Error.is_type(event.type):
        raise _ServerError(Error.from_event(event))
    return event


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
    ends the request at once, and so does a Transcript (``early``). ``read_timeout`` bounds
    connecting and waiting for the transcript after AudioStop.
    """
    result = StreamResult(None, None, seconds_of(pcm, rate, width, channels))
    started = time.perf_counter()
    stage = "connect"

    async def send(conn: AsyncClient) -> None:
        await conn.write_event(Transcribe(language=language, transcript_names=names).event())
        await conn.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        async for piece in chunks(
            pcm, rate=rate, width=width, channels=channels, chunk_ms=chunk_ms, realtime=realtime
        ):
            await conn.write_event(
                AudioChunk(rate=rate, width=width, channels=channels, audio=piece).event()
            )
        await conn.write_event(AudioStop().event())
        result.audio_stop_at = time.perf_counter()

    async def receive(conn: AsyncClient) -> Transcript:
        while not Transcript.is_type((event := await _read(conn, None)).type):
            pass
        return Transcript.from_event(event)

    try:
        async with AsyncClient.from_uri(uri, connect_timeout=read_timeout) as conn:
            result.connect_ms = _ms(started)
            connected = time.perf_counter()
            stage = "send audio"
            sender = asyncio.create_task(send(conn))
            receiver = asyncio.create_task(receive(conn))
            try:
                await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if not receiver.done() and (send_error := sender.exception()) is not None:
                    # A broken pipe: the server may have said why just before closing.
                    await asyncio.wait({receiver}, timeout=1.0)
                    if not receiver.done() or isinstance(receiver.exception(), OSError):
                        raise send_error
                if result.audio_stop_at is not None:
                    result.send_ms = (result.audio_stop_at - connected) * 1000
                    stage = "transcript after audio-stop"
                async with asyncio.timeout(read_timeout):
                    transcript = await receiver
                if result.audio_stop_at is None:
                    result.early = True
                    result.stopped_at = time.perf_counter()
                else:
                    result.audio_stop_to_transcript_ms = _ms(result.audio_stop_at)
                    result.stopped_at = result.audio_stop_at
                result.transcript = transcript.text
            finally:
                for task in (sender, receiver):
                    task.cancel()
                await asyncio.gather(sender, receiver, return_exceptions=True)
    except _ServerError as err:
        result.error = str(err)
    except (OSError, TimeoutError) as err:
        result.error = _describe_failure(err, stage, read_timeout)
    result.total_ms = _ms(started)
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
    stage = "connect"
    started = time.perf_counter()
    try:
        async with AsyncClient.from_uri(uri, connect_timeout=read_timeout) as conn:
            stage = "synthesize"
            synthesize_voice = (
                SynthesizeVoice(name=voice, speaker=speaker) if voice or speaker else None
            )
            started = time.perf_counter()
            await conn.write_event(Synthesize(text=text, voice=synthesize_voice).event())
            while not AudioStop.is_type((event := await _read(conn, read_timeout)).type):
                if AudioChunk.is_type(event.type):
                    chunk = AudioChunk.from_event(event)
                    if answer.first_audio_ms is None:
                        answer.first_audio_at = time.perf_counter()
                        answer.first_audio_ms = (answer.first_audio_at - started) * 1000
                        answer.rate, answer.width, answer.channels = (
                            chunk.rate,
                            chunk.width,
                            chunk.channels,
                        )
                    answer.chunk_count += 1
                    pieces.append(chunk.audio)
    except _ServerError as err:
        answer.error = str(err)
    except (OSError, TimeoutError) as err:
        answer.error = _describe_failure(err, stage, read_timeout)
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
