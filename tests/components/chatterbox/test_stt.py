"""The speech-to-text entity: transcription, options, names, and failures that end quickly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from pytest_homeassistant_custom_component.common import MockConfigEntry

from corpus import clips
from custom_components.chatterbox.const import CONF_SEND_NAMES, CONF_STT_LANGUAGE
from custom_components.chatterbox.server_info import ServerInfo
from tests.support.ha import speech_metadata

from .audio import chunks
from .conftest import SetupEntry
from .proxy import ERROR_TEXT, WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts")

STT_ENTITY = "stt.chatterbox_speech_to_text"


def _entity(hass: HomeAssistant) -> stt.SpeechToTextEntity:
    entity = stt.async_get_speech_to_text_entity(hass, STT_ENTITY)
    assert entity is not None
    return entity


async def test_transcribes_speech(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry
) -> None:
    """A corpus clip through the STT entity comes back as text; the audio arrives unchanged."""
    entity = _entity(hass)
    assert entity.check_metadata(speech_metadata("en"))
    assert "en" in entity.supported_languages
    assert not entity.check_metadata(speech_metadata("tlh"))

    clip = next(clip for clip in clips() if clip.id == "lock_front_door")
    pcm = clip.pcm()
    result = await entity.internal_async_process_audio_stream(speech_metadata("en"), chunks(pcm))
    assert result.result is stt.SpeechResultState.SUCCESS
    assert isinstance(result.text, str)

    (transcribe,) = proxy.requests("transcribe")
    assert transcribe.data["language"] == "en"
    sent = b"".join(e.payload or b"" for e in proxy.requests("audio-chunk"))
    assert sent == pcm
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.state not in ("unknown", "unavailable")  # time of the last transcription


async def test_language_override_and_names_option(
    hass: HomeAssistant, proxy: WyomingProxy, setup_entry: SetupEntry
) -> None:
    """The override replaces the pipeline's language; names are sent only when on."""
    ar.async_get(hass).async_create("Kitchen", aliases={"Cookhouse"})
    entry = await setup_entry(proxy.host, proxy.port, {CONF_STT_LANGUAGE: "de"})
    entity = _entity(hass)
    await entity.internal_async_process_audio_stream(speech_metadata("en"), chunks(bytes(3200)))

    hass.config_entries.async_update_entry(
        entry, options={CONF_STT_LANGUAGE: "de", CONF_SEND_NAMES: False}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    metadata = speech_metadata("en")
    await _entity(hass).internal_async_process_audio_stream(metadata, chunks(bytes(3200)))

    with_names, without_names = proxy.requests("transcribe")
    assert with_names.data["language"] == "de"
    assert with_names.data["transcript_names"][:2] == ["Kitchen", "Cookhouse"]
    assert without_names.data == {"language": "de"}


@pytest.mark.parametrize(
    ("fault", "logged"),
    [
        ("stall", "did not answer in time"),
        ("error", f"The Chatterbox server reported an error: {ERROR_TEXT}"),
        ("drop", "closed the connection"),
    ],
)
async def test_failure_is_an_error_result_not_a_hang(
    hass: HomeAssistant,
    proxy: WyomingProxy,
    proxied_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    logged: str,
) -> None:
    """A stalled, failing or vanishing server: an error result within the timeout, logged."""
    proxy.fault = fault
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        result = await _entity(hass).internal_async_process_audio_stream(
            speech_metadata("en"), chunks(bytes(16000))
        )
    finally:
        ticking.cancel()
    elapsed = time.monotonic() - started
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert elapsed < 3
    if fault == "stall":
        assert ticks >= 5  # the event loop kept running while the server stalled
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and STT_ENTITY in r.getMessage()
    ]
    assert len(warnings) == 1
    assert logged in warnings[0].getMessage()


async def test_audio_source_failure_propagates(
    hass: HomeAssistant, proxied_entry: MockConfigEntry
) -> None:
    """A broken microphone stream is not the server's fault: it is not swallowed."""

    async def broken() -> AsyncIterator[bytes]:
        yield bytes(3200)
        raise RuntimeError("microphone unplugged")

    with pytest.raises(RuntimeError, match="microphone unplugged"):
        await _entity(hass).internal_async_process_audio_stream(speech_metadata("en"), broken())


async def test_audio_processing_is_what_the_server_asks(
    hass: HomeAssistant, proxied_entry: MockConfigEntry
) -> None:
    """The entity asks Home Assistant for the audio processing the server's Info names."""
    entity = _entity(hass)
    server = entity.coordinator.data
    assert server.asr is not None
    # The server's default: it finds the end of speech itself; gain and noise suppression on.
    assert entity.audio_processing == stt.SpeechAudioProcessing(
        requires_external_vad=False,
        prefers_auto_gain_enabled=True,
        prefers_noise_reduction_enabled=True,
    )
    asr = replace(server.asr, requires_external_vad=True, prefers_noise_reduction_enabled=False)
    entity.coordinator.async_set_updated_data(ServerInfo(replace(server.info, asr=[asr])))
    assert entity.audio_processing == stt.SpeechAudioProcessing(
        requires_external_vad=True,
        prefers_auto_gain_enabled=True,
        prefers_noise_reduction_enabled=False,
    )
