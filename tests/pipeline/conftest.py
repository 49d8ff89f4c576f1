"""Fixtures for the pipeline suite: the real server, a Chatterbox entry and Assist pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from homeassistant.components import assist_pipeline
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.chatterbox.const import DOMAIN
from tests.roundtrip.latency import PIPELINE
from tests.support.ha import auto_enable_custom_integrations, tts_cache_dir  # noqa: F401
from tests.support.server import ServerProcess, real_model_server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print per-stage p50/p95 of the pipeline runs after the test results."""
    PIPELINE.write(terminalreporter)


@pytest.fixture(scope="session")
def pipeline_server(test_models: Path) -> Iterator[ServerProcess]:
    """The real server (STT and TTS) with the generated test models."""
    server = ServerProcess(test_models)
    server.start()
    yield server
    server.stop()


@dataclass
class Voice:
    """A Chatterbox entry in Home Assistant and a pipeline that uses its entities."""

    hass: HomeAssistant
    entry: MockConfigEntry
    stt_entity_id: str
    tts_entity_id: str
    pipeline_id: str

    async def add_pipeline(
        self,
        name: str,
        *,
        conversation_engine: str | None = None,
        tts_voice: str | None = None,
    ) -> str:
        """Another pipeline with the same STT and TTS entities; returns its id."""
        pipeline = await assist_pipeline.async_create_default_pipeline(
            self.hass, self.stt_entity_id, self.tts_entity_id, name
        )
        assert pipeline is not None
        await assist_pipeline.async_update_pipeline(
            self.hass,
            pipeline,
            conversation_engine=conversation_engine or pipeline.conversation_engine,
            tts_voice=tts_voice,
        )
        return pipeline.id


async def setup_voice(hass: HomeAssistant, host: str, port: int) -> Voice:
    """Set up the voice components, a Chatterbox entry for host:port and a pipeline for it."""
    for domain in ("homeassistant", "conversation", "assist_pipeline"):
        assert await async_setup_component(hass, domain, {}), domain
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Chatterbox",
        data={CONF_HOST: host, CONF_PORT: port},
        unique_id=f"{host}:{port}",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    entities = {
        e.domain: e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    assert set(entities) >= {"stt", "tts"}, entities
    pipeline = await assist_pipeline.async_create_default_pipeline(
        hass, entities["stt"], entities["tts"], "Chatterbox"
    )
    assert pipeline is not None, "the default pipeline would not use Chatterbox's entities"
    return Voice(hass, entry, entities["stt"], entities["tts"], pipeline.id)


@pytest.fixture
async def voice(hass: HomeAssistant, socket_enabled: None, pipeline_server: ServerProcess) -> Voice:
    """Chatterbox set up against the shared server, with a pipeline using its entities."""
    return await setup_voice(hass, pipeline_server.host, pipeline_server.port)


@pytest.fixture(scope="module")
def real_pipeline_server(real_models: Path) -> Iterator[ServerProcess]:
    """The real server with real models (``CHATTERBOX_TEST_MODELS``); skipped without them."""
    with real_model_server(real_models) as server:
        yield server


@pytest.fixture
async def real_voice(
    hass: HomeAssistant, socket_enabled: None, real_pipeline_server: ServerProcess
) -> Voice:
    """Chatterbox set up against the server with real models."""
    return await setup_voice(hass, real_pipeline_server.host, real_pipeline_server.port)
