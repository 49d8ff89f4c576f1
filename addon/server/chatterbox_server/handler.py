"""The Wyoming event handler: one instance per connection, all heavy work on worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from .context import ServerContext
from .limits import (
    MAX_LENGTH_SCALE,
    MAX_TTS_CHARS,
    MIN_LENGTH_SCALE,
    ClientError,
    GuardedReader,
)
from .models import ModelNotFoundError
from .sentences import SentenceSplitter, split_sentences
from .speculation import Speculation
from .stt import SttRequest
from .tts import LoadedVoice, UnknownSpeakerError
from .utterance import Utterance, check_format

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_CHUNK = 2048  # audio samples per AudioChunk sent
CONTEXT_KEY = "chatterbox"  # our options in an event's context
LINGER_SECONDS = 2.0  # after refusing a well-framed event: read (and drop) the rest this long


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
    first_chunk_ms: float | None = None


@dataclass
class _Stream:
    """A SynthesizeStart..SynthesizeStop stream: text in, sentences queued, audio out."""

    speech: _Speech
    splitter: SentenceSplitter = field(default_factory=SentenceSplitter)
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    failed: bool = False


def _length_scale(context: object) -> float | None:
    """Read the pace a request asks for: ``context = {"chatterbox": {"length_scale": x}}``."""
    ours = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    value = ours.get("length_scale") if isinstance(ours, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClientError("bad-option", f"length_scale must be a number, got {value!r}")
    if not MIN_LENGTH_SCALE <= value <= MAX_LENGTH_SCALE:
        raise ClientError(
            "bad-option",
            f"length_scale {value} outside {MIN_LENGTH_SCALE}..{MAX_LENGTH_SCALE}",
        )
    return float(value)


class ChatterboxHandler(AsyncEventHandler):
    """Answer Describe, Transcribe/audio and Synthesize (one-shot and streaming) events."""

    def __init__(
        self, context: ServerContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.context = context
        self.guard = GuardedReader(reader)
        peer = writer.get_extra_info("peername")
        self.client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "client")
        self._transcribe: Transcribe | None = None
        self._utterance: Utterance | None = None
        self._speculation: Speculation | None = None
        self._stream: _Stream | None = None
        self._linger = False

    async def run(self) -> None:
        """Read events through the guarded reader until EOF, idle timeout or a bad event."""
        try:
            while True:
                try:
                    event = await asyncio.wait_for(
                        async_read_event(cast(asyncio.StreamReader, self.guard)),
                        self.context.idle_timeout,
                    )
                except TimeoutError:
                    _LOGGER.info(
                        "%s: idle for %g s, closing", self.client, self.context.idle_timeout
                    )
                    break
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except Exception as err:  # a header wyoming could not decode
                    await self._error("bad-event", f"malformed event: {type(err).__name__}: {err}")
                    break
                if event is None:
                    if not self.guard.eof:
                        code = "too-large" if self.guard.violation else "bad-event"
                        text = self.guard.violation or "malformed event (not a Wyoming JSON header)"
                        await self._error(code, text)
                    break
                if not await self.handle_event(event):
                    if self._linger:
                        await self._drain()
                    break
        finally:
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        """Handle one event; False closes the connection (after an Error event)."""
        kind: object = event.type  # decoded from client JSON: could be anything
        data: object = event.data
        if not isinstance(kind, str) or not isinstance(data, dict):
            await self._error("bad-event", "event type must be a string and data an object")
            return False
        _LOGGER.debug("%s -> %s", self.client, event.type)
        try:
            return await self._dispatch(event)
        except ClientError as err:
            self._linger = True
            await self._error(err.code, err.text)
        except (KeyError, TypeError, AttributeError) as err:
            self._linger = True
            await self._error("bad-event", f"bad {event.type} event: {type(err).__name__}: {err}")
        except ConnectionError:
            pass
        except Exception:
            _LOGGER.exception("%s: failed to handle %s", self.client, event.type)
            await self._error("internal", f"internal error handling {event.type}")
        return False

    async def _dispatch(self, event: Event) -> bool:  # noqa: PLR0911, PLR0912
        kind = event.type
        if Describe.is_type(kind):
            await self.write_event(self.context.info_event)
            return True
        if Ping.is_type(kind):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
            return True
        if Transcribe.is_type(kind):
            self._need("stt")
            if self._utterance is not None:
                raise ClientError("out-of-order", "transcribe while audio is being received")
            self._transcribe = Transcribe.from_event(event)
            return True
        if AudioStart.is_type(kind):
            self._need("stt")
            if self._utterance is not None:
                raise ClientError("out-of-order", "audio-start while audio is being received")
            check_format(AudioStart.from_event(event))
            self._utterance = Utterance()
            self._speculation = self._speculate(self._utterance)
            return True
        if AudioChunk.is_type(kind):
            self._need("stt")
            if self._utterance is None:
                raise ClientError("out-of-order", "audio-chunk before audio-start")
            self._add_audio(AudioChunk.from_event(event))
            if self._speculation is not None:
                self._speculation.audio_added()
            return True
        if AudioStop.is_type(kind):
            self._need("stt")
            if self._utterance is None and self._transcribe is None:
                raise ClientError("out-of-order", "audio-stop before transcribe or audio-start")
            await self._finish_transcription()
            return True
        if Synthesize.is_type(kind):
            self._need("tts")
            if self._stream is None:  # inside a stream it only repeats the streamed text
                await self._synthesize(Synthesize.from_event(event))
            return True
        if SynthesizeStart.is_type(kind):
            self._need("tts")
            if self._stream is not None:
                raise ClientError("out-of-order", "synthesize-start inside a stream")
            await self._start_stream(SynthesizeStart.from_event(event))
            return True
        if SynthesizeChunk.is_type(kind):
            self._need("tts")
            return self._stream_text(SynthesizeChunk.from_event(event).text)
        if SynthesizeStop.is_type(kind):
            self._need("tts")
            return await self._stop_stream()
        await self._error("unknown-event", f"unknown event type {kind!r}")
        return True

    def _need(self, mode: str) -> None:
        engine = self.context.stt if mode == "stt" else self.context.tts
        if engine is None:
            what = "speech-to-text" if mode == "stt" else "text-to-speech"
            raise ClientError(f"{mode}-disabled", f"{what} is off on this server (--mode)")

    # --- speech to text -------------------------------------------------------------------

    def _add_audio(self, chunk: AudioChunk) -> None:
        assert self._utterance is not None
        was_full = self._utterance.full
        self._utterance.add(chunk)
        if self._utterance.full and not was_full:
            _LOGGER.warning(
                "%s: utterance reached %g s; transcribing that, dropping the rest",
                self.client,
                self._utterance.max_samples / 16000,
            )

    def _stt_request(self, request: Transcribe) -> SttRequest:
        assert self.context.stt is not None
        names, terms = request.transcript_names, request.transcript_terms
        for value in (names, terms):
            if value is not None and not isinstance(value, list):
                raise ClientError("bad-event", "transcript_names/terms must be lists of strings")
        language = request.language if isinstance(request.language, str) else None
        return self.context.stt.request(language, names, terms)

    def _speculate(self, utterance: Utterance) -> Speculation | None:
        """Watch the utterance for the end of speech, unless that is off (see speculation)."""
        stt = self.context.stt
        assert stt is not None
        if not (stt.options.speculation and stt.options.vad_filter):
            return None
        try:
            request = self._stt_request(self._transcribe or Transcribe())
        except ClientError:
            return None  # refused at audio-stop
        return Speculation(stt, utterance, request)

    async def _finish_transcription(self) -> None:
        stopped = time.perf_counter()
        utterance, self._utterance = self._utterance or Utterance(), None
        request, self._transcribe = self._transcribe or Transcribe(), None
        speculation, self._speculation = self._speculation, None
        stt = self.context.stt
        assert stt is not None
        try:
            if speculation is not None:  # its request: the same Transcribe, checked already
                wanted = speculation.request
                result, outcome = await speculation.finish()
            else:
                wanted = self._stt_request(request)
                result = await stt.transcribe_speech(utterance.audio(), wanted)
                outcome = "none" if stt.options.speculation and stt.options.vad_filter else "off"
        finally:
            if speculation is not None:
                await speculation.close()
        await self.write_event(Transcript(text=result.text, language=result.language).event())
        names, terms = wanted.names, wanted.terms
        _LOGGER.info(
            "%s: stt %.2f s audio (%.2f s speech%s), %.0f ms, RTF %.3f, %d chars%s, "
            "speculation %s, transcript %.0f ms after audio-stop",
            self.client,
            result.audio_seconds,
            result.speech_seconds,
            f", {utterance.dropped_seconds:.2f} s over the cap dropped"
            if utterance.dropped_seconds
            else "",
            result.processing_ms,
            result.rtf,
            len(result.text),
            f", names/terms {len(names or [])}/{len(terms or [])}" if names or terms else "",
            outcome,
            (time.perf_counter() - stopped) * 1000,
        )
        _LOGGER.debug("%s: transcript %r", self.client, result.text)

    # --- text to speech -------------------------------------------------------------------

    async def _speech(
        self, voice: SynthesizeVoice | None, context: dict[str, Any] | None = None
    ) -> _Speech:
        """Pick and load the voice, speaker and pace a request asks for."""
        length_scale = _length_scale(context)
        tts = self.context.tts
        assert tts is not None
        name = voice.name if voice is not None else None
        if name is None and voice is not None and isinstance(voice.language, str):
            name = self.context.voice_for_language(voice.language)
        if name is not None and not isinstance(name, str):
            raise ClientError("bad-event", "voice name must be a string")
        try:
            loaded = await tts.voice(name)
            if not self.context.is_installed(loaded.name):  # just downloaded: tell Describe
                await asyncio.get_running_loop().run_in_executor(None, self.context.reload_voices)
            speaker = voice.speaker if voice is not None else None
            speaker_id = tts.speaker_for(loaded, None if speaker is None else str(speaker))
            return _Speech(loaded, speaker_id, length_scale)
        except ModelNotFoundError as err:
            raise ClientError("unknown-voice", str(err)) from err
        except UnknownSpeakerError as err:
            raise ClientError("unknown-speaker", str(err)) from err
        except ValueError as err:  # an unsafe voice name
            raise ClientError("bad-voice", str(err)) from err

    async def _synthesize(self, request: Synthesize) -> None:
        text = request.text
        if not isinstance(text, str):
            raise ClientError("bad-event", "synthesize text must be a string")
        if len(text) > MAX_TTS_CHARS:
            raise ClientError("text-too-long", f"text of {len(text)} chars exceeds {MAX_TTS_CHARS}")
        speech = await self._speech(request.voice, request.context)
        speech.chars = len(text)
        await self._audio_start(speech)
        for sentence in split_sentences(text):
            await self._speak(speech, sentence)
        await self.write_event(AudioStop().event())
        self._log_speech("tts", speech)

    async def _start_stream(self, request: SynthesizeStart) -> None:
        speech = await self._speech(request.voice, request.context)
        stream = _Stream(speech)
        self._stream = stream
        await self._audio_start(speech)
        stream.worker = asyncio.create_task(self._stream_worker(stream), name="tts stream")

    def _stream_text(self, text: Any) -> bool:
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
        for sentence in stream.splitter.add(text):
            stream.queue.put_nowait(sentence)
        return True

    async def _stop_stream(self) -> bool:
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
        await self.write_event(AudioStop().event())
        await self.write_event(SynthesizeStopped().event())
        self._log_speech("tts stream", stream.speech)
        return True

    async def _stream_worker(self, stream: _Stream) -> None:
        """Speak queued sentences while more text arrives."""
        try:
            while (sentence := await stream.queue.get()) is not None:
                await self._speak(stream.speech, sentence)
        except asyncio.CancelledError:
            stream.failed = True
            raise
        except ConnectionError:
            stream.failed = True
        except Exception:
            stream.failed = True
            _LOGGER.exception("%s: streaming synthesis failed", self.client)
            with contextlib.suppress(ConnectionError):
                await self._error("internal", "synthesis failed")
            self.writer.close()

    async def _audio_start(self, speech: _Speech) -> None:
        rate = speech.voice.sample_rate
        await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())

    async def _speak(self, speech: _Speech, sentence: str) -> None:
        """Synthesize one sentence on a worker thread and send its audio."""
        tts = self.context.tts
        assert tts is not None
        pcm = await tts.synthesize(speech.voice, sentence, speech.speaker_id, speech.length_scale)
        rate = speech.voice.sample_rate
        step = SAMPLES_PER_CHUNK * 2
        for offset in range(0, len(pcm), step):
            chunk = AudioChunk(rate=rate, width=2, channels=1, audio=pcm[offset : offset + step])
            await self.write_event(chunk.event())
            if speech.first_chunk_ms is None:
                speech.first_chunk_ms = (time.perf_counter() - speech.started) * 1000
        speech.sentences += 1
        speech.audio_seconds += len(pcm) / 2 / rate

    def _log_speech(self, what: str, speech: _Speech) -> None:
        elapsed_ms = (time.perf_counter() - speech.started) * 1000
        rtf = elapsed_ms / 1000 / speech.audio_seconds if speech.audio_seconds else 0.0
        first = f"{speech.first_chunk_ms:.0f} ms" if speech.first_chunk_ms is not None else "-"
        _LOGGER.info(
            "%s: %s %d chars, %d sentences, %.2f s audio, first chunk %s, %.0f ms, RTF %.3f, "
            "voice %s",
            self.client,
            what,
            speech.chars,
            speech.sentences,
            speech.audio_seconds,
            first,
            elapsed_ms,
            rtf,
            speech.voice.name,
        )

    # --- connection -----------------------------------------------------------------------

    async def write_event(self, event: Event) -> None:
        """Send an event unless the connection is closing.

        Writing to a closing transport is not just useless: wyoming writes with
        ``writelines``, which on a transport that lost its connection registers the socket with
        the event loop again after it was closed, and a later connection reusing that file
        descriptor then never gets read. So a gone client is an error here.
        """
        if self.writer.is_closing():
            raise ConnectionResetError("client disconnected")
        try:
            async with asyncio.timeout(self.context.idle_timeout):
                await super().write_event(event)
        except TimeoutError:
            _LOGGER.info(
                "%s: not reading for %g s, closing", self.client, self.context.idle_timeout
            )
            self.writer.close()
            raise ConnectionResetError("client stopped reading") from None

    async def _drain(self) -> None:
        """Read and drop what the client still sends, briefly, so it can read our Error.

        Closing while the client is still writing (audio, usually) resets the connection, and
        the client may lose the Error event it has not read yet.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        with contextlib.suppress(Exception):
            while (remaining := deadline - loop.time()) > 0:
                reader = cast(asyncio.StreamReader, self.guard)
                if await asyncio.wait_for(async_read_event(reader), remaining) is None:
                    break

    async def _error(self, code: str, text: str) -> None:
        """Send an Error event (best effort) and log it."""
        _LOGGER.warning("%s: %s: %s", self.client, code, text)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.write_event(Error(text=text, code=code).event())

    async def disconnect(self) -> None:
        """Stop a stream still being spoken, and speculation, when the client goes away."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            await speculation.close()
        stream, self._stream = self._stream, None
        if stream is not None and stream.worker is not None and not stream.worker.done():
            stream.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stream.worker
