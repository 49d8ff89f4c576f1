"""The Wyoming client against the real server, and against injected faults."""

from __future__ import annotations

import asyncio
import io
import time
import wave
from collections.abc import AsyncIterator

import pytest
from wyoming.event import Event, async_write_event

from custom_components.chatterbox.client import (
    CannotConnect,
    ChatterboxClient,
    ChatterboxError,
    ProtocolError,
    RequestTimeout,
    ServerError,
    Timeouts,
    VoiceRequest,
)
from custom_components.chatterbox.lib.chatterbox_wyoming import connection as connection_module
from custom_components.chatterbox.server_info import ServerInfo
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .audio import chunks, spoken_command
from .conftest import FAST_TIMEOUTS
from .proxy import ERROR_TEXT, WyomingProxy, foreign_info

pytestmark = pytest.mark.usefixtures("socket_enabled")

MULTI = "en_US-testmulti-medium"


def _wav(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as wav_file:
        return (
            wav_file.getframerate(),
            wav_file.getsampwidth(),
            wav_file.getnchannels(),
            wav_file.getnframes(),
        )


async def test_describe(shared_server: ServerProcess) -> None:
    """Info lists the Chatterbox programs, languages and voices with their speakers."""
    client = ChatterboxClient(shared_server.host, shared_server.port)
    info = await client.describe()
    assert info.is_chatterbox
    assert info.asr is not None
    assert info.asr.name == "faster-whisper"
    assert info.tts is not None
    assert info.tts.name == "piper"
    assert info.name == "Chatterbox"
    assert "en" in info.stt_languages
    # Piper's "en_US" as the BCP-47 tag Home Assistant's frontend names; voices by either.
    assert info.tts_languages == ["en-US"]
    assert "en_US" in info.tts_languages
    assert "de_DE" not in info.tts_languages
    for language in ("en_US", "en-US", "en-us"):
        assert [voice.name for voice in info.voices_for(language)] == ["en_US-test-medium", MULTI]
    assert info.voices_for("en") == []
    assert [choice.key for choice in info.voice_choices()] == [
        "en_US-test-medium",
        MULTI,
        f"{MULTI}#alice",
        f"{MULTI}#bob",
    ]
    assert info.supports_streaming
    assert client.last_timings["describe"]["total_ms"] > 0


async def test_synthesize_one_shot(shared_server: ServerProcess) -> None:
    """One-shot synthesis returns a complete WAV file."""
    client = ChatterboxClient(shared_server.host, shared_server.port)
    data = await client.synthesize("Hello there. How are you?", VoiceRequest())
    rate, width, channels, frames = _wav(data)
    assert (rate, width, channels) == (22050, 2, 1)
    assert frames > 0
    timings = client.last_timings["synthesize"]
    print(f"TTS one-shot: first audio {timings['first_audio_ms']} ms, {timings['total_ms']} ms")


async def test_synthesize_stream_speaks_before_text_ends(shared_server: ServerProcess) -> None:
    """Audio for the first sentence arrives while the rest of the text is still to come."""
    client = ChatterboxClient(shared_server.host, shared_server.port)
    first_audio = asyncio.Event()

    async def text() -> AsyncIterator[str]:
        for word in ("Hello ", "there", ". "):
            yield word
        # The rest only comes once audio for the first sentence was received.
        await asyncio.wait_for(first_audio.wait(), 10)
        yield "How are you?"

    received = bytearray()
    header: bytes | None = None
    async for chunk in client.synthesize_stream(text(), VoiceRequest()):
        if header is None:
            header = chunk
            continue
        received += chunk
        first_audio.set()
    assert header is not None
    rate, width, channels, _ = _wav(header)
    assert (rate, width, channels) == (22050, 2, 1)
    assert len(received) > 22050  # more than half a second of speech
    assert client.last_timings["synthesize_stream"]["first_audio_ms"] > 0


async def test_stream_waits_for_slow_text(shared_server: ServerProcess) -> None:
    """Text slower than the audio timeout is fine: the deadline starts once all text is sent."""
    client = ChatterboxClient(shared_server.host, shared_server.port, FAST_TIMEOUTS)

    async def text() -> AsyncIterator[str]:
        yield "Hello"
        await asyncio.sleep(FAST_TIMEOUTS.audio * 2)
        yield " there."

    audio = [chunk async for chunk in client.synthesize_stream(text(), VoiceRequest())]
    assert len(b"".join(audio[1:])) > 0


async def test_transcribe(shared_server: ServerProcess) -> None:
    """Speech streamed at 16 kHz comes back as text."""
    pcm = await spoken_command(shared_server.host, shared_server.port)
    client = ChatterboxClient(shared_server.host, shared_server.port)
    text = await client.transcribe(chunks(pcm), "en", ["Kitchen"])
    assert isinstance(text, str)
    timings = client.last_timings["transcribe"]
    assert timings["audio_ms"] == pytest.approx(len(pcm) / 32, abs=1)
    print(f"STT: {timings['audio_ms']} ms of audio, {timings['after_stop_ms']} ms after stop")


async def test_requests_carry_language_names_voice_and_pace(proxy: WyomingProxy) -> None:
    """What the client sends is what the server receives (recorded by the proxy)."""
    client = ChatterboxClient(proxy.host, proxy.port)
    await client.transcribe(chunks(bytes(3200)), "de", ["Küche", "Wohnzimmer"])
    await client.transcribe(chunks(bytes(3200)), None)
    await client.synthesize("Hi.", VoiceRequest(MULTI, "bob", 1.5))
    await client.synthesize("Hi.", VoiceRequest())

    with_names, without_names = proxy.requests("transcribe")
    assert with_names.data == {"language": "de", "transcript_names": ["Küche", "Wohnzimmer"]}
    assert without_names.data == {}
    start = proxy.requests("audio-start")[0]
    assert (start.data["rate"], start.data["width"], start.data["channels"]) == (16000, 2, 1)
    assert len(proxy.requests("audio-stop")) == 2

    chosen, default = proxy.requests("synthesize")
    assert chosen.data["voice"] == {"name": MULTI, "speaker": "bob"}
    assert chosen.data["context"] == {"chatterbox": {"length_scale": 1.5}}
    assert "voice" not in default.data
    assert "context" not in default.data


async def test_stream_sends_start_chunks_stop(proxy: WyomingProxy) -> None:
    """Streaming sends SynthesizeStart with voice and pace, each piece, then SynthesizeStop."""
    client = ChatterboxClient(proxy.host, proxy.port)

    async def text() -> AsyncIterator[str]:
        for piece in ("One ", "", "two. ", "Three."):
            yield piece

    audio = [
        chunk async for chunk in client.synthesize_stream(text(), VoiceRequest(MULTI, "alice", 0.8))
    ]
    assert len(audio) > 1
    (start,) = proxy.requests("synthesize-start")
    assert start.data["voice"] == {"name": MULTI, "speaker": "alice"}
    assert start.data["context"] == {"chatterbox": {"length_scale": 0.8}}
    assert [e.data["text"] for e in proxy.requests("synthesize-chunk")] == [
        "One ",
        "two. ",
        "Three.",
    ]
    assert len(proxy.requests("synthesize-stop")) == 1
    assert not proxy.requests("synthesize")


async def test_cannot_connect() -> None:
    """Nothing listening: a translated CannotConnect naming host and port."""
    port = free_port()
    with pytest.raises(CannotConnect) as raised:
        await ChatterboxClient("127.0.0.1", port).describe()
    assert raised.value.translation_key == "cannot_connect"
    assert raised.value.translation_placeholders == {"host": "127.0.0.1", "port": str(port)}


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection attempt that hangs gives up after the connect timeout."""

    async def hang(*_args: object, **_kwargs: object) -> None:
        await asyncio.sleep(10)

    monkeypatch.setattr(asyncio, "open_connection", hang)
    client = ChatterboxClient("127.0.0.1", 9, Timeouts(connect=0.1))
    started = time.monotonic()
    with pytest.raises(CannotConnect):
        await client.describe()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("fault", "error", "key"),
    [
        ("stall", RequestTimeout, "timeout"),
        ("error", ServerError, "server_error"),
        ("drop", ProtocolError, "connection_closed"),
        ("garbage", ProtocolError, "connection_closed"),
        ("no_type", ProtocolError, "protocol_error"),
    ],
)
async def test_faults_become_translated_errors(
    proxy: WyomingProxy, fault: str, error: type[ChatterboxError], key: str
) -> None:
    """Every kind of failure, in every request, ends quickly in a translated error."""
    proxy.fault = fault
    proxy.fault_describe = True
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)

    async def text() -> AsyncIterator[str]:
        yield "Hello."

    requests = {
        "describe": client.describe(),
        "transcribe": client.transcribe(chunks(bytes(6400)), "en"),
        "synthesize": client.synthesize("Hello.", VoiceRequest()),
        "stream": _drain(client.synthesize_stream(text(), VoiceRequest())),
    }
    for name, request in requests.items():
        started = time.monotonic()
        with pytest.raises(error) as raised:
            await request
        assert raised.value.translation_key == key, name
        assert time.monotonic() - started < 3, name
        if fault == "error":
            assert raised.value.translation_placeholders == {"message": ERROR_TEXT}


async def _drain(audio: AsyncIterator[bytes]) -> None:
    async for _ in audio:
        pass


async def test_error_mid_stream_stops_listening(proxy: WyomingProxy) -> None:
    """An Error while the microphone still streams ends the request at once."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)
    proxy.fault = "error"

    async def microphone() -> AsyncIterator[bytes]:
        while True:  # never ends by itself
            yield bytes(320)
            await asyncio.sleep(0.01)

    started = time.monotonic()
    with pytest.raises(ServerError):
        await client.transcribe(microphone(), "en")
    assert time.monotonic() - started < 3


async def test_error_then_close_beats_the_reset(proxy: WyomingProxy) -> None:
    """A server that sends an Error and hangs up: the Error is reported, not the reset."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)
    proxy.fault = "error_close"

    async def flood() -> AsyncIterator[bytes]:
        for _ in range(2000):
            yield bytes(32000)

    with pytest.raises(ServerError) as raised:
        await client.transcribe(flood(), "en")
    assert raised.value.translation_placeholders == {"message": ERROR_TEXT}


async def test_streaming_transcript_events_are_skipped(proxy: WyomingProxy) -> None:
    """TranscriptStart and TranscriptChunk before the Transcript are passed over."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)
    proxy.fault = "transcript_stream"
    assert await client.transcribe(chunks(bytes(6400)), "en") == "hello world"


async def test_stream_fails_when_text_fails(proxy: WyomingProxy) -> None:
    """If the text source breaks, the audio stream ends with that error, not a hang."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)
    proxy.fault = "stall"

    async def text() -> AsyncIterator[str]:
        yield "Hello"
        raise RuntimeError("LLM went away")

    with pytest.raises(RuntimeError, match="LLM went away"):
        await _drain(client.synthesize_stream(text(), VoiceRequest()))


async def test_audio_without_start_and_without_audio(proxy: WyomingProxy) -> None:
    """Audio without AudioStart still makes a WAV; a reply without audio is an error."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)

    async def text() -> AsyncIterator[str]:
        yield "Hello."

    proxy.fault = "chunk_first"
    assert _wav(await client.synthesize("Hello.", VoiceRequest()))[:3] == (16000, 2, 1)
    streamed = [chunk async for chunk in client.synthesize_stream(text(), VoiceRequest())]
    assert _wav(streamed[0])[:3] == (16000, 2, 1)
    assert streamed[1:] == [bytes(3200)]

    proxy.fault = "silent"
    for request in (
        client.synthesize("Hello.", VoiceRequest()),
        _drain(client.synthesize_stream(text(), VoiceRequest())),
    ):
        with pytest.raises(ProtocolError) as raised:
            await request
        assert raised.value.translation_key == "no_audio"


async def test_malformed_replies(proxy: WyomingProxy) -> None:
    """Known event types with broken data are protocol errors, not crashes."""
    client = ChatterboxClient(proxy.host, proxy.port, FAST_TIMEOUTS)
    proxy.fault, proxy.fault_describe = "malformed", True
    for request in (client.describe(), client.transcribe(chunks(bytes(3200)), "en")):
        with pytest.raises(ProtocolError) as raised:
            await request
        assert raised.value.translation_key == "protocol_error"


@pytest.mark.parametrize(
    ("hang", "error", "key"),
    [(True, RequestTimeout, "timeout"), (False, ProtocolError, "connection_closed")],
)
async def test_write_failures(
    shared_server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    hang: bool,
    error: type[ChatterboxError],
    key: str,
) -> None:
    """A write that hangs or hits a reset connection ends in a translated error."""

    async def broken_write(event: Event, writer: asyncio.StreamWriter) -> None:
        if event.type in ("describe", "audio-chunk"):
            if not hang:
                raise ConnectionResetError
            await asyncio.sleep(10)
        await async_write_event(event, writer)

    monkeypatch.setattr(connection_module, "async_write_event", broken_write)
    client = ChatterboxClient(shared_server.host, shared_server.port, FAST_TIMEOUTS)
    for request in (client.describe(), client.transcribe(chunks(bytes(3200)), "en")):
        with pytest.raises(error) as raised:
            await request
        assert raised.value.translation_key == key


async def test_read_reset(shared_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection reset while reading is a closed connection."""

    async def reset(*_args: object) -> None:
        raise ConnectionResetError

    monkeypatch.setattr(connection_module, "async_read_event", reset)
    client = ChatterboxClient(shared_server.host, shared_server.port, FAST_TIMEOUTS)
    with pytest.raises(ProtocolError) as raised:
        await client.describe()
    assert raised.value.translation_key == "connection_closed"


def test_server_info_of_another_wyoming_server() -> None:
    """A server without Chatterbox programs (a fallback) is not Chatterbox but offers its own."""
    info = ServerInfo(foreign_info())
    assert not info.is_chatterbox
    assert (info.stt_languages, info.tts_languages) == ([], ["en"])
    assert [voice.name for voice in info.voices] == ["other"]
    assert not info.supports_streaming
    assert (info.name, info.version) == ("Someone else", "1")
