"""Diagnostics: the server's Info, the entry's options, and the last request timings."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from .coordinator import ChatterboxConfigEntry
from .server_info import ServerInfo

TO_REDACT = {CONF_HOST, "unique_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ChatterboxConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug a Chatterbox entry; the host is redacted."""
    data = entry.runtime_data
    coordinator = data.coordinator
    return {
        "entry": async_redact_data(
            {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "source": entry.source,
                "unique_id": entry.unique_id,
            },
            TO_REDACT,
        ),
        "server": {"available": coordinator.last_update_success, **_server(coordinator.data)},
        "timings_ms": data.client.last_timings,
        "timeouts_s": {
            "connect": data.client.timeouts.connect,
            "describe": data.client.timeouts.describe,
            "transcript": data.client.timeouts.transcript,
            "audio": data.client.timeouts.audio,
        },
        "home_names": (
            {"enabled": True, "count": len(data.names.async_get()), "builds": data.names.builds}
            if data.names is not None
            else {"enabled": False}
        ),
    }


def _server(info: ServerInfo) -> dict[str, Any]:
    """Summarise the Info: programs, installed models and voices, catalogue size."""
    stt = tts = None
    if info.asr is not None:
        stt = {
            "program": info.asr.name,
            "version": info.asr.version,
            "models": [model.name for model in info.asr.models if model.installed],
            "languages": info.stt_languages,
        }
    if info.tts is not None:
        tts = {
            "program": info.tts.name,
            "version": info.tts.version,
            "streaming": info.supports_streaming,
            "voices": [
                {
                    "name": voice.name,
                    "languages": voice.languages,
                    "speakers": [speaker.name for speaker in voice.speakers or []],
                }
                for voice in info.voices
            ],
            "not_installed_voices": len(info.tts.voices) - len(info.voices),
        }
    return {"name": info.name, "stt": stt, "tts": tts}
