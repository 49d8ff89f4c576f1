"""What the browser tests check on every screen: the integration's own words, never its keys."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pytest
from playwright.sync_api import Locator, Page

from tests.smoke.conftest import INTEGRATION

TRANSLATIONS: dict[str, Any] = json.loads((INTEGRATION / "translations" / "en.json").read_text())
# A translation key or placeholder shown instead of its text (the integration's or the
# frontend's own: "ui.panel.config...", "component.chatterbox...", "[%key:...]").
RAW_KEY = re.compile(
    r"component\.chatterbox\.|\[%key:|config\.step\.|data_description\.|\bui\.(panel|dialogs|components)\."
)
# How the frontend shows an error it has no translation for.
UNTRANSLATED = re.compile(r"Unknown error|Translation (missing|error)", re.IGNORECASE)


def assert_no_raw_keys(where: Locator, what: str) -> None:
    """Fail when ``where`` shows a translation key instead of its text."""
    text = where.inner_text()
    if match := RAW_KEY.search(text) or UNTRANSLATED.search(text):
        pytest.fail(f"{what} shows a raw translation key ({match.group(0)!r}): {text!r}")


def flow_dialog(page: Page) -> Locator:
    """The config, options or reconfigure flow's dialog the frontend has open."""
    return page.locator("dialog-data-entry-flow")


def form_field(dialog: Locator, role: Literal["textbox", "spinbutton"], label: str) -> Locator:
    """The input of a form field by its label (a required one's ends in "*")."""
    return dialog.get_by_role(role, name=re.compile(rf"^{re.escape(label)}\*?$"))
