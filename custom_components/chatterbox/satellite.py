"""The satellite's "finished speaking detection", which Home Assistant does not tell an STT entity.

A satellite's sensitivity (aggressive, default, relaxed) becomes the pipeline run's
``audio_settings.silence_seconds``: the silence Home Assistant's own VAD waits for. An STT
entity is handed only the audio and its metadata, so the entity looks for the pipeline runs
whose speech-to-text stage it serves and sends the server the sensitivity of the longest wait
among them (``Transcribe.vad_sensitivity``): the server then never ends a command on less
silence than Home Assistant would have. Nothing found (the entity used outside a pipeline, or
Home Assistant's internals changed): None, and the server waits as long as Home Assistant's
default.

This is the one module that reads assist_pipeline's run registry, which is not a public API.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.assist_pipeline import VadSensitivity
from homeassistant.components.assist_pipeline.pipeline import KEY_ASSIST_PIPELINE
from homeassistant.core import HomeAssistant

# Shortest wait first: a wait between two is sent as the longer one.
_BY_WAIT = sorted(VadSensitivity, key=VadSensitivity.to_seconds)


def sensitivity_for(silence_seconds: float) -> VadSensitivity:
    """Return the sensitivity whose wait is the shortest at least ``silence_seconds`` long."""
    for sensitivity in _BY_WAIT:
        if VadSensitivity.to_seconds(sensitivity) >= silence_seconds:
            return sensitivity
    return _BY_WAIT[-1]


def _runs(hass: HomeAssistant) -> list[Any]:
    data = hass.data.get(KEY_ASSIST_PIPELINE)
    by_pipeline = getattr(getattr(data, "pipeline_runs", None), "_pipeline_runs", None)
    if not isinstance(by_pipeline, dict):
        return []
    return [run for runs in by_pipeline.values() for run in list(runs.values())]


def vad_sensitivity(hass: HomeAssistant, stt_entity: object) -> VadSensitivity | None:
    """Return the sensitivity of the running pipelines whose speech-to-text is ``stt_entity``."""
    waits: list[float] = []
    for run in _runs(hass):
        processor = getattr(run, "_processor", None)
        if getattr(processor, "stt_provider", None) is not stt_entity:
            continue
        settings = getattr(run, "audio_settings", None)
        seconds = getattr(settings, "silence_seconds", None)
        if isinstance(seconds, int | float) and not getattr(run, "_ended", False):
            waits.append(float(seconds))
    return sensitivity_for(max(waits)) if waits else None
