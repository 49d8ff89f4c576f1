"""What goes on the wire: Chatterbox's option keys and ranges, the audio format, request events.

Works with wyoming 1.7.2 (what Home Assistant core pins) and newer: fields only newer releases
model (``transcript_names``, ``transcript_terms``, ``vad_sensitivity``, ``context``) are put
into the event data under the wire names the newer classes use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeStart, SynthesizeVoice

CONTEXT_KEY: Final = "chatterbox"
"""Chatterbox's own options in an event's ``context``."""
LENGTH_SCALE_KEY: Final = "length_scale"
"""The speaking pace among them: ``{"chatterbox": {"length_scale": x}}``."""
MIN_LENGTH_SCALE: Final = 0.25
MAX_LENGTH_SCALE: Final = 4.0
"""The length scales the server honours (1.0 is the voice's pace; higher is slower)."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """Raw PCM: samples per second, bytes per sample, channels."""

    rate: int = 16000
    width: int = 2
    channels: int = 1

    @property
    def bytes_per_second(self) -> int:
        """Bytes of one second of audio."""
        return self.rate * self.width * self.channels

    def start(self) -> Event:
        """Announce this format: AudioStart."""
        return AudioStart(rate=self.rate, width=self.width, channels=self.channels).event()

    def chunk(self, pcm: bytes) -> Event:
        """Wrap ``pcm`` in an AudioChunk of this format."""
        return AudioChunk(
            rate=self.rate, width=self.width, channels=self.channels, audio=pcm
        ).event()


PCM16K: Final = AudioFormat()
"""16 kHz mono 16-bit: what Home Assistant's STT pipeline delivers and satellites record."""


def pace_context(length_scale: float | None) -> dict[str, Any] | None:
    """Ask Chatterbox for a pace in an event's ``context``; None leaves it to the server."""
    if length_scale is None:
        return None
    return {CONTEXT_KEY: {LENGTH_SCALE_KEY: length_scale}}


def transcribe_event(
    language: str | None,
    names: Sequence[str] | None = None,
    terms: Sequence[str] | None = None,
    vad_sensitivity: str | None = None,
) -> Event:
    """Build Transcribe; a field left None is not sent."""
    event = Transcribe(language=language).event()
    if names is not None:
        event.data["transcript_names"] = list(names)
    if vad_sensitivity is not None:
        event.data["vad_sensitivity"] = vad_sensitivity
    if terms is not None:
        event.data["transcript_terms"] = list(terms)
    return event


def synthesize_event(
    text: str, voice: SynthesizeVoice | None, context: dict[str, Any] | None
) -> Event:
    """Build a one-shot Synthesize (also the full text HA sends inside a stream)."""
    event = Synthesize(text=text, voice=voice).event()
    if context is not None:
        event.data["context"] = context
    return event


def synthesize_start_event(voice: SynthesizeVoice | None, context: dict[str, Any] | None) -> Event:
    """Build SynthesizeStart, which opens a stream of text."""
    event = SynthesizeStart(voice=voice).event()
    if context is not None:
        event.data["context"] = context
    return event
