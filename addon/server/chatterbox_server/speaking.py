"""One connection's text-to-speech: one-shot Synthesize and Synthesize streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeStart, SynthesizeStopped, SynthesizeVoice

from .connection import Connection
from .limits import (
    CONTEXT_KEY,
    LENGTH_SCALE_KEY,
    MAX_LENGTH_SCALE,
    MAX_TTS_CHARS,
    MIN_LENGTH_SCALE,
    ClientError,
)
from .models import ModelNotFoundError
from .sentences import SentenceSplitter, ends_clause, split_sentences
from .tts import LoadedVoice, TtsEngine, UnknownSpeakerError
from .voices import Voices

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_CHUNK = 2048  # audio samples per AudioChunk sent
CHUNKS_PER_WRITE = 16  # AudioChunks sent in one write (~1.5 s of audio at 22 kHz)


@dataclass
class _Speech:
    """Progress of one synthesis request, for its log line."""

    voice: LoadedVoice
    speaker_id: int | None
    length_scale: float | None = None
    started: float = field(default_factory=time.perf_counter)
    chars: int = 0
    sentences: int = 0
    audio_seconds: float = 0.0
    first_chunk_ms: float | None = None  # also: AudioStart was sent


@dataclass
class _Stream:
    """A SynthesizeStart..SynthesizeStop stream: text in, sentences queued, audio out."""

    speech: _Speech
    splitter: SentenceSplitter
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    failed: bool = False
    started: bool = False  # a first piece is queued
    first_sent: asyncio.Event = field(default_factory=asyncio.Event)  # or the worker ended


def _length_scale(context: object) -> float | None:
    """Read the pace a request asks for: ``context = {CONTEXT_KEY: {LENGTH_SCALE_KEY: x}}``."""
    ours = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    value = ours.get(LENGTH_SCALE_KEY) if isinstance(ours, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClientError("bad-option", f"{LENGTH_SCALE_KEY} must be a number, got {value!r}")
    if not MIN_LENGTH_SCALE <= value <= MAX_LENGTH_SCALE:
        raise ClientError(
            "bad-option",
            f"{LENGTH_SCALE_KEY} {value} outside {MIN_LENGTH_SCALE}..{MAX_LENGTH_SCALE}",
        )
    return float(value)


class Speaking:
    """What a client asks to hear: sentence by sentence, the first as soon as it exists."""

    def __init__(self, voices: Voices, connection: Connection) -> None:
        self.voices = voices
        self.tts: TtsEngine = voices.tts  # the engine the voices load into
        self.connection = connection
        self._stream: _Stream | None = None

    async def synthesize(self, request: Synthesize) -> None:
        """Speak a whole text; inside a stream it only repeats the streamed text: ignored."""
        if self._stream is not None:
            return
        text = request.text
        if not isinstance(text, str):
            raise ClientError("bad-event", "synthesize text must be a string")
        if len(text) > MAX_TTS_CHARS:
            raise ClientError("text-too-long", f"text of {len(text)} chars exceeds {MAX_TTS_CHARS}")
        speech = await self._speech(request.voice, request.context)
        speech.chars = len(text)
        for sentence in split_sentences(text, language=speech.voice.language):
            await self._speak(speech, sentence)
        await self.connection.write_events([*self._pending_start(speech), AudioStop().event()])
        self._log_speech("tts", speech)

    async def start_stream(self, request: SynthesizeStart) -> None:
        """Begin a stream: audio starts as soon as the first sentence is complete."""
        if self._stream is not None:
            raise ClientError("out-of-order", "synthesize-start inside a stream")
        speech = await self._speech(request.voice, request.context)
        stream = _Stream(speech, SentenceSplitter(language=speech.voice.language))
        self._stream = stream
        stream.worker = asyncio.create_task(self._stream_worker(stream), name="tts stream")

    async def stream_text(self, text: Any) -> bool:
        """Queue each sentence the text completes; False when the stream already failed.

        Once the stream's first piece is queued, the connection reads no more text until that
        piece's audio is sent: more text cannot make it sooner, and reading and parsing it
        would take the CPU and the interpreter from the synthesis (the client's writes wait
        in the socket meanwhile).
        """
        stream = self._stream
        if stream is None:
            raise ClientError("out-of-order", "synthesize-chunk outside a stream")
        if not isinstance(text, str):
            raise ClientError("bad-event", "synthesize-chunk text must be a string")
        if stream.failed:
            return False
        stream.speech.chars += len(text)
        if stream.speech.chars > MAX_TTS_CHARS:
            raise ClientError("text-too-long", f"streamed text exceeds {MAX_TTS_CHARS} chars")
        pieces = stream.splitter.add(text)
        for sentence in pieces:
            stream.queue.put_nowait(sentence)
        if pieces and not stream.started:
            stream.started = True
            await stream.first_sent.wait()
        return not stream.failed

    async def stop_stream(self) -> bool:
        """Speak what is left, then AudioStop and SynthesizeStopped."""
        stream, self._stream = self._stream, None
        if stream is None:
            raise ClientError("out-of-order", "synthesize-stop outside a stream")
        for sentence in stream.splitter.flush():
            stream.queue.put_nowait(sentence)
        stream.queue.put_nowait(None)
        assert stream.worker is not None
        await stream.worker
        if stream.failed:
            return False
        stop = [AudioStop().event(), SynthesizeStopped().event()]
        await self.connection.write_events([*self._pending_start(stream.speech), *stop])
        self._log_speech("tts stream", stream.speech)
        return True

    async def close(self) -> None:
        """Stop a stream still being spoken when the client goes away."""
        stream, self._stream = self._stream, None
        if stream is not None and stream.worker is not None and not stream.worker.done():
            stream.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stream.worker

    async def _speech(
        self, voice: SynthesizeVoice | None, context: dict[str, Any] | None = None
    ) -> _Speech:
        """Pick and load the voice, speaker and pace a request asks for."""
        length_scale = _length_scale(context)
        name = voice.name if voice is not None else None
        if name is not None and not isinstance(name, str):
            raise ClientError("bad-event", "voice name must be a string")
        language = voice.language if voice is not None else None
        speaker = voice.speaker if voice is not None else None
        try:
            loaded, speaker_id = await self.voices.choose(
                name,
                language if isinstance(language, str) else None,
                None if speaker is None else str(speaker),
            )
            return _Speech(loaded, speaker_id, length_scale)
        except ModelNotFoundError as err:
            raise ClientError("unknown-voice", str(err)) from err
        except UnknownSpeakerError as err:
            raise ClientError("unknown-speaker", str(err)) from err
        except ValueError as err:  # an unsafe voice name
            raise ClientError("bad-voice", str(err)) from err

    async def _stream_worker(self, stream: _Stream) -> None:
        """Speak queued sentences while more text arrives."""
        try:
            while (sentence := await stream.queue.get()) is not None:
                await self._speak(stream.speech, sentence)
                stream.first_sent.set()
        except asyncio.CancelledError:
            stream.failed = True
            raise
        except ConnectionError:
            stream.failed = True
        except Exception:
            stream.failed = True
            _LOGGER.exception("%s: streaming synthesis failed", self.connection.client)
            with contextlib.suppress(ConnectionError):
                await self.connection.error("internal", "synthesis failed")
            self.connection.close()
        finally:
            stream.first_sent.set()

    def _pending_start(self, speech: _Speech) -> list[Event]:
        """Return the AudioStart not sent yet (it goes with the first audio), or nothing."""
        if speech.first_chunk_ms is not None:
            return []
        return [AudioStart(rate=speech.voice.sample_rate, width=2, channels=1).event()]

    async def _speak(self, speech: _Speech, sentence: str) -> None:
        """Synthesize one sentence on worker threads and send its audio as it is made.

        The first audio leaves in one write with the AudioStart before it; the rest follows as
        each piece is made, ``CHUNKS_PER_WRITE`` chunks per write at most, each write waiting
        for the client to keep up. Chunks hold ``SAMPLES_PER_CHUNK`` samples, the last fewer.
        """
        rate = speech.voice.sample_rate
        step = SAMPLES_PER_CHUNK * 2
        held = b""  # less than a chunk, waiting for the next piece
        pieces = self.tts.speak(
            speech.voice,
            sentence,
            speech.speaker_id,
            speech.length_scale,
            sentence_end=not ends_clause(sentence),
            chunked=speech.first_chunk_ms is None,  # later text is made while audio plays
        )
        async for piece in pieces:
            held += piece
            whole = len(held) - len(held) % step
            await self._send_audio(speech, held[:whole])
            held = held[whole:]
            speech.audio_seconds += len(piece) / 2 / rate
        await self._send_audio(speech, held)
        speech.sentences += 1

    async def _send_audio(self, speech: _Speech, pcm: bytes) -> None:
        """Send ``pcm`` as AudioChunks, the AudioStart with the first."""
        rate = speech.voice.sample_rate
        step = SAMPLES_PER_CHUNK * 2
        offsets = range(0, len(pcm), step)
        for index in range(0, len(offsets), CHUNKS_PER_WRITE):
            chunks = [
                AudioChunk(rate=rate, width=2, channels=1, audio=pcm[at : at + step]).event()
                for at in offsets[index : index + CHUNKS_PER_WRITE]
            ]
            if start := self._pending_start(speech):
                await self.connection.write_events([*start, chunks.pop(0)])
                speech.first_chunk_ms = (time.perf_counter() - speech.started) * 1000
            if chunks:
                await self.connection.write_events(chunks)

    def _log_speech(self, what: str, speech: _Speech) -> None:
        elapsed_ms = (time.perf_counter() - speech.started) * 1000
        rtf = elapsed_ms / 1000 / speech.audio_seconds if speech.audio_seconds else 0.0
        first = f"{speech.first_chunk_ms:.0f} ms" if speech.first_chunk_ms is not None else "-"
        _LOGGER.info(
            "%s: %s %d chars, %d sentences, %.2f s audio, first chunk %s, %.0f ms, RTF %.3f, "
            "voice %s",
            self.connection.client,
            what,
            speech.chars,
            speech.sentences,
            speech.audio_seconds,
            first,
            elapsed_ms,
            rtf,
            speech.voice.name,
        )
