"""The ``Info`` answer to ``Describe``: what this server can transcribe and speak, and where.

:class:`InfoAnswer` keeps it encoded for every Describe; the voices' owner
(:class:`~.voices.Voices`) replaces the voice list in it when the voices change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from wyoming.event import Event
from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    Info,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
)

from . import __version__
from .models import VoiceEntry

ATTRIBUTION = Attribution(name="Chatterbox", url="https://github.com/chatterbox-voice/chatterbox")


def asr_program(
    model_name: str, languages: Sequence[str], ends_speech: bool = False, device: str = "cpu"
) -> AsrProgram:
    """Describe the faster-whisper program with its one model, running on ``device``.

    ``ends_speech``: the server finds the end of speech itself (``--end-of-speech``), so Home
    Assistant runs no VAD of its own and may get the Transcript before it stops the audio.
    """
    return AsrProgram(
        name="faster-whisper",
        description=f"Chatterbox speech-to-text (faster-whisper) on {device.upper()}",
        attribution=ATTRIBUTION,
        installed=True,
        version=__version__,
        models=[
            AsrModel(
                name=model_name,
                description=f"Whisper model {model_name}",
                attribution=ATTRIBUTION,
                installed=True,
                version=__version__,
                languages=list(languages),
            )
        ],
        supports_transcript_streaming=False,
        # What Home Assistant should do to the audio first: its VAD ends the command unless
        # the server does; its gain control and noise suppression stay on (said explicitly).
        requires_external_vad=not ends_speech,
        prefers_auto_gain_enabled=True,
        prefers_noise_reduction_enabled=True,
    )


def tts_voice(entry: VoiceEntry) -> TtsVoice:
    """Describe one Piper voice."""
    return TtsVoice(
        name=entry.name,
        description=entry.description,
        attribution=ATTRIBUTION,
        installed=entry.installed,
        version=__version__,
        languages=list(entry.languages),
        speakers=[TtsVoiceSpeaker(name=speaker) for speaker in entry.speakers] or None,
    )


def tts_program(voices: Sequence[VoiceEntry], device: str = "cpu") -> TtsProgram:
    """Describe the Piper program with its voices, running on ``device``."""
    return TtsProgram(
        name="piper",
        description=f"Chatterbox text-to-speech (Piper) on {device.upper()}",
        attribution=ATTRIBUTION,
        installed=True,
        version=__version__,
        voices=[tts_voice(entry) for entry in voices],
        supports_synthesize_streaming=True,
    )


def build_info(
    *,
    stt_model: str | None,
    stt_languages: Sequence[str] = (),
    ends_speech: bool = False,
    voices: Sequence[VoiceEntry] | None = None,
    stt_device: str = "cpu",
    tts_device: str = "cpu",
) -> Info:
    """Build Info with only the modes that are on (``None`` for a mode that is off)."""
    return Info(
        asr=[asr_program(stt_model, stt_languages, ends_speech, stt_device)]
        if stt_model is not None
        else [],
        tts=[tts_program(voices, tts_device)] if voices is not None else [],
    )


class InfoAnswer:
    """The Info event every Describe gets, encoded once and again only when the voices change."""

    def __init__(self, info: Info) -> None:
        self._info = info
        self.event: Event = info.event()

    def show_voices(self, voices: Sequence[VoiceEntry]) -> None:
        """List ``voices`` in the text-to-speech program (if it is on) and encode Info again."""
        listed = [tts_voice(entry) for entry in voices]
        programs = [dataclasses.replace(program, voices=listed) for program in self._info.tts]
        self._info = dataclasses.replace(self._info, tts=programs)
        self.event = self._info.event()
