"""Home Assistant (2026.10+) serves the integration's own brand images from brand/."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

BRAND = Path(__file__).resolve().parents[3] / "custom_components" / "chatterbox" / "brand"


@pytest.mark.usefixtures("enable_custom_integrations")
@pytest.mark.parametrize("image", ["icon.png", "logo.png"])
async def test_brand_images_served_locally(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, image: str
) -> None:
    """The brands API answers with our file, with no request to the brands CDN."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    response = await client.get(f"/api/brands/integration/chatterbox/{image}")
    assert response.status == 200
    assert await response.read() == (BRAND / image).read_bytes()
