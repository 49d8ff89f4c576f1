"""Diagnostics: the server's Info, the entry's options, and the last request timings."""

from __future__ import annotations

import time
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import CONF_FALLBACKS
from .coordinator import ChatterboxConfigEntry
from .lib.chatterbox_wyoming import WyomingClient
from .lib.chatterbox_wyoming.failover import Server
from .server_info import ServerInfo

TO_REDACT = {CONF_HOST, CONF_FALLBACKS, "unique_id"}


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
        "servers": [
            _health(index, server) for index, server in enumerate(data.client.servers.servers)
        ],
        "timings_ms": data.client.last_timings,
        "timeouts_s": _timeouts(data.client.servers.servers[0].client),
        "home_names": (
            {"enabled": True, "count": len(data.names.async_get()), "builds": data.names.builds}
            if data.names is not None
            else {"enabled": False}
        ),
    }


def _health(index: int, server: Server) -> dict[str, Any]:
    """One server of the list: its place, port and health (the host is left out)."""
    health = server.health
    info = ServerInfo(health.info) if health.info is not None else None
    return {
        "order": index,
        "role": "preferred" if index == 0 else "fallback",
        "port": server.client.port,
        "state": {True: "up", False: "down", None: "unknown"}[health.up],
        "failures_in_a_row": health.failures,
        "resting_for_s": max(0.0, round(health.retry_at - time.monotonic(), 1)),
        "down_since": _when(health.down_since),
        "last_error": health.last_error,
        "last_error_at": _when(health.last_error_at),
        "latency_ms": health.latency_ms,
        "software": None if info is None else {"name": info.name, "version": info.version},
    }


def _timeouts(client: WyomingClient) -> dict[str, float | None]:
    """Return the deadlines of a request (with fallbacks: connecting sooner, a handshake)."""
    timeouts = client.timeouts
    return {
        "connect": timeouts.connect,
        "handshake": timeouts.handshake if client.handshake else None,
        "describe": timeouts.describe,
        "transcript": timeouts.transcript,
        "audio": timeouts.audio,
    }


def _when(timestamp: float | None) -> str | None:
    return None if timestamp is None else dt_util.utc_from_timestamp(timestamp).isoformat()


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
