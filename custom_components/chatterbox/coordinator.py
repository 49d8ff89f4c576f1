"""Keeps a Chatterbox server's Info current and knows whether the server is reachable."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .client import ChatterboxClient, ChatterboxError
from .const import DOMAIN, LOGGER, SCAN_INTERVAL
from .names import HomeNames
from .server_info import ServerInfo


@dataclass
class ChatterboxData:
    """What a loaded config entry holds."""

    client: ChatterboxClient
    coordinator: ChatterboxCoordinator
    platforms: list[Platform]
    """The entity platforms set up for what the server offered at setup."""
    names: HomeNames | None = field(default=None)


type ChatterboxConfigEntry = ConfigEntry[ChatterboxData]


class ChatterboxCoordinator(DataUpdateCoordinator[ServerInfo]):
    """Polls Describe; a failed poll makes the entities unavailable until one succeeds."""

    config_entry: ChatterboxConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ChatterboxConfigEntry, client: ChatterboxClient
    ) -> None:
        """Poll ``client`` every SCAN_INTERVAL."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {client.host}:{client.port}",
            update_interval=SCAN_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> ServerInfo:
        try:
            info = await self.client.describe()
        except ChatterboxError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        if not info.is_chatterbox:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="not_chatterbox")
        return info
