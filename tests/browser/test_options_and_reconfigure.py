"""With Chatterbox added: its options dialog, and moving it to another address (reconfigure)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.smoke.test_ha_2026_11 import add_chatterbox
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import Screen
from .ui import TRANSLATIONS, assert_no_raw_keys, flow_dialog, form_field

pytestmark = pytest.mark.timeout(600)

OPTIONS_STEP = TRANSLATIONS["options"]["step"]["init"]
RECONFIGURE_STEP = TRANSLATIONS["config"]["step"]["reconfigure"]
HA_RECONFIGURED = "Reconfiguration was successful"


def test_options_dialog(screen: Screen, server: ServerProcess, socket_enabled: None) -> None:
    """The options dialog: labels and descriptions in words, the server's voices to choose."""
    add_chatterbox(screen.hass, server)
    page = screen.page
    screen.goto("/config/integrations/integration/chatterbox")
    configure = page.get_by_role("button", name=re.compile("^(Configure|Options)$"))
    expect(configure.first).to_be_visible()
    screen.shot("integration page")
    configure.first.click()

    dialog = flow_dialog(page)
    expect(dialog.get_by_text(OPTIONS_STEP["title"], exact=True)).to_be_visible()
    screen.shot("options dialog", of=dialog.get_by_role("dialog"), doc="options")
    expect(dialog.get_by_text(OPTIONS_STEP["description"], exact=True)).to_be_visible()
    for key, label in OPTIONS_STEP["data"].items():
        expect(dialog.get_by_text(label).first).to_be_visible()
        description = OPTIONS_STEP["data_description"][key]
        expect(dialog.get_by_text(description, exact=True)).to_be_visible()
    assert_no_raw_keys(dialog, "the options dialog")
    dialog.get_by_role("toolbar", name=OPTIONS_STEP["data"]["default_voices"]).get_by_role(
        "button", name="Add"
    ).click()
    voices = page.get_by_role("listbox").get_by_role("option")
    expect(voices.first).to_be_visible()
    screen.shot("default voice choices")
    assert voices.count() > 0, "the default-voice list offers no voice"


def test_reconfigure_dialog(screen: Screen, server: ServerProcess, socket_enabled: None) -> None:
    """Entry menu -> Reconfigure: the address in words, filled in; a wrong port, then the right."""
    add_chatterbox(screen.hass, server)
    page = screen.page
    screen.goto("/config/integrations/integration/chatterbox")
    # The entry's own menu (not the page's, nor its device's).
    entry = page.locator("ha-config-entry-row").filter(has_text="Chatterbox").first
    menu = entry.get_by_role("button", name="Menu").first
    expect(menu).to_be_visible()
    menu.click()
    reconfigure = page.get_by_role("menuitem", name="Reconfigure")
    expect(reconfigure).to_be_visible()
    screen.shot("entry menu")
    reconfigure.click()

    dialog = flow_dialog(page)
    expect(dialog.get_by_text(RECONFIGURE_STEP["title"], exact=True)).to_be_visible()
    expect(dialog.get_by_text(RECONFIGURE_STEP["description"], exact=True)).to_be_visible()
    host = form_field(dialog, "textbox", RECONFIGURE_STEP["data"]["host"])
    port = form_field(dialog, "spinbutton", RECONFIGURE_STEP["data"]["port"])
    # It opens with the entry's address, not empty.
    expect(host).to_have_value(server.host)
    expect(port).to_have_value(str(server.port))
    for field in ("host", "port"):
        description = RECONFIGURE_STEP["data_description"][field]
        expect(dialog.get_by_text(description, exact=True)).to_be_visible()
    screen.shot("reconfigure dialog", of=dialog.get_by_role("dialog"), doc="reconfigure")
    assert_no_raw_keys(dialog, "the reconfigure dialog")

    port.fill(str(free_port()))
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text(TRANSLATIONS["config"]["error"]["cannot_connect"])).to_be_visible()
    screen.shot("reconfigure wrong port")
    assert_no_raw_keys(dialog, "the reconfigure dialog with its error")

    port.fill(str(server.port))
    dialog.get_by_role("button", name="Submit").click()
    # Since 2026.11 Home Assistant words this itself (translation domain "homeassistant"),
    # not with the integration's own "reconfigure_successful".
    done = TRANSLATIONS["config"]["abort"]["reconfigure_successful"]
    words = re.compile(f"^({re.escape(done)}|{re.escape(HA_RECONFIGURED)})$")
    expect(dialog.get_by_text(words)).to_be_visible()
    screen.shot("reconfigured")
    assert_no_raw_keys(dialog, "the reconfigure dialog's result")
