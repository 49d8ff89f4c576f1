"""Home names for recognition: what is collected, kept fresh, and bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
)
from homeassistant.helpers import (
    entity_registry as er,
)
from homeassistant.helpers import (
    floor_registry as fr,
)

from custom_components.chatterbox import names as names_module
from custom_components.chatterbox.names import HomeNames

pytestmark = pytest.mark.usefixtures("core")


@pytest.fixture
def home_names(hass: HomeAssistant) -> Iterator[HomeNames]:
    """HomeNames following the registries for the length of a test."""
    names = HomeNames(hass)
    stop = names.async_start()
    yield names
    stop()


def _light(
    hass: HomeAssistant, object_id: str, name: str, aliases: list[er.AliasEntry] | None = None
) -> str:
    """A light registered as HA registers one (aliases: [COMPUTED_NAME] unless given)."""
    entry = er.async_get(hass).async_get_or_create(
        "light", "test", object_id, suggested_object_id=object_id, original_name=name
    )
    assert entry.aliases == [er.COMPUTED_NAME]
    if aliases is not None:
        er.async_get(hass).async_update_entity(entry.entity_id, aliases=aliases)
    hass.states.async_set(entry.entity_id, "off", {"friendly_name": name})
    return entry.entity_id


async def test_collects_floors_areas_and_exposed_entities(
    hass: HomeAssistant, home_names: HomeNames
) -> None:
    """Floors, areas and exposed entities by the names Assist knows; unexposed ones left out.

    An entity's names are its aliases in order, the computed entity name standing in for
    COMPUTED_NAME; one whose aliases drop COMPUTED_NAME is known by its aliases alone.
    """
    fr.async_get(hass).async_create("Ground floor", aliases={"Downstairs"})
    ar.async_get(hass).async_create("Kitchen", aliases={"Cookhouse"})
    ceiling = _light(hass, "ceiling", "Ceiling light", ["Big lamp", er.COMPUTED_NAME, " "])
    desk = _light(hass, "desk", "Desk lamp")
    porch = _light(hass, "porch", "Porch light", ["Front lamp"])
    secret = _light(hass, "secret", "Secret lamp")
    hass.states.async_set("light.unregistered", "off", {"friendly_name": "Garden lantern"})
    await hass.async_block_till_done()
    for entity_id in (ceiling, desk, porch, "light.unregistered"):
        async_expose_entity(hass, "conversation", entity_id, True)
    async_expose_entity(hass, "conversation", secret, False)

    assert home_names.async_get() == [
        "Ground floor",
        "Downstairs",
        "Kitchen",
        "Cookhouse",
        "Big lamp",
        "Ceiling light",
        "Desk lamp",
        "Front lamp",
        "Garden lantern",
    ]


async def test_kept_fresh_and_cached(hass: HomeAssistant, home_names: HomeNames) -> None:
    """The list is built once and rebuilt only after the home changed."""
    kitchen = ar.async_get(hass).async_create("Kitchen")
    assert home_names.async_get() == ["Kitchen"]
    assert home_names.async_get() == ["Kitchen"]
    assert home_names.builds == 1

    ar.async_get(hass).async_update(kitchen.id, name="Scullery")
    await hass.async_block_till_done()
    assert home_names.async_get() == ["Scullery"]

    fr.async_get(hass).async_create("Attic")
    await hass.async_block_till_done()
    assert home_names.async_get() == ["Attic", "Scullery"]

    desk = _light(hass, "desk", "Desk lamp")
    await hass.async_block_till_done()
    assert home_names.async_get() == ["Attic", "Scullery", "Desk lamp"]

    hass.states.async_set(desk, "on", {"friendly_name": "Desk lamp"})
    await hass.async_block_till_done()
    builds = home_names.builds
    assert home_names.async_get() == ["Attic", "Scullery", "Desk lamp"]
    assert home_names.builds == builds  # a state change that keeps the name is no change

    er.async_get(hass).async_update_entity(desk, name="Reading lamp")
    await hass.async_block_till_done()
    assert home_names.async_get() == ["Attic", "Scullery", "Reading lamp"]

    er.async_get(hass).async_update_entity(desk, aliases=[er.COMPUTED_NAME, "Study light"])
    await hass.async_block_till_done()
    assert home_names.async_get() == ["Attic", "Scullery", "Reading lamp", "Study light"]

    garden = "light.garden"  # not in the registry: known by its state's name
    hass.states.async_set(garden, "on", {"friendly_name": "Lantern"})
    async_expose_entity(hass, "conversation", garden, True)
    await hass.async_block_till_done()
    assert home_names.async_get()[-1] == "Lantern"
    hass.states.async_set(garden, "on", {"friendly_name": "Garden lantern"})
    await hass.async_block_till_done()
    assert home_names.async_get()[-1] == "Garden lantern"
    async_expose_entity(hass, "conversation", garden, False)

    async_expose_entity(hass, "conversation", desk, False)
    assert home_names.async_get() == ["Attic", "Scullery"]


async def test_stops_following_changes(hass: HomeAssistant) -> None:
    """After stop, changes no longer rebuild the list."""
    names = HomeNames(hass)
    stop = names.async_start()
    assert names.async_get() == []
    stop()
    ar.async_get(hass).async_create("Garage")
    await hass.async_block_till_done()
    assert names.async_get() == []


async def test_bounded(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Duplicates (ignoring case), blanks and overlong names go; count and size are capped."""
    areas = ar.async_get(hass)
    areas.async_create("Hall", aliases={"hall", "  Hall  ", "x" * 101, "Entrance  way"})
    for number in range(10):
        areas.async_create(f"Room {number}")
    names = HomeNames(hass)
    listed = names.async_get()
    assert listed[:2] == ["Hall", "Entrance way"]
    assert len(listed) == 12

    monkeypatch.setattr(names_module, "MAX_NAMES", 5)
    assert len(HomeNames(hass).async_get()) == 5
    monkeypatch.setattr(names_module, "MAX_TOTAL_CHARS", 30)
    capped = HomeNames(hass).async_get()
    assert sum(map(len, capped)) <= 30
    assert capped == ["Hall", "Entrance way", "Room 0", "Room 1"]
