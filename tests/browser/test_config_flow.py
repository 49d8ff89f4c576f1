"""Adding Chatterbox as a person does: through the frontend's Add integration dialog."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import Screen
from .ui import TRANSLATIONS, assert_no_raw_keys, flow_dialog, form_field

pytestmark = pytest.mark.timeout(600)

USER_STEP = TRANSLATIONS["config"]["step"]["user"]


def test_add_chatterbox_through_the_ui(
    screen: Screen, server: ServerProcess, socket_enabled: None
) -> None:
    """Add integration -> Chatterbox -> form in real words -> wrong port -> right port."""
    page = screen.page
    screen.goto("/config/integrations/dashboard")
    add = page.get_by_role("button", name="Add integration")
    expect(add).to_be_visible()
    screen.shot("integrations dashboard")
    add.click()
    search = page.get_by_role("textbox", name=re.compile("search", re.IGNORECASE))
    expect(search.first).to_be_visible()
    search.first.fill("Chatterbox")
    screen.shot("add integration search")
    page.get_by_role("listitem").filter(has_text="Chatterbox").first.click()

    dialog = flow_dialog(page)
    expect(dialog.get_by_text(USER_STEP["title"], exact=True)).to_be_visible()
    screen.shot("host and port form")
    expect(dialog.get_by_text(USER_STEP["description"], exact=True)).to_be_visible()
    host = form_field(dialog, "textbox", USER_STEP["data"]["host"])
    port = form_field(dialog, "spinbutton", USER_STEP["data"]["port"])
    expect(host).to_be_visible()
    expect(port).to_be_visible()
    for field in ("host", "port"):
        expect(dialog.get_by_text(USER_STEP["data_description"][field], exact=True)).to_be_visible()
    assert_no_raw_keys(dialog, "the host/port form")

    host.fill(server.host)
    port.fill(str(server.port))
    screen.shot("host and port filled in", of=dialog.get_by_role("dialog"), doc="add-integration")
    port.fill(str(free_port()))
    screen.shot("wrong port filled in")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text(TRANSLATIONS["config"]["error"]["cannot_connect"])).to_be_visible()
    screen.shot("wrong port error")
    assert_no_raw_keys(dialog, "the form with its error")

    port.fill(str(server.port))
    dialog.get_by_role("button", name="Submit").click()
    # The frontend's last step names the new device and offers an area for it.
    expect(dialog.get_by_text("Name and assign", exact=True)).to_be_visible()
    device_name = dialog.get_by_role("textbox", name="Device name")
    expect(device_name).to_have_value("Chatterbox")
    screen.shot("entry created")
    assert_no_raw_keys(dialog, "the created entry's dialog")
    dialog.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()
    expect(dialog).to_be_hidden()

    # The device page lists the speech-to-text and text-to-speech entities, named in words.
    screen.goto("/config/integrations/integration/chatterbox")
    expect(page.get_by_text("Chatterbox", exact=True).first).to_be_visible()
    screen.shot("integration page")
    page.get_by_role("link", name=re.compile(r"1 (device|service)")).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    entities = TRANSLATIONS["entity"]
    for name in (entities["stt"]["stt"]["name"], entities["tts"]["tts"]["name"]):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    screen.shot("device page", doc="device")
    assert_no_raw_keys(page.locator("body"), "the device page")
