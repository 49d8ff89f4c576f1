"""The Home Assistant harness runs the voice components the pipelines need."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

VOICE_COMPONENTS = ("homeassistant", "conversation", "stt", "tts", "assist_pipeline")


async def test_voice_components_set_up(hass: HomeAssistant) -> None:
    """Every component an Assist pipeline needs sets up in the test harness."""
    for domain in VOICE_COMPONENTS:
        assert await async_setup_component(hass, domain, {}), domain
    await hass.async_block_till_done()
    for domain in VOICE_COMPONENTS:
        assert domain in hass.config.components
