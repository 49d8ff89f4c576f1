"""The only place that speaks Wyoming to a Chatterbox server.

One TCP connection per request. Every wait has a deadline; connection failures, timeouts,
malformed replies and Wyoming ``Error`` events all become a :class:`ChatterboxError`, a
translated ``HomeAssistantError``.

Works with wyoming 1.7.2 (what Home Assistant core pins) and newer: fields that only newer
releases model (``transcript_names``, ``vad_sensitivity``, ``context``) are added to the event
data under the same wire names the newer classes use.
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from .const import DOMAIN, LOGGER, SAMPLE_CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH
from .server_info import ServerInfo


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait at each stage of a request."""

    connect: float = 5.0
    """Opening the TCP connection, and each write to it."""
    describe: float = 5.0
    """From Describe to Info."""
    transcript: float = 30.0
    """From AudioStop to Transcript."""
    audio: float = 30.0
    """From the request to the first audio, and between audio events after it."""


DEFAULT_TIMEOUTS = Timeouts()


class ChatterboxError(HomeAssistantError):
    """A request to the Chatterbox server failed; the message is translated."""

    def __init__(self, translation_key: str, **placeholders: str) -> None:
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders=placeholders,
        )


class CannotConnect(ChatterboxError):
    """The server could not be reached."""


class RequestTimeout(ChatterboxError):
    """The server did not answer in time."""


class ServerError(ChatterboxError):
    """The server answered with a Wyoming Error event."""


class ProtocolError(ChatterboxError):
    """The server closed the connection or sent something unexpected."""


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """Voice, speaker and pace for one synthesis; None leaves the choice to the server."""

    voice: str | None = None
    speaker: str | None = None
    length_scale: float | None = None

    def synthesize_voice(self) -> SynthesizeVoice | None:
        """Wyoming's voice selection (a speaker is only sent together with a voice)."""
        if self.voice is None:
            return None
        return SynthesizeVoice(name=self.voice, speaker=self.speaker)

    def context(self) -> dict[str, Any] | None:
        """Chatterbox's extra synthesis settings, carried in the event's ``context``."""
        if self.length_scale is None:
            return None
        return {DOMAIN: {"length_scale": self.length_scale}}


