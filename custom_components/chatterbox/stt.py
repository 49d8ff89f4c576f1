"""Speech-to-text through a Chatterbox server."""

from __future__ import annotations

from collections.abc import AsyncIterable

from homeassistant.components import stt
from homeassistant.components.stt.models import SpeechAudioProcessing
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import CannotConnect, ChatterboxError
from .const import CONF_STT_LANGUAGE, LOGGER
from .coordinator import ChatterboxConfigEntry
from .entity import ChatterboxEntity
from .satellite import vad_sensitivity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChatterboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the speech-to-text entity of the server."""
    async_add_entities([ChatterboxSpeechToText(entry)])


class ChatterboxSpeechToText(ChatterboxEntity, stt.SpeechToTextEntity):
    """Transcribes 16 kHz mono 16-bit PCM with the server's Whisper model."""

    def __init__(self, entry: ChatterboxConfigEntry) -> None:
        """Create the speech-to-text entity of the server of ``entry``."""
        super().__init__(entry, "stt")

    @property
    def supported_languages(self) -> list[str]:
        """Languages of the server's speech-to-text model."""
        return self.coordinator.data.stt_languages

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        """WAV only."""
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """PCM only."""
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """16-bit samples."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """16 kHz."""
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Mono."""
        return [stt.AudioChannels.CHANNEL_MONO]

    @property
    def audio_processing(self) -> SpeechAudioProcessing:
        """The audio processing the server asks for in its Info (VAD, gain, noise)."""
        return self.coordinator.data.audio_processing

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Stream the audio to the server; any failure is an error result, never a hang.

        The satellite's finished-speaking sensitivity goes with it: the server ends the command
        after no less silence than Home Assistant's own VAD would wait for.
        """
        language = self.entry.options.get(CONF_STT_LANGUAGE) or metadata.language
        names = self.entry.runtime_data.names
        try:
            text = await self.client.transcribe(
                stream,
                language,
                names.async_get() if names is not None else None,
                vad_sensitivity(self.hass, self),
            )
        except ChatterboxError as err:
            LOGGER.warning("Speech-to-text on %s failed: %s", self.entity_id, err)
            if isinstance(err, CannotConnect):
                await self.coordinator.async_request_refresh()
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        return stt.SpeechResult(text, stt.SpeechResultState.SUCCESS)
