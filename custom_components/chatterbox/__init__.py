"""The Chatterbox integration: speech-to-text and text-to-speech from a Chatterbox server."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .client import ChatterboxClient
from .const import CONF_SEND_NAMES, DEFAULT_SEND_NAMES, DOMAIN
from .coordinator import ChatterboxConfigEntry, ChatterboxCoordinator, ChatterboxData
from .names import HomeNames
from .server_info import ServerInfo

__all__ = ["ChatterboxConfigEntry"]


def platforms_for(info: ServerInfo) -> list[Platform]:
    """Return the entity platforms a server's Info calls for."""
    platforms: list[Platform] = []
    if info.asr is not None:
        platforms.append(Platform.STT)
    if info.tts is not None:
        platforms.append(Platform.TTS)
    return platforms


async def async_setup_entry(hass: HomeAssistant, entry: ChatterboxConfigEntry) -> bool:
    """Connect to the server (not ready until it answers) and set up its entities."""
    client = ChatterboxClient(entry.data[CONF_HOST], entry.data[CONF_PORT])
    coordinator = ChatterboxCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()

    names: HomeNames | None = None
    if entry.options.get(CONF_SEND_NAMES, DEFAULT_SEND_NAMES):
        names = HomeNames(hass)
        entry.async_on_unload(names.async_start())
    platforms = platforms_for(coordinator.data)
    entry.runtime_data = ChatterboxData(
        client=client, coordinator=coordinator, platforms=platforms, names=names
    )

    @callback
    def follow_server() -> None:
        """Reload when the server starts or stops offering STT or TTS; track its version."""
        if not coordinator.last_update_success:
            return
        if platforms_for(coordinator.data) != platforms:
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        devices = dr.async_get(hass)
        device = devices.async_get_device(identifiers={(DOMAIN, entry.entry_id)})
        if device is not None and device.sw_version != coordinator.data.version:
            devices.async_update_device(device.id, sw_version=coordinator.data.version)

    entry.async_on_unload(coordinator.async_add_listener(follow_server))
    await hass.config_entries.async_forward_entry_setups(entry, platforms)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ChatterboxConfigEntry) -> bool:
    """Remove the entities of the entry."""
    return await hass.config_entries.async_unload_platforms(entry, entry.runtime_data.platforms)
