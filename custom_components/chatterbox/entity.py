"""Base entity: one device per Chatterbox entry, available while one of its servers answers."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .client import ChatterboxClient
from .const import ATTRIBUTION_NAME, DOMAIN
from .coordinator import ChatterboxConfigEntry, ChatterboxCoordinator


class ChatterboxEntity(CoordinatorEntity[ChatterboxCoordinator]):
    """An entity of a Chatterbox server."""

    _attr_has_entity_name = True

    def __init__(self, entry: ChatterboxConfigEntry, key: str) -> None:
        """Set up entity ``key`` (``stt`` or ``tts``) of the server of ``entry``."""
        super().__init__(entry.runtime_data.coordinator)
        self.entry = entry
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}-{key}"
        info = self.coordinator.data
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer=ATTRIBUTION_NAME,
            model=" + ".join(p.name for p in (info.asr, info.tts) if p is not None),
            name=entry.title,
            sw_version=info.version,
        )

    @property
    def client(self) -> ChatterboxClient:
        """Return the client of the server."""
        return self.entry.runtime_data.client
