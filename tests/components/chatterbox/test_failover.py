"""Several servers per entry: a request goes to the next server when the preferred one fails.

Real servers on loopback: the preferred one is a real Chatterbox process that is stopped or
killed, or a proxy in front of the real server that stalls, answers garbage or drops; the
fallback is the shared real server behind a recording proxy (or the real
wyoming-faster-whisper). Every request must get its answer from the fallback exactly once,
quickly, and leave no connection open.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.components import assist_pipeline, stt, tts
from homeassistant.components.assist_pipeline.pipeline import (
    PipelineEvent,
    PipelineEventType,
    async_create_default_pipeline,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.tts import SynthesizeVoice

from custom_components.chatterbox import repairs
from custom_components.chatterbox.client import ChatterboxClient, VoiceRequest
from custom_components.chatterbox.const import CONF_FALLBACKS, DOMAIN
from custom_components.chatterbox.lib.chatterbox_wyoming import (
    ServerError,
    Timeout,
    WyomingClient,
    failover,
)
from custom_components.chatterbox.lib.chatterbox_wyoming.failover import Replay, Server, ServerList
from tests.support.ha import speech_metadata
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .audio import CHUNK_BYTES, chunks, spoken_command
from .conftest import SetupEntry, start_server
from .proxy import WyomingProxy, foreign_info

pytestmark = pytest.mark.usefixtures("socket_enabled")

STT_ENTITY = "stt.chatterbox_speech_to_text"
TTS_ENTITY = "tts.chatterbox_text_to_speech"
FAILOVER_BOUND = 2.0
"""Seconds a failover may add: the deadlines that decide "down" are 0.5 s (bench: measured)."""


def _connections_to(port: int) -> int:
    """Count our open TCP connections to ``port`` on loopback (a client's sockets)."""
    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            ours.add(link[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        count += fields[9] in ours and remote_port == port and fields[3] != "0A"  # (not LISTEN)
    return count


@pytest.fixture
async def faulty(socket_enabled: None, shared_server: ServerProcess) -> AsyncIterator[WyomingProxy]:
    """A second proxy in front of the shared server, to play the preferred server."""
    proxy = WyomingProxy(shared_server.host, shared_server.port)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
def preferred(test_models: Path) -> Iterator[ServerProcess]:
    """A real Chatterbox server of its own, to stop or kill."""
    server = start_server(test_models)
    yield server
    server.stop()


async def _entry(
    setup_entry: SetupEntry, first: tuple[str, int], *fallbacks: WyomingProxy
) -> MockConfigEntry:
    options = {CONF_FALLBACKS: [f"{proxy.host}:{proxy.port}" for proxy in fallbacks]}
    return await setup_entry(*first, options)


async def _pipeline(hass: HomeAssistant, pcm: bytes) -> list[PipelineEvent]:
    """Run speech through an Assist pipeline of the entry's entities; return its events."""
    assert await async_setup_component(hass, "assist_pipeline", {})
    pipeline = await async_create_default_pipeline(hass, STT_ENTITY, TTS_ENTITY, "Chatterbox")
    assert pipeline is not None
    events: list[PipelineEvent] = []
    await assist_pipeline.async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=speech_metadata(),
        stt_stream=chunks(pcm),
        pipeline_id=pipeline.id,
    )
    return events


def _transcripts(events: list[PipelineEvent]) -> list[str]:
    assert PipelineEventType.ERROR not in [event.type for event in events], events
    return [
        event.data["stt_output"]["text"]
        for event in events
        if event.type is PipelineEventType.STT_END and event.data is not None
    ]


async def _command_behind(
    setup_entry: SetupEntry, first: tuple[str, int], fallback: WyomingProxy
) -> tuple[bytes, str]:
    """Set up an entry of ``first`` then ``fallback``; return a command and its transcript.

    The transcript is what ``fallback``'s server gives the command when asked directly (that
    request is not left in ``fallback``'s record).
    """
    pcm = await spoken_command(fallback.host, fallback.port)
    expected = await ChatterboxClient(fallback.host, fallback.port).transcribe(chunks(pcm), "en")
    fallback.events.clear()
    await _entry(setup_entry, first, fallback)
    return pcm, expected


def _stt(hass: HomeAssistant) -> stt.SpeechToTextEntity:
    entity = stt.async_get_speech_to_text_entity(hass, STT_ENTITY)
    assert entity is not None
    return entity


async def test_preferred_stopped_before_the_request(
    hass: HomeAssistant, setup_entry: SetupEntry, preferred: ServerProcess, proxy: WyomingProxy
) -> None:
    """A pipeline whose preferred server stopped hears and speaks through the fallback."""
    pcm, expected = await _command_behind(setup_entry, (preferred.host, preferred.port), proxy)
    preferred.stop()

    started = time.monotonic()
    events = await _pipeline(hass, pcm)
    assert time.monotonic() - started < FAILOVER_BOUND + 5  # (includes the answer's synthesis)
    assert _transcripts(events) == [expected]
    assert len(proxy.requests("transcribe")) == 1
    tts_end = next(e for e in events if e.type is PipelineEventType.TTS_END)
    assert tts_end.data is not None
    stream = tts.async_get_stream(hass, tts_end.data["tts_output"]["token"])
    assert stream is not None
    assert len(b"".join([chunk async for chunk in stream.async_stream_result()])) > 1000
    assert len(proxy.requests("synthesize-start") + proxy.requests("synthesize")) == 1
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.state != "unavailable"
    await hass.async_block_till_done()
    assert _connections_to(proxy.port) == _connections_to(preferred.port) == 0


async def test_preferred_killed_mid_utterance(
    hass: HomeAssistant, setup_entry: SetupEntry, preferred: ServerProcess, proxy: WyomingProxy
) -> None:
    """SIGKILL while the audio streams: the fallback gets all of it and answers once."""
    pcm, expected = await _command_behind(setup_entry, (preferred.host, preferred.port), proxy)
    process = preferred.process
    assert process is not None

    async def microphone() -> AsyncIterator[bytes]:
        for index, start in enumerate(range(0, len(pcm), CHUNK_BYTES)):
            if index == 5:  # half a second in: the preferred server dies
                os.kill(process.pid, signal.SIGKILL)
                await asyncio.sleep(0.05)
            yield pcm[start : start + CHUNK_BYTES]
            await asyncio.sleep(0.01)

    result = await _stt(hass).internal_async_process_audio_stream(
        speech_metadata("en"), microphone()
    )
    assert process.wait(timeout=5) == -signal.SIGKILL
    assert result.result is stt.SpeechResultState.SUCCESS
    assert result.text == expected
    assert len(proxy.requests("transcribe")) == 1
    sent = b"".join(e.payload or b"" for e in proxy.requests("audio-chunk"))
    assert pcm.startswith(sent)
    assert len(sent) > 5 * CHUNK_BYTES  # the audio before the kill was replayed
    assert _connections_to(preferred.port) == _connections_to(proxy.port) == 0


@pytest.mark.parametrize("fault", ["stall", "garbage", "drop"])
async def test_preferred_stalls_or_answers_garbage(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    faulty: WyomingProxy,
    proxy: WyomingProxy,
    fault: str,
) -> None:
    """A server that accepts but never answers, answers garbage or hangs up costs < 1 s."""
    pcm, expected = await _command_behind(setup_entry, (faulty.host, faulty.port), proxy)
    faulty.fault, faulty.fault_describe = fault, True

    started = time.monotonic()
    result = await _stt(hass).internal_async_process_audio_stream(
        speech_metadata("en"), chunks(pcm)
    )
    took = time.monotonic() - started
    assert result.text == expected
    assert len(proxy.requests("transcribe")) == 1
    assert took < FAILOVER_BOUND, took
    assert _connections_to(faulty.port) == _connections_to(proxy.port) == 0

    # Rested now: the next request goes straight to the fallback.
    faulty.events.clear()
    await _stt(hass).internal_async_process_audio_stream(speech_metadata("en"), chunks(pcm))
    assert faulty.events == []
    assert len(proxy.requests("transcribe")) == 2


async def test_one_shot_and_streamed_speech_fail_over(
    hass: HomeAssistant, setup_entry: SetupEntry, faulty: WyomingProxy, proxy: WyomingProxy
) -> None:
    """Text to speech goes to the fallback when the preferred server fails before audio."""
    entry = await _entry(setup_entry, (faulty.host, faulty.port), proxy)
    client = entry.runtime_data.client
    faulty.fault, faulty.fault_describe = "stall", True
    wav = await client.synthesize("Hello there.", VoiceRequest(language="en_US"))
    assert len(wav) > 1000
    assert len(proxy.requests("synthesize")) == 1

    async def text() -> AsyncIterator[str]:
        yield "Hello "
        yield "there."

    audio = b"".join([chunk async for chunk in client.synthesize_stream(text(), VoiceRequest())])
    assert len(audio) > 1000
    (start,) = proxy.requests("synthesize-start")
    assert "".join(e.data["text"] for e in proxy.requests("synthesize-chunk")) == "Hello there."
    assert start is not None


async def test_speech_that_started_ends_where_it_broke(
    hass: HomeAssistant, setup_entry: SetupEntry, faulty: WyomingProxy, proxy: WyomingProxy
) -> None:
    """Once audio went out, a failure ends the answer; it is not started over elsewhere."""
    entry = await _entry(setup_entry, (faulty.host, faulty.port), proxy)
    faulty.fault = "audio_drop"  # (the handshake is answered, the synthesis breaks off)

    async def text() -> AsyncIterator[str]:
        yield "Hello there."

    client = entry.runtime_data.client
    audio = b"".join([chunk async for chunk in client.synthesize_stream(text(), VoiceRequest())])
    assert len(audio) == 44 + 3200  # the WAV header and the one chunk that came
    assert proxy.requests("synthesize-start") == []
    assert proxy.requests("synthesize") == []


async def test_preferred_server_comes_back(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    faulty: WyomingProxy,
    proxy: WyomingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed server rests, is probed, and is used again as soon as it answers."""
    monkeypatch.setattr(failover, "BACKOFF_FIRST_SECONDS", 0.3)
    monkeypatch.setattr(repairs, "DOWN_FOR_REPAIR", timedelta(0))
    entry = await _entry(setup_entry, (faulty.host, faulty.port), proxy)
    pcm = await spoken_command(proxy.host, proxy.port)
    issues = ir.async_get(hass)
    faulty.fault, faulty.fault_describe = "drop", True
    await _stt(hass).internal_async_process_audio_stream(speech_metadata("en"), chunks(pcm))
    preferred = entry.runtime_data.client.servers.servers[0]
    assert preferred.health.up is False
    assert issues.async_get_issue(DOMAIN, repairs.issue_id(entry)) is not None
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.state != "unavailable"

    servers = entry.runtime_data.client.servers
    answered = asyncio.Event()
    on_change = servers.on_change
    assert on_change is not None

    def changed() -> None:
        on_change()
        if preferred.health.up:
            answered.set()

    servers.on_change = changed
    faulty.fault = None
    async with asyncio.timeout(5):
        await answered.wait()  # the watch task's probe
    assert issues.async_get_issue(DOMAIN, repairs.issue_id(entry)) is None
    faulty.events.clear()
    transcribes = len(proxy.requests("transcribe"))
    await _stt(hass).internal_async_process_audio_stream(speech_metadata("en"), chunks(pcm))
    assert len(faulty.requests("transcribe")) == 1
    assert len(proxy.requests("transcribe")) == transcribes


async def test_unavailable_only_when_every_server_is_down(
    hass: HomeAssistant, setup_entry: SetupEntry, faulty: WyomingProxy, proxy: WyomingProxy
) -> None:
    """The entities stay available while one server of the list answers."""
    entry = await _entry(setup_entry, (faulty.host, faulty.port), proxy)
    coordinator = entry.runtime_data.coordinator
    faulty.fault, faulty.fault_describe = "drop", True
    await coordinator.async_refresh()
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.state != "unavailable"
    proxy.fault, proxy.fault_describe = "drop", True
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.state == "unavailable"


async def test_real_wyoming_faster_whisper_as_the_fallback(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    peer_python: Path,
    test_models: Path,
    tmp_path: Path,
    proxy: WyomingProxy,
) -> None:
    """The official Whisper server behind a stopped Chatterbox: its transcript, HA's VAD."""
    port = free_port()
    peer = await asyncio.create_subprocess_exec(
        str(peer_python),
        *("-m", "wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{port}"),
        *("--model", str(test_models / "stt"), "--stt-library", "faster-whisper"),
        *("--data-dir", str(tmp_path), "--local-files-only", "--language", "en"),
    )
    try:
        whisper = WyomingProxy("127.0.0.1", port)
        async with asyncio.timeout(60):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.2)
                    continue
                writer.close()
                break
        await whisper.start()
        try:
            pcm = await spoken_command(proxy.host, proxy.port)
            expected = (
                await ServerList.of([("127.0.0.1", port)]).transcribe(chunks(pcm), language="en")
            )[0].text
            await _entry(setup_entry, ("127.0.0.1", free_port()), whisper)
            entity = _stt(hass)
            assert entity.audio_processing.requires_external_vad  # the fallback needs HA's VAD
            result = await entity.internal_async_process_audio_stream(
                speech_metadata("en"), chunks(pcm)
            )
            assert result.result is stt.SpeechResultState.SUCCESS
            assert result.text == expected
            assert len(whisper.requests("transcribe")) == 1
        finally:
            await whisper.stop()
    finally:
        peer.terminate()
        await peer.wait()


async def test_replay_keeps_at_most_its_limit() -> None:
    """Past its limit a replay cannot be given to another server, but the first goes on."""

    async def source() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 10

    replay: Replay[bytes] = Replay(source(), 30, len)
    replay.start()
    assert b"".join([item async for item in replay.stream()]) == b"x" * 50
    assert not replay.complete
    with pytest.raises(failover.ReplayLost):
        await anext(replay.stream())
    await replay.close()


def test_a_failed_server_rests_longer_each_time_with_jitter() -> None:
    """Back-off doubles from its first rest up to its cap; the jitter stays within its share."""
    now = [100.0]
    servers = ServerList.of(
        [("127.0.0.1", 1), ("127.0.0.1", 2)], clock=lambda: now[0], jitter=lambda: 1.0
    )
    first, second = servers.servers
    rests = []
    for _ in range(9):
        servers.failed(first, Timeout("connect"))
        rests.append(first.health.retry_at - now[0])
    top = 1 + failover.BACKOFF_JITTER
    assert rests[:3] == [5 * top, 10 * top, 20 * top]
    assert rests[-1] == failover.BACKOFF_MAX_SECONDS * top
    assert servers.order() == [second, first]
    servers.failed(second, ServerError("busy", "try later"))  # answered: not rested
    assert second.health.up is not False
    now[0] += rests[-1]
    assert servers.order() == [first, second]
    servers.succeeded(first)
    assert (first.health.up, first.health.failures, first.health.down_since) == (True, 0, None)


def test_a_fallback_without_the_voice_speaks_with_its_own() -> None:
    """The voice asked for where the server has it; else its first voice of the language."""
    other = Server(WyomingClient("127.0.0.1", 1))
    other.health.info = foreign_info()  # one voice, "other", English
    unknown = Server(WyomingClient("127.0.0.1", 2))  # not described yet
    request = VoiceRequest(voice="en_US-test-medium", speaker="2", language="en")
    assert request.for_server(other) == SynthesizeVoice(name="other")
    assert request.for_server(unknown) == SynthesizeVoice(name="en_US-test-medium", speaker="2")
    assert VoiceRequest(voice="other", language="en").for_server(other) == SynthesizeVoice("other")
    assert VoiceRequest(voice="x", language="de").for_server(other) is None  # its default
