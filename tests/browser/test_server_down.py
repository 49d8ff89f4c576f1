"""The server stopped and started again, as the device page and the notifications show it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.smoke.conftest import HassProcess
from tests.smoke.test_ha_2026_11 import add_chatterbox
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import Screen
from .ui import assert_no_raw_keys

pytestmark = pytest.mark.timeout(600)

# The integration polls its server every 30 s; the test asks for an update instead, and a
# server just started again may still be waiting out its retry delay.
STATE_TIMEOUT = 120.0
UPDATE_INTERVAL = 5.0


@pytest.fixture
def own_server(test_models: Path, socket_enabled: None) -> Iterator[ServerProcess]:
    """A server of this test's own (the shared one must keep running), on a fixed port."""
    process = ServerProcess(test_models, port=free_port())
    process.start()
    try:
        yield process
    finally:
        process.stop()


def wait_for_states(hass: HassProcess, entity_ids: tuple[str, ...], available: bool) -> None:
    """Ask Home Assistant to update the entities until all are (un)available."""
    step = f"entities {'available' if available else 'unavailable'}"
    deadline = time.monotonic() + STATE_TIMEOUT
    states: dict[str, str] = {}
    while True:
        hass.request_json(
            step,
            "POST",
            "/api/services/homeassistant/update_entity",
            json_body={"entity_id": list(entity_ids)},
        )
        for entity_id in entity_ids:
            states[entity_id] = hass.request_json(step, "GET", f"/api/states/{entity_id}")["state"]
        if all((state != "unavailable") is available for state in states.values()):
            return
        if time.monotonic() > deadline:
            hass.fail(step, f"states after {STATE_TIMEOUT} s: {states}")
        time.sleep(UPDATE_INTERVAL)


def test_server_stopped_and_started_again(
    screen: Screen, own_server: ServerProcess, test_models: Path
) -> None:
    """Server stopped: the entities show unavailable, every text readable; back: available."""
    hass, page = screen.hass, screen.page
    entities = add_chatterbox(hass, own_server)
    devices = screen.call_ws({"type": "config/device_registry/list"})
    entry_ids = {
        entry["entry_id"]
        for entry in hass.request_json(
            "entries", "GET", "/api/config/config_entries/entry?domain=chatterbox"
        )
    }
    (device,) = [d for d in devices if entry_ids & set(d["config_entries"])]
    device_page = f"/config/devices/device/{device['id']}"
    screen.goto(device_page)
    # The device page's card of the two entities, each with its state.
    card = (
        page.locator("ha-card").filter(has_text="Speech-to-text").filter(has_text="Text-to-speech")
    )
    expect(card).to_be_visible()
    expect(card).not_to_contain_text("Unavailable")
    screen.shot("device page, server running")

    own_server.stop()
    wait_for_states(hass, entities, available=False)
    screen.goto("/config/integrations/dashboard")
    screen.goto(device_page)
    # (each entity's row: its name and, in a slot of its own, its state)
    expect(card).to_contain_text(re.compile(r"Unavailable[\s\S]*Unavailable"))
    screen.shot("device page, server stopped", doc="server-stopped")
    assert_no_raw_keys(page.locator("body"), "the device page with the server stopped")
    screen.goto("/config/integrations/integration/chatterbox")
    screen.shot("integration page, server stopped")
    assert_no_raw_keys(page.locator("body"), "the integration page with the server stopped")
    screen.goto("/config/repairs")
    screen.shot("repairs, server stopped")
    assert_no_raw_keys(page.locator("body"), "the repairs page with the server stopped")
    page.get_by_role("button", name=re.compile("Notifications")).click()
    drawer = page.locator("notification-drawer")
    expect(drawer.locator("notification-item").first).to_be_visible()
    page.wait_for_timeout(500)  # (for the screenshot: the drawer slides in)
    screen.shot("notifications, server stopped")
    assert_no_raw_keys(drawer, "the notifications with the server stopped")
    page.keyboard.press("Escape")

    again = ServerProcess(test_models, port=own_server.port)
    again.start()
    try:
        wait_for_states(hass, entities, available=True)
        screen.goto("/config/integrations/dashboard")
        screen.goto(device_page)
        expect(card).to_be_visible()
        expect(card).not_to_contain_text("Unavailable")
        screen.shot("device page, server back")
    finally:
        again.stop()
