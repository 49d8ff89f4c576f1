"""Setup, unload, reload, availability and recovery of a config entry."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.components import stt, tts
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.chatterbox.const import SCAN_INTERVAL
from tests.support.ha import speech_metadata
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .audio import chunks
from .conftest import SetupEntry, start_server
from .proxy import WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts")

STT_ENTITY = "stt.chatterbox_speech_to_text"
TTS_ENTITY = "tts.chatterbox_text_to_speech"
COORDINATOR_LOGGER = "custom_components.chatterbox"


async def _poll(hass: HomeAssistant) -> None:
    """Let the next Describe poll run."""
    async_fire_time_changed(hass, dt_util.utcnow() + SCAN_INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)


def _available(hass: HomeAssistant, entity_id: str) -> bool:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state != STATE_UNAVAILABLE


async def test_setup_unload_reload(
    hass: HomeAssistant, shared_server: ServerProcess, setup_entry: SetupEntry
) -> None:
    """Setup creates one device with two entities; unload and reload work."""
    entry = await setup_entry(shared_server.host, shared_server.port)
    assert entry.state is ConfigEntryState.LOADED

    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert sorted(e.entity_id for e in entities) == [STT_ENTITY, TTS_ENTITY]
    assert sorted(e.unique_id for e in entities) == [
        f"{entry.entry_id}-stt",
        f"{entry.entry_id}-tts",
    ]
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 1
    assert devices[0].manufacturer == "Chatterbox"
    assert devices[0].model == "faster-whisper + piper"
    assert devices[0].sw_version == "0.1.0"
    assert devices[0].entry_type is dr.DeviceEntryType.SERVICE
    assert all(e.device_id == devices[0].id for e in entities)
    assert _available(hass, STT_ENTITY)
    assert _available(hass, TTS_ENTITY)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_not_ready_without_server(hass: HomeAssistant, setup_entry: SetupEntry) -> None:
    """An unreachable server: setup is retried later, not failed."""
    entry = await setup_entry("127.0.0.1", free_port(), expect=False)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_only_offered_modes_get_entities(
    hass: HomeAssistant, test_models: Path, setup_entry: SetupEntry
) -> None:
    """A TTS-only server gets no STT entity; when it starts offering STT, the entry reloads."""
    server = start_server(test_models, "--mode", "tts")
    try:
        entry = await setup_entry(server.host, server.port)
        assert hass.states.get(STT_ENTITY) is None
        assert _available(hass, TTS_ENTITY)

        server.stop()
        server = start_server(test_models, port=server.port)
        await _poll(hass)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert _available(hass, STT_ENTITY)
        assert _available(hass, TTS_ENTITY)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        server.stop()


async def test_unavailable_while_down_and_back_without_reload(
    hass: HomeAssistant,
    test_models: Path,
    setup_entry: SetupEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Server stops: unavailable after the next poll, logged once; restarts: back, logged once."""
    server = start_server(test_models)
    try:
        entry = await setup_entry(server.host, server.port)
        caplog.set_level(logging.INFO, logger=COORDINATOR_LOGGER)
        caplog.clear()

        server.stop()
        await _poll(hass)
        assert not _available(hass, STT_ENTITY)
        assert not _available(hass, TTS_ENTITY)
        await _poll(hass)
        await _poll(hass)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, caplog.text
        assert "Error fetching" in errors[0].getMessage()
        assert "Could not connect to the Chatterbox server" in errors[0].getMessage()

        caplog.clear()
        server = start_server(test_models, port=server.port)
        await _poll(hass)
        assert _available(hass, STT_ENTITY)
        assert _available(hass, TTS_ENTITY)
        await _poll(hass)
        recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
        assert len(recovered) == 1, caplog.text
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        server.stop()


@pytest.mark.parametrize("platform", ["stt", "tts"])
async def test_failed_request_marks_unavailable_at_once(
    hass: HomeAssistant, test_models: Path, setup_entry: SetupEntry, platform: str
) -> None:
    """A request that cannot connect refreshes availability without waiting for the poll."""
    server = start_server(test_models)
    try:
        entry = await setup_entry(server.host, server.port)
        server.stop()
        if platform == "stt":
            entity = stt.async_get_speech_to_text_entity(hass, STT_ENTITY)
            assert entity is not None
            result = await entity.internal_async_process_audio_stream(
                speech_metadata("en"), chunks(bytes(3200))
            )
            assert result.result is stt.SpeechResultState.ERROR
        else:
            tts_entity = hass.data[tts.DOMAIN].get_entity(TTS_ENTITY)
            with pytest.raises(HomeAssistantError) as raised:
                await tts_entity.async_internal_get_tts_audio("Hello.", "en_US", {})
            assert raised.value.translation_key == "cannot_connect"
        await hass.async_block_till_done()
        assert not _available(hass, STT_ENTITY)
        assert not _available(hass, TTS_ENTITY)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        server.stop()


async def test_server_that_stops_being_chatterbox(
    hass: HomeAssistant, proxy: WyomingProxy, setup_entry: SetupEntry
) -> None:
    """A server whose Info no longer offers Chatterbox programs makes the entities unavailable."""
    entry = await setup_entry(proxy.host, proxy.port)
    proxy.fault, proxy.fault_describe = "foreign", True
    await _poll(hass)
    assert not _available(hass, TTS_ENTITY)
    assert entry.runtime_data.coordinator.last_exception is not None
    assert entry.runtime_data.coordinator.last_exception.translation_key == "not_chatterbox"


async def test_device_follows_server_version(
    hass: HomeAssistant, proxied_entry: MockConfigEntry
) -> None:
    """A server that was upgraded shows its new version on the device after the next poll."""
    devices = dr.async_get(hass)
    (device,) = dr.async_entries_for_config_entry(devices, proxied_entry.entry_id)
    devices.async_update_device(device.id, sw_version="0.0.1")
    await _poll(hass)
    device = devices.async_get(device.id)
    assert device is not None
    assert device.sw_version == "0.1.0"
