"""The integration's requests to a Chatterbox server, over the Wyoming client core.

The conversations themselves (deadlines, the upload that listens for an early Transcript,
one-shot and streamed synthesis) are :mod:`.lib.chatterbox_wyoming`'s. This layer turns them into
what Home Assistant wants (text, a WAV file, a WAV stream), keeps the timings of the last
request of each kind for diagnostics, and translates every failure into a
:class:`ChatterboxError`, a translated ``HomeAssistantError``.
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from wyoming.audio import AudioChunk, AudioStart
from wyoming.tts import SynthesizeVoice

from .const import DOMAIN, LOGGER
from .lib import chatterbox_wyoming as wyoming
from .lib.chatterbox_wyoming import PCM16K, Timeouts, Timings, WyomingClient, pace_context, parse
from .lib.chatterbox_wyoming.failover import AllFailed, Server, ServerList
from .server_info import ServerInfo

__all__ = [
    "DEFAULT_TIMEOUTS",
    "CannotConnect",
    "ChatterboxClient",
    "ChatterboxError",
    "ProtocolError",
    "RequestTimeout",
    "ServerError",
    "Timeouts",
    "VoiceRequest",
]

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
    language: str | None = None
    """The answer's language: picks a voice on a server that lacks ``voice``."""

    def synthesize_voice(self) -> SynthesizeVoice | None:
        """Wyoming's voice selection (a speaker is only sent together with a voice)."""
        if self.voice is None:
            return None
        return SynthesizeVoice(name=self.voice, speaker=self.speaker)

    def for_server(self, server: Server) -> SynthesizeVoice | None:
        """Return the voice to ask ``server`` for.

        This one if the server has it (or may: not described yet), else its first voice of
        the language, else its default.
        """
        if self.voice is None or server.health.info is None:
            return self.synthesize_voice()
        info = ServerInfo(server.health.info)
        if info.voice(self.voice) is not None:
            return self.synthesize_voice()
        voices = info.voices_for(self.language) if self.language else []
        return SynthesizeVoice(name=voices[0].name) if voices else None

    def context(self) -> dict[str, Any] | None:
        """Chatterbox's extra synthesis settings, carried in the event's ``context``."""
        return pace_context(self.length_scale)


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


def _ms(since: float | None, until: float | None) -> float:
    """Milliseconds between two ``time.perf_counter()`` instants; -1 if one never came."""
    if since is None or until is None:
        return -1.0
    return round((until - since) * 1000, 1)


