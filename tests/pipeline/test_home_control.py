"""Spoken commands really control the home: a light in the kitchen area turns on."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.assist_pipeline import PipelineEventType as Ev
from homeassistant.components.light import LightEntity
from homeassistant.components.light.const import ColorMode
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import setup_test_component_platform

from corpus import clips
from tests.roundtrip.audio_checks import assert_speech_audio

from .conftest import Voice
from .runner import FULL_RUN, answer_of, run_pipeline

pytestmark = pytest.mark.timeout(120)


class KitchenLight(LightEntity):
    """An on/off light that remembers what it was told."""

    _attr_name = "Ceiling"
    _attr_unique_id = "kitchen-ceiling"
    _attr_color_mode = ColorMode.ONOFF
    _attr_is_on = False

    def __init__(self) -> None:
        self._attr_supported_color_modes = {ColorMode.ONOFF}

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn on."""
        self._attr_is_on = True
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off."""
        self._attr_is_on = False
        self.async_write_ha_state()


async def add_kitchen_light(hass: HomeAssistant) -> str:
    """A light in the Kitchen area, exposed to Assist (lights are by default)."""
    kitchen = ar.async_get(hass).async_create("Kitchen")
    setup_test_component_platform(hass, "light", [KitchenLight()])
    assert await async_setup_component(hass, "light", {"light": {"platform": "test"}})
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("light", "test", "kitchen-ceiling")
    assert entity_id is not None
    registry.async_update_entity(entity_id, area_id=kitchen.id)
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]
    return entity_id


async def turn_on_kitchen_light(voice: Voice) -> None:
    hass = voice.hass
    light = await add_kitchen_light(hass)
    kitchen = next(c for c in clips() if c.id == "turn_on_kitchen_light")

    run = await run_pipeline(hass, kitchen.pcm(), pipeline_id=voice.pipeline_id)

    assert run.error is None, run.error
    assert run.types == FULL_RUN
    assert "kitchen" in run.transcript.lower()
    assert hass.states.get(light).state == STATE_ON  # type: ignore[union-attr]
    intent_output = run.data(Ev.INTENT_END)["intent_output"]
    assert intent_output["response"]["response_type"] == "action_done"
    targets = [t["id"] for t in intent_output["response"]["data"]["success"]]
    assert light in targets
    assert run.speech  # e.g. "Turned on the light"
    _, answer = answer_of(run)
    assert_speech_audio(answer, min_seconds=0.3, max_seconds=0.5 * len(run.speech) + 2)


async def test_turn_on_the_kitchen_light(voice: Voice) -> None:
    """With the generated models (whose Whisper hears any speech as this very command)."""
    await turn_on_kitchen_light(voice)


@pytest.mark.real_models
async def test_turn_on_the_kitchen_light_real_models(real_voice: Voice) -> None:
    """With real models: the spoken clip is recognized, the light turns on, the answer spoken."""
    await turn_on_kitchen_light(real_voice)
