"""The satellite's sensitivity as the integration reads it from Home Assistant."""

from __future__ import annotations

import pytest
from homeassistant.components.assist_pipeline import VadSensitivity
from homeassistant.core import HomeAssistant

from chatterbox_server.endpointing import HA_SILENCE_SECONDS
from custom_components.chatterbox.satellite import sensitivity_for, vad_sensitivity


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.25, VadSensitivity.AGGRESSIVE),
        (0.7, VadSensitivity.DEFAULT),
        (1.25, VadSensitivity.RELAXED),
        (0.5, VadSensitivity.DEFAULT),  # between two: the longer wait
        (0.1, VadSensitivity.AGGRESSIVE),
        (3.0, VadSensitivity.RELAXED),  # longer than any: the longest there is
    ],
)
def test_sensitivity_for_a_wait(seconds: float, expected: VadSensitivity) -> None:
    assert sensitivity_for(seconds) is expected


def test_the_server_waits_what_home_assistant_waits() -> None:
    """The server's table is Home Assistant's own (assist_pipeline/vad.py)."""
    home_assistant = {s.value: VadSensitivity.to_seconds(s) for s in VadSensitivity}
    assert home_assistant == HA_SILENCE_SECONDS


async def test_no_pipeline_run_no_sensitivity(hass: HomeAssistant) -> None:
    """Outside a pipeline (or before assist_pipeline is set up) the server's default holds."""
    assert vad_sensitivity(hass, object()) is None
