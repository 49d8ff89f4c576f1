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

from custom_components.chatterbox.const import CONF_FALLBACKS, CONF_LENGTH_SCALE
from tests.support.ports import free_port

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
    assert set(timings) == {"synthesize_stream"}
    assert timings["synthesize_stream"]["first_audio_ms"] > 0
    (server,) = diagnostics["servers"]  # (no fallbacks)
    assert (server["role"], server["state"], server["last_error"]) == ("preferred", "up", None)
    assert server["latency_ms"] > 0
    assert "host" not in server
    # The generated models live in a per-machine cache directory.
    stt_models = diagnostics["server"]["stt"]["models"]
    assert stt_models == [str(test_models / "stt")]
    stt_models[0] = "<test models>/stt"
    assert diagnostics["server"]["tts"]["not_installed_voices"] >= 0
    # Numbers that change with the server's release and voice catalogue stay out.
    assert diagnostics == snapshot(
        exclude=props("port", "timings_ms", "version", "not_installed_voices", "latency_ms")
    )


async def test_diagnostics_of_a_server_list(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    proxy: WyomingProxy,
    setup_entry: SetupEntry,
) -> None:
    """Each server's state, last error and latency; the fallbacks' addresses redacted."""
    assert await async_setup_component(hass, "diagnostics", {})
    fallbacks = [f"{proxy.host}:{proxy.port}"]
    entry = await setup_entry("127.0.0.1", free_port(), {CONF_FALLBACKS: fallbacks})

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["entry"]["options"][CONF_FALLBACKS] == "**REDACTED**"
    preferred, fallback = diagnostics["servers"]
    assert (preferred["role"], preferred["state"], preferred["software"]) == (
        "preferred",
        "down",
        None,
    )
    assert preferred["last_error"].startswith("CannotConnect")
    assert preferred["down_since"] is not None
    assert preferred["resting_for_s"] > 0
    assert (fallback["role"], fallback["state"], fallback["last_error"]) == ("fallback", "up", None)
    assert fallback["latency_ms"] > 0
    assert (diagnostics["timeouts_s"]["connect"], diagnostics["timeouts_s"]["handshake"]) == (
        0.5,
        0.5,
    )
