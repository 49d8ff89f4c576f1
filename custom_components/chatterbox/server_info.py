"""What a Chatterbox server offers, read from its Wyoming Info."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from homeassistant.components.stt.models import DEFAULT_AUDIO_PROCESSING, SpeechAudioProcessing
from wyoming.info import AsrProgram, Info, TtsProgram, TtsVoice

from .const import ATTRIBUTION_NAME, SPEAKER_SEPARATOR


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    """A voice, optionally with one of its speakers, as offered in the options."""

    voice: str
    speaker: str | None = None

    @property
    def key(self) -> str:
        """Value stored in the ``default_voices`` option."""
        if self.speaker is None:
            return self.voice
        return f"{self.voice}{SPEAKER_SEPARATOR}{self.speaker}"

    @classmethod
    def from_key(cls, key: str) -> VoiceChoice:
        """Parse a stored ``default_voices`` value."""
        voice, _, speaker = key.partition(SPEAKER_SEPARATOR)
        return cls(voice, speaker or None)


def _is_chatterbox(program: AsrProgram | TtsProgram) -> bool:
    return program.installed and program.attribution.name == ATTRIBUTION_NAME


@dataclass(frozen=True)
class ServerInfo:
    """The Chatterbox programs in a server's Info."""

    info: Info

    @cached_property
    def asr(self) -> AsrProgram | None:
        """The speech-to-text program, if the server runs one."""
        return next((p for p in self.info.asr if _is_chatterbox(p)), None)

    @cached_property
    def tts(self) -> TtsProgram | None:
        """The text-to-speech program, if the server runs one."""
        return next((p for p in self.info.tts if _is_chatterbox(p)), None)

    @property
    def is_chatterbox(self) -> bool:
        """True when the server offers Chatterbox speech-to-text or text-to-speech."""
        return self.asr is not None or self.tts is not None

    @property
    def name(self) -> str:
        """Name of the server's software."""
        program = self.asr or self.tts
        return program.attribution.name if program is not None else ATTRIBUTION_NAME

    @property
    def version(self) -> str | None:
        """Version the server reports for its programs."""
        program = self.asr or self.tts
        return program.version if program is not None else None

    @cached_property
    def stt_languages(self) -> list[str]:
        """Languages of the installed speech-to-text models, in the server's order."""
        if self.asr is None:
            return []
        languages: dict[str, None] = {}
        for model in self.asr.models:
            if model.installed:
                languages.update(dict.fromkeys(model.languages))
        return list(languages)

    @cached_property
    def audio_processing(self) -> SpeechAudioProcessing:
        """The audio processing the speech-to-text program asks of Home Assistant."""
        if self.asr is None:
            return DEFAULT_AUDIO_PROCESSING
        return SpeechAudioProcessing(
            requires_external_vad=self.asr.requires_external_vad,
            prefers_auto_gain_enabled=self.asr.prefers_auto_gain_enabled,
            prefers_noise_reduction_enabled=self.asr.prefers_noise_reduction_enabled,
        )

    @cached_property
    def voices(self) -> list[TtsVoice]:
        """Installed voices, in the server's order (its default voice first)."""
        if self.tts is None:
            return []
        return [voice for voice in self.tts.voices if voice.installed]

    @cached_property
    def tts_languages(self) -> list[str]:
        """Languages of the installed voices, in the server's order."""
        languages: dict[str, None] = {}
        for voice in self.voices:
            languages.update(dict.fromkeys(voice.languages))
        return list(languages)

    @property
    def supports_streaming(self) -> bool:
        """True when the server synthesizes text that arrives in pieces."""
        return self.tts is not None and self.tts.supports_synthesize_streaming

    def voices_for(self, language: str) -> list[TtsVoice]:
        """Installed voices that speak ``language``."""
        return [voice for voice in self.voices if language in voice.languages]

    def voice(self, name: str) -> TtsVoice | None:
        """Return the installed voice called ``name``."""
        return next((voice for voice in self.voices if voice.name == name), None)

    def voice_choices(self) -> list[VoiceChoice]:
        """Every voice, and every voice with each of its speakers."""
        choices: list[VoiceChoice] = []
        for voice in self.voices:
            choices.append(VoiceChoice(voice.name))
            choices.extend(VoiceChoice(voice.name, s.name) for s in voice.speakers or [])
        return choices
