"""The ``Info`` answer to ``Describe``: what this server can transcribe and speak."""

from __future__ import annotations

from collections.abc import Sequence

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


def asr_program(model_name: str, languages: Sequence[str], ends_speech: bool = False) -> AsrProgram:
    """Describe the faster-whisper program with its one model.

    ``ends_speech``: the server finds the end of speech itself (``--end-of-speech``), so Home
    Assistant runs no VAD of its own and may get the Transcript before it stops the audio.
    """
    return AsrProgram(
        name="faster-whisper",
        description="Chatterbox speech-to-text (faster-whisper)",
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


def tts_program(voices: Sequence[VoiceEntry]) -> TtsProgram:
    """Describe the Piper program with its voices."""
    return TtsProgram(
        name="piper",
        description="Chatterbox text-to-speech (Piper)",
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
) -> Info:
    """Build Info with only the modes that are on (``None`` for a mode that is off)."""
    return Info(
        asr=[asr_program(stt_model, stt_languages, ends_speech)] if stt_model is not None else [],
        tts=[tts_program(voices)] if voices is not None else [],
    )
