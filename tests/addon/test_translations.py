"""The add-on's translations name and describe every option and the port."""

from __future__ import annotations

from typing import Any

from .conftest import ADDON, load_yaml


def test_every_option_translated(addon_config: dict[str, Any]) -> None:
    """Each schema key has a name and a description; nothing stale is translated."""
    translations = load_yaml(ADDON / "translations" / "en.yaml")
    configuration = translations["configuration"]
    assert set(configuration) == set(addon_config["schema"])
    for key, text in configuration.items():
        assert text.get("name"), key
        assert text.get("description"), key
    assert set(translations["network"]) == set(addon_config["ports"])
