"""Speech-to-text failures end the run with an error event in time; TTS never runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from homeassistant.components.assist_pipeline import PipelineEventType as Ev
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

from corpus import clips
from custom_components.chatterbox import client as client_module
from tests.components.chatterbox.proxy import ERROR_TEXT, WyomingProxy
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import setup_voice
from .runner import FULL_RUN, run_pipeline

pytestmark = pytest.mark.timeout(60)

FAST = client_module.Timeouts(connect=1.0, describe=1.0, transcript=1.0, audio=2.0)
FAILED_RUN = ["run-start", "stt-start", "error", "run-end"]


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> client_module.Timeouts:
    """Short deadlines in the integration's client so failures show quickly."""
    monkeypatch.setattr(client_module, "DEFAULT_TIMEOUTS", FAST)
    return FAST


@pytest.fixture
async def proxy(
    socket_enabled: None, pipeline_server: ServerProcess
) -> AsyncIterator[WyomingProxy]:
    """A fault-injecting Wyoming proxy in front of the real server."""
    wyoming_proxy = WyomingProxy(pipeline_server.host, pipeline_server.port)
    await wyoming_proxy.start()
    yield wyoming_proxy
    await wyoming_proxy.stop()


def speech() -> bytes:
    return next(c for c in clips() if c.id == "turn_on_kitchen_light").pcm()


def assert_failed_at_stt(run_types: list[str], error: dict[str, str] | None) -> None:
    assert run_types == FAILED_RUN
    assert error is not None
    assert error["code"] == "stt-stream-failed"


@pytest.mark.parametrize("fault", ["stall", "error"])
async def test_stt_fault_then_recovery(
    hass: HomeAssistant,
    fast_timeouts: client_module.Timeouts,
    proxy: WyomingProxy,
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stalled or failing server: error within the transcript timeout, no TTS; then it works."""
    voice = await setup_voice(hass, proxy.host, proxy.port)
    proxy.fault = fault

    run = await run_pipeline(hass, speech(), pipeline_id=voice.pipeline_id)

    assert_failed_at_stt(run.types, run.error)
    waited = run.ms_between(Ev.STT_START, Ev.ERROR) / 1000
    assert not proxy.requests("synthesize")
    assert not proxy.requests("synthesize-start")
    if fault == "stall":
        # Audio went out, then the client gave up after its transcript deadline.
        assert proxy.requests("audio-stop")
        assert fast_timeouts.transcript * 0.9 <= waited < fast_timeouts.transcript + 2
    else:
        assert waited < 2
        assert ERROR_TEXT in caplog.text  # the log says why

    proxy.fault = None
    recovered = await run_pipeline(hass, speech(), pipeline_id=voice.pipeline_id)
    assert recovered.error is None, recovered.error
    assert recovered.types == FULL_RUN


@pytest.fixture
def restartable_server(test_models: Path) -> Iterator[list[ServerProcess]]:
    """A server of this test's own on a fixed port, so it can be stopped and started again."""
    servers: list[ServerProcess] = []
    yield servers
    for server in servers:
        server.stop()


async def test_server_down_then_back(
    hass: HomeAssistant,
    socket_enabled: None,
    fast_timeouts: client_module.Timeouts,
    test_models: Path,
    restartable_server: list[ServerProcess],
) -> None:
    """Server down: an immediate STT error and no TTS; once it is back, the next run works."""
    port = free_port()
    first = ServerProcess(test_models, port=port)
    restartable_server.append(first)
    first.start()
    voice = await setup_voice(hass, first.host, port)
    first.stop()

    started = time.perf_counter()
    run = await run_pipeline(hass, speech(), pipeline_id=voice.pipeline_id)
    assert_failed_at_stt(run.types, run.error)
    assert time.perf_counter() - started < fast_timeouts.connect + 2
    await hass.async_block_till_done()
    # The failed request made the integration check the server: its entities went unavailable.
    assert hass.states.get(voice.stt_entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    second = ServerProcess(test_models, port=port)
    restartable_server.append(second)
    second.start()
    recovered = await run_pipeline(hass, speech(), pipeline_id=voice.pipeline_id)
    assert recovered.error is None, recovered.error
    assert recovered.types == FULL_RUN
