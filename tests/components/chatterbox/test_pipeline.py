"""An Assist pipeline with Chatterbox speech-to-text and text-to-speech, end to end."""

from __future__ import annotations

import pytest
from homeassistant.components import assist_pipeline, tts
from homeassistant.components.assist_pipeline.pipeline import (
    PipelineEvent,
    PipelineEventType,
    async_create_default_pipeline,
    async_update_pipeline,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.support.ha import speech_metadata

from .audio import chunks, spoken_command
from .proxy import WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts")

STT_ENTITY = "stt.chatterbox_speech_to_text"
TTS_ENTITY = "tts.chatterbox_text_to_speech"


@pytest.mark.parametrize(
    "saved_tts_language",
    [
        pytest.param(None, id="as-created"),
        # what a pipeline made before the entity reported BCP-47 tags has stored
        pytest.param("en_US", id="piper-spelling-saved-before"),
    ],
)
async def test_pipeline_with_chatterbox(
    hass: HomeAssistant,
    proxy: WyomingProxy,
    proxied_entry: MockConfigEntry,
    saved_tts_language: str | None,
) -> None:
    """A pipeline picks both entities; speech goes in, a spoken answer comes out."""
    assert await async_setup_component(hass, "assist_pipeline", {})
    pipeline = await async_create_default_pipeline(hass, STT_ENTITY, TTS_ENTITY, "Chatterbox")
    assert pipeline is not None
    # The frontend names "en-US" (English (United States)); it shows "en_US" as the raw code.
    assert (pipeline.stt_language, pipeline.tts_language) == ("en", "en-US")
    assert pipeline.tts_voice == "en_US-test-medium"
    if saved_tts_language is not None:
        await async_update_pipeline(hass, pipeline, tts_language=saved_tts_language)
        pipeline = assist_pipeline.async_get_pipeline(hass, pipeline.id)
        assert pipeline.tts_language == saved_tts_language

    events: list[PipelineEvent] = []
    pcm = await spoken_command(proxy.host, proxy.port)
    await assist_pipeline.async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=speech_metadata(),
        stt_stream=chunks(pcm),
        pipeline_id=pipeline.id,
    )
    types = [event.type for event in events]
    assert PipelineEventType.ERROR not in types, events
    stt_end = next(e for e in events if e.type is PipelineEventType.STT_END)
    assert stt_end.data is not None
    assert isinstance(stt_end.data["stt_output"]["text"], str)
    assert proxy.requests("transcribe")[0].data["language"] == "en"

    tts_end = next(e for e in events if e.type is PipelineEventType.TTS_END)
    assert tts_end.data is not None
    stream = tts.async_get_stream(hass, tts_end.data["tts_output"]["token"])
    assert stream is not None
    assert stream.extension == "mp3"  # HA converts the WAV with ffmpeg for playback
    audio = b"".join([chunk async for chunk in stream.async_stream_result()])
    assert len(audio) > 1000
    assert proxy.requests("synthesize-start")[0].data["voice"] == {"name": "en_US-test-medium"}
