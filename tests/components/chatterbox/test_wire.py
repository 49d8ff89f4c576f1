"""The client core and the server agree on the wire: the pace option's keys and range."""

from __future__ import annotations

import pytest
from homeassistant.exceptions import ServiceValidationError

from chatterbox_server import limits
from custom_components.chatterbox.lib.chatterbox_wyoming import protocol
from custom_components.chatterbox.tts import _length_scale


def test_pace_option_keys_and_range_are_the_servers() -> None:
    """One key pair and one range, the ones the server reads and honours."""
    assert protocol.CONTEXT_KEY == limits.CONTEXT_KEY
    assert protocol.LENGTH_SCALE_KEY == limits.LENGTH_SCALE_KEY
    assert (protocol.MIN_LENGTH_SCALE, protocol.MAX_LENGTH_SCALE) == (
        limits.MIN_LENGTH_SCALE,
        limits.MAX_LENGTH_SCALE,
    )
    assert protocol.pace_context(1.5) == {limits.CONTEXT_KEY: {limits.LENGTH_SCALE_KEY: 1.5}}
    assert protocol.pace_context(None) is None


@pytest.mark.parametrize("scale", [limits.MIN_LENGTH_SCALE, 1.0, limits.MAX_LENGTH_SCALE])
def test_integration_accepts_the_whole_server_range(scale: float) -> None:
    assert _length_scale(scale) == scale


@pytest.mark.parametrize("scale", [limits.MIN_LENGTH_SCALE - 0.01, limits.MAX_LENGTH_SCALE + 0.01])
def test_integration_refuses_what_the_server_would(scale: float) -> None:
    with pytest.raises(ServiceValidationError):
        _length_scale(scale)
