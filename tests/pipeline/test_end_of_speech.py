"""The server ends the command: Home Assistant runs no VAD and gets the transcript early.

The server's Info says ``requires_external_vad=False`` (its default, ``--end-of-speech``), so
Home Assistant's pipeline passes the satellite's audio on without its own VAD; the transcript
must come while that audio is still streaming, through our integration and through Home
Assistant core's own wyoming integration alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from homeassistant.components import stt
from homeassistant.components.assist_pipeline import (
    AudioSettings,
    PipelineEventType,
    PipelineStage,
    VadSensitivity,
    async_pipeline_from_audio_stream,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from corpus import clips
from tests import satellite
from tests.pipeline.runner import RecordedRun
from tests.support.audio import to_pcm16
from tests.support.ha import speech_metadata
from tests.support.server import ServerProcess

from .conftest import Voice

EXPECTED = "turn on the kitchen light"  # what the generated test model hears in any speech
EXTRA_SILENCE = 3.0  # the satellite keeps streaming this long after the command


class Microphone:
    """A satellite's audio, paced in real time, that counts what the consumer took."""

    def __init__(self) -> None:
        clip = next(c for c in clips() if c.trailing_silence >= 0.8)
        tail = to_pcm16(np.zeros(int(EXTRA_SILENCE * satellite.RATE), dtype=np.float32))
        self.pcm = clip.pcm() + tail
        self.total = -(-len(self.pcm) // (satellite.RATE * satellite.CHUNK_MS // 1000 * 2))
        self.taken = 0

    async def stream(self) -> AsyncIterator[bytes]:
        async for chunk in satellite.chunks(self.pcm, realtime=True):
            self.taken += 1
            yield chunk


async def _listen(
    voice: Voice, microphone: Microphone, audio_settings: AudioSettings | None = None
) -> RecordedRun:
    """Run the pipeline's speech-to-text stage on the microphone, as a satellite does."""
    run = RecordedRun()
    await async_pipeline_from_audio_stream(
        voice.hass,
        context=Context(),
        event_callback=run.on_event,
        stt_metadata=speech_metadata(),
        stt_stream=microphone.stream(),
        pipeline_id=voice.pipeline_id,
        end_stage=PipelineStage.STT,
        audio_settings=audio_settings,
    )
    assert run.error is None, run.error
    return run


async def test_pipeline_stt_ends_before_the_audio_does(voice: Voice) -> None:
    microphone = Microphone()
    run = await _listen(voice, microphone)
    processing = run.data(PipelineEventType.STT_START)["audio_processing"]
    assert processing["requires_external_vad"] is False  # so HA ran no VAD of its own
    assert run.transcript == EXPECTED
    assert microphone.taken < microphone.total - EXTRA_SILENCE * 1000 / satellite.CHUNK_MS / 2, (
        f"stt-end after {microphone.taken} of {microphone.total} chunks"
    )


@pytest.fixture
async def core_wyoming_stt(
    hass: HomeAssistant, socket_enabled: None, pipeline_server: ServerProcess
) -> stt.SpeechToTextEntity:
    """Home Assistant core's wyoming integration pointed at the Chatterbox server."""
    assert await async_setup_component(hass, "homeassistant", {})
    entry = MockConfigEntry(
        domain="wyoming",
        data={CONF_HOST: pipeline_server.host, CONF_PORT: pipeline_server.port},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    (entity_id,) = (
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "stt"
    )
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    return entity


async def test_core_wyoming_integration_gets_the_early_answer(
    core_wyoming_stt: stt.SpeechToTextEntity,
) -> None:
    assert core_wyoming_stt.audio_processing.requires_external_vad is False
    microphone = Microphone()
    result = await core_wyoming_stt.internal_async_process_audio_stream(
        speech_metadata("en"), microphone.stream()
    )
    assert result.result == stt.SpeechResultState.SUCCESS
    assert result.text == EXPECTED
    assert microphone.taken < microphone.total - EXTRA_SILENCE * 1000 / satellite.CHUNK_MS / 2


async def test_the_satellites_sensitivity_reaches_the_server(voice: Voice) -> None:
    """A satellite's "finished speaking detection" (the run's silence) sets the server's wait.

    Home Assistant tells an STT entity nothing of it; the integration finds it in the pipeline
    run and sends it as ``Transcribe.vad_sensitivity``. At real-time pace, each longer wait
    takes the satellite's microphone that much longer before the transcript ends the stream.
    """
    taken: dict[VadSensitivity, int] = {}
    for sensitivity in (VadSensitivity.AGGRESSIVE, VadSensitivity.DEFAULT, VadSensitivity.RELAXED):
        microphone = Microphone()
        silence = VadSensitivity.to_seconds(sensitivity)
        run = await _listen(voice, microphone, AudioSettings(silence_seconds=silence))
        assert run.transcript == EXPECTED
        taken[sensitivity] = microphone.taken
    seconds = {s: n * satellite.CHUNK_MS / 1000 for s, n in taken.items()}
    # HA's waits differ by 0.45 s and 0.55 s; the transcript of the test model is ready sooner
    assert seconds[VadSensitivity.DEFAULT] - seconds[VadSensitivity.AGGRESSIVE] >= 0.25, seconds
    assert seconds[VadSensitivity.RELAXED] - seconds[VadSensitivity.DEFAULT] >= 0.4, seconds