@dataclass(slots=True)
class _Connection:
    """An open Wyoming connection with deadlines on every read and write."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeouts: Timeouts
    stage: str = "connect"

    async def write(self, event: Event) -> None:
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await async_write_event(event, self.writer)
        except TimeoutError as err:
            raise RequestTimeout("timeout", stage="write") from err
        except OSError as err:
            raise ProtocolError("connection_closed") from err

    async def read(self, seconds: float | None) -> Event:
        """Return the next event within ``seconds``; raise on an Error event or a close."""
        try:
            async with asyncio.timeout(seconds):
                event = await async_read_event(self.reader)
        except TimeoutError as err:
            raise RequestTimeout("timeout", stage=self.stage) from err
        except (OSError, asyncio.IncompleteReadError) as err:
            raise ProtocolError("connection_closed") from err
        except (KeyError, TypeError, AttributeError) as err:
            raise ProtocolError("protocol_error") from err
        if event is None:
            raise ProtocolError("connection_closed")
        if Error.is_type(event.type):
            error = _parse(Error.from_event, event)
            LOGGER.debug("Server error %s: %s", error.code, error.text)
            raise ServerError("server_error", message=error.text)
        return event

    async def read_while(self, sender: asyncio.Task[None], seconds: float) -> Event:
        """Return the next event while ``sender`` writes the request.

        No deadline while text is still being sent (the server may be waiting for the end of
        a sentence); once it is all sent, the next event must come within ``seconds``. Fails as
        soon as ``sender`` fails.
        """
        reading = asyncio.ensure_future(self.read(None))
        try:
            await asyncio.wait({reading, sender}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done() and (error := sender.exception()) is not None:
                raise error
            return await self.wait(reading, seconds)
        finally:
            if not reading.done():
                reading.cancel()
                with suppress(asyncio.CancelledError, ChatterboxError):
                    await reading
            elif not reading.cancelled():
                reading.exception()  # a read that failed as we were cancelled: mark it seen

    async def wait(self, reading: asyncio.Future[Event], seconds: float) -> Event:
        """Return the event of a pending :meth:`read` within ``seconds``."""
        await asyncio.wait({reading}, timeout=seconds)
        if not reading.done():
            raise RequestTimeout("timeout", stage=self.stage)
        return reading.result()

    async def close(self) -> None:
        self.writer.close()
        with suppress(OSError):
            await self.writer.wait_closed()


def _parse[T](parse: Callable[[Event], T], event: Event) -> T:
    """Parse a Wyoming event, turning a malformed one into a ProtocolError."""
    try:
        return parse(event)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ProtocolError("protocol_error") from err


def _to_wav(start: AudioStart, pcm: bytes = b"") -> bytes:
    """Return a WAV file of ``pcm``; without audio, the header for a stream of unknown length."""
    with io.BytesIO() as wav_io:
        wav_file: wave.Wave_write = wave.open(wav_io, "wb")  # noqa: SIM115
        with wav_file:
            wav_file.setframerate(start.rate)
            wav_file.setsampwidth(start.width)
            wav_file.setnchannels(start.channels)
            wav_file.writeframes(pcm)
        return wav_io.getvalue()


def _audio_chunk(pcm: bytes) -> Event:
    return AudioChunk(
        rate=SAMPLE_RATE, width=SAMPLE_WIDTH, channels=SAMPLE_CHANNELS, audio=pcm
    ).event()


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 1)


@dataclass
class ChatterboxClient:
    """Requests to one Chatterbox server."""

    host: str
    port: int
    timeouts: Timeouts = field(default_factory=lambda: DEFAULT_TIMEOUTS)
    """Deadlines; by default the module's DEFAULT_TIMEOUTS when the client is made."""
    last_timings: dict[str, dict[str, float]] = field(default_factory=dict)
    """Milliseconds spent in the stages of the last request of each kind, for diagnostics."""

    @asynccontextmanager
    async def _connect(self) -> AsyncGenerator[_Connection]:
        try:
            async with asyncio.timeout(self.timeouts.connect):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except (TimeoutError, OSError) as err:
            raise CannotConnect("cannot_connect", host=self.host, port=str(self.port)) from err
        connection = _Connection(reader, writer, self.timeouts)
        try:
            yield connection
        finally:
            await connection.close()

    async def describe(self) -> ServerInfo:
        """Ask the server what it offers."""
        started = time.monotonic()
        async with self._connect() as connection:
            connection.stage = "describe"
            await connection.write(Describe().event())
            while True:
                event = await connection.read(self.timeouts.describe)
                if Info.is_type(event.type):
                    info = _parse(Info.from_event, event)
                    break
        self.last_timings["describe"] = {"total_ms": _ms(started)}
        return ServerInfo(info)

    async def transcribe(
        self,
        audio: AsyncIterable[bytes],
        language: str | None,
        names: list[str] | None = None,
        vad_sensitivity: str | None = None,
    ) -> str:
        """Stream 16 kHz mono 16-bit PCM to the server and return its transcript.

        ``vad_sensitivity`` (Home Assistant's aggressive, default, relaxed) tells the server how
        much silence ends the command; None leaves it to the server (Home Assistant's default).

        The transcript may come before ``audio`` ends (the server found the end of speech):
        the upload then stops with AudioStop and the rest of ``audio`` is not read.
        """
        started = time.monotonic()
        async with self._connect() as connection:
            connection.stage = "transcribe"
            transcribe = Transcribe(language=language).event()
            if names is not None:
                transcribe.data["transcript_names"] = names
            if vad_sensitivity is not None:
                transcribe.data["vad_sensitivity"] = str(vad_sensitivity)
            await connection.write(transcribe)
            await connection.write(
                AudioStart(rate=SAMPLE_RATE, width=SAMPLE_WIDTH, channels=SAMPLE_CHANNELS).event()
            )
            # The server may answer before the audio ends: an Error, or the Transcript once it
            # found the end of speech itself (Info: requires_external_vad false). Listen while
            # sending; an early answer stops the upload.
            sent = 0

            async def send() -> None:
                nonlocal sent
                async for chunk in audio:
                    sent += len(chunk)
                    await connection.write(_audio_chunk(chunk))
                await connection.write(AudioStop().event())

            reply = asyncio.ensure_future(connection.read(None))
            sender = asyncio.ensure_future(send())
            try:
                await asyncio.wait({reply, sender}, return_when=asyncio.FIRST_COMPLETED)
                if sender.done() and (error := sender.exception()) is not None:
                    if not isinstance(error, ProtocolError):
                        raise error
                    # A server that answered and closed: its answer says more than the reset.
                    await asyncio.wait({reply}, timeout=0.2)
                    if not reply.done() or reply.exception() is None:
                        raise error
                early = not sender.done()
                stopped = time.monotonic()
                event = await connection.wait(reply, self.timeouts.transcript)
            finally:
                for task in (sender, reply):
                    if not task.done():
                        task.cancel()
                        with suppress(asyncio.CancelledError, ChatterboxError):
                            await task
            if early:  # end the upload as a client that stopped talking does
                with suppress(ChatterboxError):
                    await connection.write(AudioStop().event())
            while not Transcript.is_type(event.type):
                event = await connection.read(self.timeouts.transcript)
            text = _parse(Transcript.from_event, event).text
        self.last_timings["transcribe"] = {
            "audio_ms": round(sent / (SAMPLE_RATE * SAMPLE_WIDTH * SAMPLE_CHANNELS) * 1000),
            "total_ms": _ms(started),
            "after_stop_ms": _ms(stopped),
            "before_audio_end": early,
        }
        return text

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        """Synthesize ``text`` in one request and return a WAV file."""
        started = time.monotonic()
        first_audio: float | None = None
        start: AudioStart | None = None
        pcm = bytearray()
        async with self._connect() as connection:
            connection.stage = "synthesize"
            synthesize = Synthesize(text=text, voice=voice.synthesize_voice()).event()
            if (context := voice.context()) is not None:
                synthesize.data["context"] = context
            await connection.write(synthesize)
            while True:
                event = await connection.read(self.timeouts.audio)
                if AudioStart.is_type(event.type) and start is None:
                    start = _parse(AudioStart.from_event, event)
                elif AudioChunk.is_type(event.type):
                    chunk = _parse(AudioChunk.from_event, event)
                    if start is None:
                        start = AudioStart(chunk.rate, chunk.width, chunk.channels)
                    if first_audio is None:
                        first_audio = _ms(started)
                    pcm += chunk.audio
                elif AudioStop.is_type(event.type):
                    break
        if start is None:
            raise ProtocolError("no_audio")
        self.last_timings["synthesize"] = {
            "first_audio_ms": first_audio if first_audio is not None else -1.0,
            "total_ms": _ms(started),
        }
        return _to_wav(start, bytes(pcm))

    async def synthesize_stream(
        self, text: AsyncIterable[str], voice: VoiceRequest
    ) -> AsyncGenerator[bytes]:
        """Send text as it arrives; yield a WAV header, then PCM as the server produces it."""
        started = time.monotonic()
        first_audio: float | None = None
        header_sent = False
        async with self._connect() as connection:
            connection.stage = "synthesize"
            sender = asyncio.create_task(
                self._send_text(connection, text, voice), name="chatterbox tts text"
            )
            try:
                while True:
                    event = await connection.read_while(sender, self.timeouts.audio)
                    if AudioStart.is_type(event.type) and not header_sent:
                        header_sent = True
                        yield _to_wav(_parse(AudioStart.from_event, event))
                    elif AudioChunk.is_type(event.type):
                        chunk = _parse(AudioChunk.from_event, event)
                        if not header_sent:
                            header_sent = True
                            yield _to_wav(AudioStart(chunk.rate, chunk.width, chunk.channels))
                        if first_audio is None:
                            first_audio = _ms(started)
                        yield chunk.audio
                    elif SynthesizeStopped.is_type(event.type):
                        break
            finally:
                sender.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await sender
        if not header_sent:
            raise ProtocolError("no_audio")
        self.last_timings["synthesize_stream"] = {
            "first_audio_ms": first_audio if first_audio is not None else -1.0,
            "total_ms": _ms(started),
        }

    @staticmethod
    async def _send_text(
        connection: _Connection, text: AsyncIterable[str], voice: VoiceRequest
    ) -> None:
        start = SynthesizeStart(voice=voice.synthesize_voice()).event()
        if (context := voice.context()) is not None:
            start.data["context"] = context
        await connection.write(start)
        async for piece in text:
            if piece:
                await connection.write(SynthesizeChunk(text=piece).event())
        await connection.write(SynthesizeStop().event())
