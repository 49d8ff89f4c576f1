"""Diagnostics of a loaded entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.components import tts
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.chatterbox.const import CONF_LENGTH_SCALE

from .conftest import SetupEntry
from .proxy import WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    proxy: WyomingProxy,
    setup_entry: SetupEntry,
    snapshot: SnapshotAssertion,
    test_models: Path,
) -> None:
    """Server Info, options, timeouts and the last timings; host and unique id redacted."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = await setup_entry(proxy.host, proxy.port, {CONF_LENGTH_SCALE: 1.1})
    media_id = tts.generate_media_source_id(
        hass,
        "Diagnostics.",
        "tts.chatterbox_text_to_speech",
        "en_US",
        options={tts.ATTR_PREFERRED_FORMAT: "wav"},
        cache=False,
    )
    await tts.async_get_media_source_audio(hass, media_id)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["entry"]["data"]["host"] == "**REDACTED**"
    assert diagnostics["entry"]["unique_id"] == "**REDACTED**"
    timings = diagnostics["timings_ms"]
    assert set(timings) == {"describe", "synthesize_stream"}
    assert timings["synthesize_stream"]["first_audio_ms"] > 0
    # The generated models live in a per-machine cache directory.
    stt_models = diagnostics["server"]["stt"]["models"]
    assert stt_models == [str(test_models / "stt")]
    stt_models[0] = "<test models>/stt"
    assert diagnostics["server"]["tts"]["not_installed_voices"] >= 0
    # Numbers that change with the server's release and voice catalogue stay out.
    assert diagnostics == snapshot(
        exclude=props("port", "timings_ms", "version", "not_installed_voices")
    )
