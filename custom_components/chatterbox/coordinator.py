"""Keeps what an entry's servers offer current and knows whether any of them answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .client import ChatterboxClient
from .const import DOMAIN, LOGGER, SCAN_INTERVAL
from .names import HomeNames
from .repairs import check_preferred_server
from .server_info import ServerInfo


@dataclass
class ChatterboxData:
    """What a loaded config entry holds."""

    client: ChatterboxClient
    coordinator: ChatterboxCoordinator
    platforms: list[Platform]
    """The entity platforms set up for what the servers offered at setup."""
    names: HomeNames | None = field(default=None)


type ChatterboxConfigEntry = ConfigEntry[ChatterboxData]


class ChatterboxCoordinator(DataUpdateCoordinator[ServerInfo]):
    """Polls Describe on the entry's servers; fails only when none of them answers.

    Its data is what the servers offer together, as each last described itself (a server
    that is down keeps its languages and voices: the entities do not change while it
    sleeps). A server that failed rests and is probed by the client's ``watch`` task; every
    change of a server's health updates the entities (availability, diagnostics).
    """

    config_entry: ChatterboxConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ChatterboxConfigEntry, client: ChatterboxClient
    ) -> None:
        """Poll ``client``'s servers every SCAN_INTERVAL."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {client.host}:{client.port}",
            update_interval=SCAN_INTERVAL,
        )
        self.client = client
        client.servers.on_change = self.servers_changed

    @property
    def any_up(self) -> bool:
        """True while one of the servers answered last."""
        return any(server.health.up for server in self.client.servers.servers)

    @callback
    def servers_changed(self) -> None:
        """Tell the entities and repairs that a server went up or down or failed a request."""
        check_preferred_server(self.hass, self.config_entry, self.client.servers.servers[0])
        if not self.last_update_success and self.any_up:  # back before the next poll
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{self.name}: a server is back"
            )
        if self.data is not None:
            self.async_update_listeners()

    async def _async_update_data(self) -> ServerInfo:
        infos = await self.client.describe_all()
        check_preferred_server(self.hass, self.config_entry, self.client.servers.servers[0])
        own = infos[0]
        if own is not None and not own.is_chatterbox:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="not_chatterbox")
        if not self.any_up:
            error = self.client.error_of(self.client.servers.servers[0])
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(error)},
            )
        return self.client.offer()