@dataclass
class ChatterboxClient:
    """Requests to an entry's servers: its own first, then its fallbacks (``ServerList``)."""

    host: str
    port: int
    timeouts: Timeouts = field(default_factory=lambda: DEFAULT_TIMEOUTS)
    """Deadlines; by default the module's DEFAULT_TIMEOUTS when the client is made."""
    fallbacks: Sequence[tuple[str, int]] = ()
    """Servers tried after ``host``:``port``, in order."""
    last_timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Milliseconds spent in the stages of the last request of each kind, for diagnostics."""
    servers: ServerList = field(init=False)

    def __post_init__(self) -> None:
        self.servers = ServerList.of([(self.host, self.port), *self.fallbacks], self.timeouts)

    def _wyoming(self) -> WyomingClient:
        return WyomingClient(self.host, self.port, self.timeouts)

    def error_of(self, server: Server) -> ChatterboxError:
        """Return ``server``'s last failure, translated."""
        error = server.health.error or wyoming.ProtocolError("no answer yet")
        return self._translated(error, server)

    def _translated(
        self, err: wyoming.WyomingError, server: Server | None = None
    ) -> ChatterboxError:
        """Translate a failure of the client core (of all servers: the last one's)."""
        if isinstance(err, AllFailed) and err.errors:
            server, err = err.errors[-1]
        host, port = (self.host, self.port) if server is None else server.client.address
        if isinstance(err, wyoming.CannotConnect) or (
            isinstance(err, wyoming.Timeout) and err.stage == "connect"
        ):
            return CannotConnect("cannot_connect", host=host, port=str(port))
        if isinstance(err, wyoming.Timeout):
            return RequestTimeout("timeout", stage=err.stage)
        if isinstance(err, wyoming.ServerError):
            LOGGER.debug("Server error %s: %s", err.code, err.text)
            return ServerError("server_error", message=err.text)
        if isinstance(err, wyoming.NoAudio):
            return ProtocolError("no_audio")
        if isinstance(err, wyoming.ConnectionClosed):
            return ProtocolError("connection_closed")
        return ProtocolError("protocol_error")

    async def describe(self) -> ServerInfo:
        """Ask the entry's own server what it offers."""
        timings = Timings()
        try:
            info = await self._wyoming().describe(timings)
        except wyoming.WyomingError as err:
            raise self._translated(err) from err
        self.last_timings["describe"] = {"total_ms": _ms(timings.started, time.perf_counter())}
        return ServerInfo(info)

    async def describe_all(self) -> list[ServerInfo | None]:
        """Ask every server what it offers (None: no answer)."""
        infos = await self.servers.describe_all()
        return [ServerInfo(info) if info is not None else None for info in infos]

    def offer(self) -> ServerInfo:
        """Return what the servers offer together, as each last described itself."""
        return ServerInfo.combined(
            [ServerInfo(s.health.info) for s in self.servers.servers if s.health.info is not None]
        )

    async def transcribe(
        self,
        audio: AsyncIterable[bytes],
        language: str | None,
        names: list[str] | None = None,
        vad_sensitivity: str | None = None,
    ) -> str:
        """Stream 16 kHz mono 16-bit PCM and return the transcript of the first server to answer.

        ``vad_sensitivity`` (Home Assistant's aggressive, default, relaxed) tells the server how
        much silence ends the command; None leaves it to the server (Home Assistant's default).

        The transcript may come before ``audio`` ends (the server found the end of speech):
        the upload then stops with AudioStop and the rest of ``audio`` is not read. A server
        that fails is replaced by the next, which gets the audio so far and then the rest.
        """
        started = time.perf_counter()
        timings = Timings()
        try:
            result, server = await self.servers.transcribe(
                audio,
                language=language,
                names=names,
                vad_sensitivity=str(vad_sensitivity) if vad_sensitivity is not None else None,
                timings=timings,
            )
        except wyoming.WyomingError as err:
            raise self._translated(err) from err
        now = time.perf_counter()
        stopped = timings.transcript if result.early else timings.audio_stop_sent
        self.last_timings["transcribe"] = {
            "audio_ms": round(timings.audio_bytes / PCM16K.bytes_per_second * 1000),
            "total_ms": _ms(started, now),
            "after_stop_ms": _ms(stopped, now),
            "before_audio_end": result.early,
            "server": self.servers.servers.index(server),
        }
        return result.text

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        """Synthesize ``text`` in one request and return a WAV file."""
        started = time.perf_counter()
        timings = Timings()
        start: AudioStart | None = None
        pcm = bytearray()
        events = self.servers.synthesize(
            text, voice=voice.for_server, context=voice.context(), timings=timings
        )
        try:
            async with aclosing(events):
                async for event in events:
                    if AudioStart.is_type(event.type) and start is None:
                        start = parse(AudioStart.from_event, event)
                    elif AudioChunk.is_type(event.type):
                        chunk = parse(AudioChunk.from_event, event)
                        if start is None:
                            start = AudioStart(chunk.rate, chunk.width, chunk.channels)
                        pcm += chunk.audio
        except wyoming.WyomingError as err:
            raise self._translated(err) from err
        if start is None:
            raise ProtocolError("no_audio")
        now = time.perf_counter()
        self.last_timings["synthesize"] = {
            "first_audio_ms": _ms(started, timings.first_audio),
            "total_ms": _ms(started, now),
        }
        return _to_wav(start, bytes(pcm))

    async def synthesize_stream(
        self, text: AsyncIterable[str], voice: VoiceRequest
    ) -> AsyncGenerator[bytes]:
        """Send text as it arrives; yield a WAV header, then PCM as the server produces it."""
        started = time.perf_counter()
        timings = Timings()
        header_sent = False
        events = self.servers.synthesize_stream(
            text, voice=voice.for_server, context=voice.context(), timings=timings
        )
        try:
            async with aclosing(events):
                async for event in events:
                    if AudioStart.is_type(event.type) and not header_sent:
                        header_sent = True
                        yield _to_wav(parse(AudioStart.from_event, event))
                    elif AudioChunk.is_type(event.type):
                        chunk = parse(AudioChunk.from_event, event)
                        if not header_sent:
                            header_sent = True
                            yield _to_wav(AudioStart(chunk.rate, chunk.width, chunk.channels))
                        yield chunk.audio
        except wyoming.WyomingError as err:
            raise self._translated(err) from err
        now = time.perf_counter()
        self.last_timings["synthesize_stream"] = {
            "first_audio_ms": _ms(started, timings.first_audio),
            "total_ms": _ms(started, now),
        }
