"""The Chatterbox integration: speech-to-text and text-to-speech from a Chatterbox server."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir

from .address import entry_servers
from .client import ChatterboxClient
from .const import CONF_SEND_NAMES, DEFAULT_SEND_NAMES, DOMAIN
from .coordinator import ChatterboxConfigEntry, ChatterboxCoordinator, ChatterboxData
from .names import HomeNames
from .repairs import issue_id
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
    """Connect to the servers (not ready until one answers) and set up their entities."""
    own, *fallbacks = entry_servers(entry)
    client = ChatterboxClient(
        own.host, own.port, fallbacks=[(server.host, server.port) for server in fallbacks]
    )
    coordinator = ChatterboxCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    if fallbacks:  # (a lone server is polled by the coordinator alone)
        entry.async_create_background_task(
            hass, client.servers.watch(), f"{DOMAIN} {entry.title}: probe servers that failed"
        )

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


async def async_remove_entry(hass: HomeAssistant, entry: ChatterboxConfigEntry) -> None:
    """Remove the entry's repair issue with it."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry))
