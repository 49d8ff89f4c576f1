"""Names in the home that help the server recognize what people say.

Entities exposed to Assist (the names Assist knows them by), areas and floors (names and aliases),
sent with each transcription as ``transcript_names``. The list is rebuilt lazily after any
change to the registries, to exposure or to entity names, and is bounded in size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
)
from homeassistant.helpers import (
    entity_registry as er,
)
from homeassistant.helpers import (
    floor_registry as fr,
)
from homeassistant.helpers import (
    intent,
)

ASSISTANT: Final = "conversation"
"""Names of entities exposed to this assistant are sent."""
MAX_NAMES: Final = 500
MAX_TOTAL_CHARS: Final = 8000
MAX_NAME_LENGTH: Final = 100


@callback
def _name_changed(event_data: EventStateChangedData) -> bool:
    old, new = event_data["old_state"], event_data["new_state"]
    return old is None or new is None or old.name != new.name


class HomeNames:
    """Bounded, de-duplicated names of the home, kept fresh as the home changes."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Collect names from ``hass``; call :meth:`async_start` to follow changes."""
        self.hass = hass
        self._names: list[str] | None = None
        self.builds = 0
        """How often the list was rebuilt (for diagnostics and tests)."""

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow changes; return the function that stops following them."""
        bus = self.hass.bus
        unsubscribes: list[Callable[[], None]] = [
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._async_invalidate),
            bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, self._async_invalidate),
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_invalidate),
            bus.async_listen(
                EVENT_STATE_CHANGED, self._async_invalidate, event_filter=_name_changed
            ),
            async_listen_entity_updates(self.hass, ASSISTANT, self._async_invalidate),
        ]

        @callback
        def stop() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()

        return stop

    @callback
    def _async_invalidate(self, _event: Event[Any] | None = None) -> None:
        self._names = None

    @callback
    def async_get(self) -> list[str]:
        """Return the current names (floors, areas, then exposed entities), within bounds."""
        if self._names is None:
            self._names = _bounded(self._candidates())
            self.builds += 1
        return self._names

    def _candidates(self) -> Iterable[str]:
        for floor in fr.async_get(self.hass).async_list_floors():
            yield floor.name
            yield from sorted(floor.aliases)
        for area in ar.async_get(self.hass).async_list_areas():
            yield area.name
            yield from sorted(area.aliases)
        entities = er.async_get(self.hass)
        for state in self.hass.states.async_all():
            if not async_should_expose(self.hass, ASSISTANT, state.entity_id):
                continue
            # The names Assist matches the entity by: its aliases in the user's order, the
            # computed entity name where the list holds it, or the state's name if unregistered.
            entry = entities.async_get(state.entity_id)
            yield from intent.async_get_entity_aliases(self.hass, entry, state=state)


def _bounded(candidates: Iterable[str]) -> list[str]:
    """De-duplicate (ignoring case), drop empty and over-long names, stop at the limits."""
    names: list[str] = []
    seen: set[str] = set()
    total = 0
    for candidate in candidates:
        name = " ".join(candidate.split())
        key = name.casefold()
        if not name or len(name) > MAX_NAME_LENGTH or key in seen:
            continue
        if len(names) >= MAX_NAMES or total + len(name) > MAX_TOTAL_CHARS:
            break
        seen.add(key)
        names.append(name)
        total += len(name)
    return names
