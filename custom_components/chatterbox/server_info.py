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


def language_tag(code: str) -> str:
    """Return a voice's language as the BCP-47 tag Home Assistant expects (``en_US``: ``en-US``).

    Piper (and so Wyoming) spells a voice's language ``en_US``; Home Assistant's frontend
    names a language from its BCP-47 tag and shows any other spelling as the raw code.
    """
    return code.replace("_", "-")


def same_language(code: str, other: str) -> bool:
    """Return True when two spellings name one language (``en_US``, ``en-US``, ``en-us``)."""
    return language_tag(code).casefold() == language_tag(other).casefold()


class LanguageTags(list[str]):
    """BCP-47 tags (``en-US``) that also count their Piper spelling (``en_US``) as present.

    Home Assistant checks a call's language with ``in``: a pipeline, automation or satellite
    that saved the spelling this integration reported before keeps working.
    """

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and any(same_language(item, tag) for tag in self)


def _is_chatterbox(program: AsrProgram | TtsProgram) -> bool:
    return program.installed and program.attribution.name == ATTRIBUTION_NAME


def _first[P: (AsrProgram, TtsProgram)](programs: list[P]) -> P | None:
    """Return the Chatterbox program if there is one, else the first installed one."""
    installed = [program for program in programs if program.installed]
    return next((p for p in installed if _is_chatterbox(p)), installed[0] if installed else None)


def speaks(voice: TtsVoice, language: str) -> bool:
    """Return True when ``voice`` speaks ``language`` (spelled ``en_US`` or ``en-US``)."""
    return any(same_language(code, language) for code in voice.languages)


@dataclass(frozen=True)
class ServerInfo:
    """What a server offers, read from its Info; or what a list of servers offers together.

    A Chatterbox entry's own server is a Chatterbox server; its fallbacks may be any Wyoming
    server, so every installed program counts: languages and voices are those of all of them,
    Chatterbox's programs (else the first) name the server and its version.
    """

    info: Info

    @classmethod
    def combined(cls, infos: list[ServerInfo]) -> ServerInfo:
        """Return what ``infos`` (of servers in the order they are tried) offer together."""
        return cls(
            Info(
                asr=[program for item in infos for program in item.info.asr],
                tts=[program for item in infos for program in item.info.tts],
            )
        )

    @cached_property
    def asr(self) -> AsrProgram | None:
        """The speech-to-text program (Chatterbox's, else the first installed)."""
        return _first(self.info.asr)

    @cached_property
    def tts(self) -> TtsProgram | None:
        """The text-to-speech program (Chatterbox's, else the first installed)."""
        return _first(self.info.tts)

    @property
    def is_chatterbox(self) -> bool:
        """True when the server offers Chatterbox speech-to-text or text-to-speech."""
        programs: list[AsrProgram | TtsProgram] = [*self.info.asr, *self.info.tts]
        return any(_is_chatterbox(program) for program in programs)

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
        languages: dict[str, None] = {}
        for program in self.info.asr:
            for model in program.models if program.installed else []:
                if model.installed:
                    languages.update(dict.fromkeys(model.languages))
        return list(languages)

    @cached_property
    def audio_processing(self) -> SpeechAudioProcessing:
        """The audio processing the speech-to-text program asks of Home Assistant.

        Home Assistant's VAD is asked for when any program needs it: a fallback that cannot
        find the end of speech itself may be the one that answers.
        """
        if self.asr is None:
            return DEFAULT_AUDIO_PROCESSING
        return SpeechAudioProcessing(
            requires_external_vad=any(
                program.requires_external_vad for program in self.info.asr if program.installed
            ),
            prefers_auto_gain_enabled=self.asr.prefers_auto_gain_enabled,
            prefers_noise_reduction_enabled=self.asr.prefers_noise_reduction_enabled,
        )

    @cached_property
    def voices(self) -> list[TtsVoice]:
        """Installed voices, in the server's order (its default voice first), once by name."""
        voices: dict[str, TtsVoice] = {}
        for program in self.info.tts:
            for voice in program.voices if program.installed else []:
                if voice.installed:
                    voices.setdefault(voice.name, voice)
        return list(voices.values())

    @cached_property
    def tts_languages(self) -> LanguageTags:
        """Languages of the installed voices as BCP-47 tags (``en-US``), in the server's order."""
        languages: dict[str, None] = {}
        for voice in self.voices:
            languages.update(dict.fromkeys(language_tag(code) for code in voice.languages))
        return LanguageTags(languages)

    @property
    def supports_streaming(self) -> bool:
        """True when a text-to-speech program synthesizes text that arrives in pieces."""
        return any(
            program.installed and program.supports_synthesize_streaming for program in self.info.tts
        )

    def voices_for(self, language: str) -> list[TtsVoice]:
        """Installed voices that speak ``language`` (spelled ``en_US`` or ``en-US``)."""
        return [voice for voice in self.voices if speaks(voice, language)]

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
