"""Run an Assist pipeline on a satellite's audio and keep everything it reports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components import tts
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    async_pipeline_from_audio_stream,
)
from homeassistant.core import Context, HomeAssistant

from tests import satellite
from tests.roundtrip.audio_checks import Pcm, decode_wav
from tests.support.ha import speech_metadata

WAV_OUTPUT = {tts.ATTR_PREFERRED_FORMAT: "wav"}
"""Ask for the TTS entity's own WAV (no ffmpeg conversion)."""
WAV_HEADER_BYTES = 44
ANSWER_TIMEOUT = 30.0

FULL_RUN = [
    "run-start",
    "stt-start",
    "stt-end",
    "intent-start",
    "intent-end",
    "tts-start",
    "tts-end",
    "run-end",
]


@dataclass
class RecordedRun:
    """The events of one run, each with the ``time.perf_counter()`` it arrived at."""

    events: list[PipelineEvent] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    audio_done_at: float | None = None
    """When the pipeline stopped taking audio (all of it sent, or VAD heard the end)."""
    answer_audio_at: float | None = None
    """When the first audio of the spoken answer arrived (past the WAV header)."""
    answer_data: tuple[str, bytes] | None = None
    """The spoken answer as served: file extension and bytes."""

    def on_event(self, event: PipelineEvent) -> None:
        """The pipeline's event callback."""
        self.events.append(event)
        self.times.append(time.perf_counter())

    @property
    def types(self) -> list[str]:
        """Event types in order, without VAD and intent-progress events."""
        skip = {
            PipelineEventType.STT_VAD_START,
            PipelineEventType.STT_VAD_END,
            PipelineEventType.INTENT_PROGRESS,
        }
        return [str(event.type) for event in self.events if event.type not in skip]

    def data(self, event_type: PipelineEventType) -> dict[str, Any]:
        """Data of the first event of ``event_type``."""
        for event in self.events:
            if event.type == event_type:
                return event.data or {}
        raise AssertionError(f"no {event_type} event in {self.types}")

    def at(self, event_type: PipelineEventType) -> float:
        """When the first event of ``event_type`` arrived."""
        for event, when in zip(self.events, self.times, strict=True):
            if event.type == event_type:
                return when
        raise AssertionError(f"no {event_type} event in {self.types}")

    def ms_after_audio(self, event_type: PipelineEventType) -> float:
        """Milliseconds from the end of the audio to an event."""
        assert self.audio_done_at is not None
        return (self.at(event_type) - self.audio_done_at) * 1000

    def ms_between(self, first: PipelineEventType, second: PipelineEventType) -> float:
        """Milliseconds from one event to another."""
        return (self.at(second) - self.at(first)) * 1000

    @property
    def transcript(self) -> str:
        """What speech-to-text heard."""
        return str(self.data(PipelineEventType.STT_END)["stt_output"]["text"])

    @property
    def speech(self) -> str:
        """What the conversation agent answered."""
        output = self.data(PipelineEventType.INTENT_END)["intent_output"]
        return str(output["response"]["speech"]["plain"]["speech"])

    @property
    def error(self) -> dict[str, Any] | None:
        """The error event's data, if the run failed."""
        errors = [event for event in self.events if event.type == PipelineEventType.ERROR]
        return (errors[0].data or {}) if errors else None


async def _listen(hass: HomeAssistant, run: RecordedRun, token: str) -> None:
    """Read the answer's stream as a satellite does once it has the ``tts_output`` URL."""
    stream = tts.async_get_stream(hass, token)
    assert stream is not None, f"no TTS stream for token {token}"
    data = b""
    async for chunk in stream.async_stream_result():
        data += chunk
        if run.answer_audio_at is None and len(data) > WAV_HEADER_BYTES:
            run.answer_audio_at = time.perf_counter()
    run.answer_data = (stream.extension, data)


async def run_pipeline(
    hass: HomeAssistant,
    pcm: bytes,
    *,
    pipeline_id: str | None = None,
    realtime: bool = False,
    tts_audio_output: str | dict[str, Any] | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
) -> RecordedRun:
    """Stream ``pcm`` as 20 ms chunks through a pipeline, from STT to TTS.

    Like a satellite, it starts reading the spoken answer when tts-end gives its URL, and
    returns once the answer is complete. ``on_event`` also sees every event as it happens.
    """
    run = RecordedRun()
    listener: asyncio.Task[None] | None = None

    def record(event: PipelineEvent) -> None:
        nonlocal listener
        run.on_event(event)
        if event.type == PipelineEventType.TTS_END:
            token = (event.data or {})["tts_output"]["token"]
            listener = hass.async_create_task(_listen(hass, run, token))
        if on_event is not None:
            on_event(event)

    async def audio() -> AsyncIterator[bytes]:
        try:
            async for chunk in satellite.chunks(pcm, realtime=realtime):
                yield chunk
        finally:
            run.audio_done_at = time.perf_counter()

    try:
        await async_pipeline_from_audio_stream(
            hass,
            context=Context(),
            event_callback=record,
            stt_metadata=speech_metadata(),
            stt_stream=audio(),
            pipeline_id=pipeline_id,
            tts_audio_output=WAV_OUTPUT if tts_audio_output is None else tts_audio_output,
        )
        run.ended = time.perf_counter()
        if listener is not None:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await listener
    finally:
        if listener is not None and not listener.done():
            listener.cancel()
    return run


def answer_of(run: RecordedRun) -> tuple[str, Pcm]:
    """The spoken answer of a run (asked for as WAV): its file extension and decoded audio.

    Read from the run's TTS stream, which the ``tts_output`` URL (``/api/tts_proxy/<token>``)
    serves. (``tts.async_get_media_source_audio`` cannot resolve the stream media ids the
    pipeline reports, as of Home Assistant 2026.2.)
    """
    assert run.answer_data is not None, f"no spoken answer: {run.types}, error {run.error}"
    extension, data = run.answer_data
    return extension, decode_wav(data)
