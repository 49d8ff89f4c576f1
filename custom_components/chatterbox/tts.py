"""Text-to-speech through a Chatterbox server."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import CannotConnect, ChatterboxError, VoiceRequest
from .const import (
    ATTR_LENGTH_SCALE,
    ATTR_SPEAKER,
    CONF_DEFAULT_VOICES,
    CONF_LENGTH_SCALE,
    DOMAIN,
)
from .coordinator import ChatterboxConfigEntry
from .entity import ChatterboxEntity
from .lib.chatterbox_wyoming import MAX_LENGTH_SCALE, MIN_LENGTH_SCALE
from .server_info import ServerInfo, VoiceChoice, speaks

PARALLEL_UPDATES = 0
FALLBACK_LANGUAGE = "en"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChatterboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the text-to-speech entity of the server."""
    async_add_entities([ChatterboxTextToSpeech(entry)])


def _voice_label(info: ServerInfo, choice: VoiceChoice) -> str:
    voice = info.voice(choice.voice)
    label = (voice.description if voice is not None else None) or choice.voice
    return label if choice.speaker is None else f"{label} ({choice.speaker})"


def _length_scale(value: Any) -> float:
    """Validate a length scale given in a call or the options."""
    try:
        scale = float(value)
    except (TypeError, ValueError):
        scale = math.nan
    if not MIN_LENGTH_SCALE <= scale <= MAX_LENGTH_SCALE:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_length_scale",
            translation_placeholders={
                "value": str(value),
                "min": str(MIN_LENGTH_SCALE),
                "max": str(MAX_LENGTH_SCALE),
            },
        )
    return scale


class ChatterboxTextToSpeech(ChatterboxEntity, tts.TextToSpeechEntity):
    """Speaks with the server's Piper voices, streaming text in and audio out."""

    def __init__(self, entry: ChatterboxConfigEntry) -> None:
        """Create the text-to-speech entity of the server of ``entry``."""
        super().__init__(entry, "tts")
        self._attr_supported_options = [tts.ATTR_VOICE, ATTR_SPEAKER, ATTR_LENGTH_SCALE]
        self._update_languages()

    @callback
    def _update_languages(self) -> None:
        languages = self.coordinator.data.tts_languages
        if languages != getattr(self, "_attr_supported_languages", None):
            self._attr_supported_languages = languages
            self._attr_default_language = languages[0] if languages else FALLBACK_LANGUAGE

    @callback
    def _handle_coordinator_update(self) -> None:
        self._update_languages()
        super()._handle_coordinator_update()

    @callback
    def async_get_supported_voices(self, language: str) -> list[tts.Voice] | None:
        """Voices for ``language``; a multi-speaker voice also once per speaker.

        ``language`` is a tag of ``supported_languages`` (``en-US``) or, saved in a pipeline
        before, the voice's own spelling (``en_US``).
        """
        info = self.coordinator.data
        voices = [
            tts.Voice(voice_id=choice.key, name=_voice_label(info, choice))
            for choice in info.voice_choices()
            if (voice := info.voice(choice.voice)) is not None and speaks(voice, language)
        ]
        return voices or None

    def _voice_request(self, language: str, options: dict[str, Any]) -> VoiceRequest:
        """Voice from the call, else the entry's default for the language, else the server's."""
        choice: VoiceChoice | None = None
        if voice_id := options.get(tts.ATTR_VOICE):
            choice = VoiceChoice.from_key(str(voice_id))
        else:
            info = self.coordinator.data
            for key in self.entry.options.get(CONF_DEFAULT_VOICES, []):
                candidate = VoiceChoice.from_key(key)
                if (voice := info.voice(candidate.voice)) and speaks(voice, language):
                    choice = candidate
                    break
            else:
                if voices := info.voices_for(language):
                    choice = VoiceChoice(voices[0].name)
        speaker = options.get(ATTR_SPEAKER) or (choice.speaker if choice else None)
        length_scale = options.get(ATTR_LENGTH_SCALE, self.entry.options.get(CONF_LENGTH_SCALE))
        return VoiceRequest(
            language=language,
            voice=choice.voice if choice else None,
            speaker=str(speaker) if speaker is not None else None,
            length_scale=_length_scale(length_scale) if length_scale is not None else None,
        )

    async def _failed(self, err: ChatterboxError) -> None:
        if isinstance(err, CannotConnect):
            await self.coordinator.async_request_refresh()

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> tts.TtsAudioType:
        """Synthesize the whole message in one request; returns WAV."""
        try:
            data = await self.client.synthesize(message, self._voice_request(language, options))
        except ChatterboxError as err:
            await self._failed(err)
            raise
        return "wav", data

    def async_supports_streaming_input(self) -> bool:
        """Return True when the server synthesizes text as it arrives."""
        return self.coordinator.data.supports_streaming

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> tts.TTSAudioResponse:
        """Send the text as it arrives and stream back WAV audio sentence by sentence."""
        voice = self._voice_request(request.language, request.options)
        audio = self.client.synthesize_stream(request.message_gen, voice)
        return tts.TTSAudioResponse("wav", self._guarded(audio))

    async def _guarded(self, audio: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
        try:
            async for chunk in audio:
                yield chunk
        except ChatterboxError as err:
            await self._failed(err)
            raise
        finally:
            await audio.aclose()
