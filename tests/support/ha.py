"""Autouse fixtures for every Home Assistant test tree (re-exported by their conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.components import stt, tts


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/chatterbox."""


@pytest.fixture(autouse=True)
def tts_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep HA's TTS file cache per test (by default it is shared in the plugin's package)."""
    cache = tmp_path / "tts"
    monkeypatch.setattr(tts, "DEFAULT_CACHE_DIR", str(cache))
    return cache


def speech_metadata(language: str = "") -> stt.SpeechMetadata:
    """What a satellite streams: 16 kHz mono 16-bit PCM ("" lets the pipeline choose)."""
    return stt.SpeechMetadata(
        language=language,
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )
