"""Paths and parsed files of the add-on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon"


def load_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def addon_config() -> dict[str, Any]:
    """The add-on's config.yaml."""
    config = load_yaml(ADDON / "config.yaml")
    assert isinstance(config, dict)
    return config
