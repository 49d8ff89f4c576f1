"""Constants for the Chatterbox integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "chatterbox"
LOGGER = logging.getLogger(__package__)

ATTRIBUTION_NAME: Final = "Chatterbox"
"""Programs whose Wyoming attribution carries this name are served by Chatterbox."""

DEFAULT_PORT: Final = 10300
SCAN_INTERVAL: Final = timedelta(seconds=30)

# Options of a config entry.
CONF_DEFAULT_VOICES: Final = "default_voices"
CONF_LENGTH_SCALE: Final = "length_scale"
CONF_STT_LANGUAGE: Final = "stt_language"
CONF_SEND_NAMES: Final = "send_names"
CONF_FALLBACKS: Final = "fallbacks"
"""Servers tried after the entry's own, in order: a list of ``host:port`` strings."""
DEFAULT_SEND_NAMES: Final = True

# TTS options a caller may pass (besides HA's own ``voice``).
ATTR_SPEAKER: Final = "speaker"
ATTR_LENGTH_SCALE: Final = "length_scale"

SPEAKER_SEPARATOR: Final = "#"
"""Joins voice and speaker in a ``default_voices`` option value: ``voice#speaker``."""
