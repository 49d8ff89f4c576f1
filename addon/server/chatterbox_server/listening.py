"""One connection's speech-to-text: Transcribe, audio in, Transcript out."""

from __future__ import annotations

import logging
import time

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart

from .connection import Connection
from .limits import ClientError
from .speculation import Speculation
from .stt import SttEngine, SttRequest
from .utterance import Utterance, check_format

_LOGGER = logging.getLogger(__name__)


class Listening:
    """The utterance a client is sending: its request, its audio and its early transcription."""

    def __init__(self, stt: SttEngine, connection: Connection) -> None:
        self.stt = stt
        self.connection = connection
        self._transcribe: Transcribe | None = None
        self._utterance: Utterance | None = None
        self._speculation: Speculation | None = None

    def transcribe(self, request: Transcribe) -> None:
        """Take the options of the next utterance."""
        if self._utterance is not None:
            raise ClientError("out-of-order", "transcribe while audio is being received")
        self._transcribe = request

    def audio_start(self, start: AudioStart) -> None:
        """Begin an utterance in the format ``start`` names."""
        if self._utterance is not None:
            raise ClientError("out-of-order", "audio-start while audio is being received")
        check_format(start)
        self._utterance = Utterance()
        self._speculation = self._speculate(self._utterance)

    def audio_chunk(self, chunk: AudioChunk) -> None:
        """Add audio (converted to 16 kHz mono) and let speculation look at it."""
        utterance = self._utterance
        if utterance is None:
            raise ClientError("out-of-order", "audio-chunk before audio-start")
        was_full = utterance.full
        utterance.add(chunk)
        if utterance.full and not was_full:
            _LOGGER.warning(
                "%s: utterance reached %g s; transcribing that, dropping the rest",
                self.connection.client,
                utterance.max_samples / 16000,
            )
        if self._speculation is not None:
            self._speculation.audio_added()

    async def audio_stop(self) -> None:
        """Transcribe the utterance (or answer with the early result) and send the Transcript."""
        if self._utterance is None and self._transcribe is None:
            raise ClientError("out-of-order", "audio-stop before transcribe or audio-start")
        stopped = time.perf_counter()
        utterance, self._utterance = self._utterance or Utterance(), None
        request, self._transcribe = self._transcribe or Transcribe(), None
        speculation, self._speculation = self._speculation, None
        try:
            if speculation is not None:  # its request: the same Transcribe, checked already
                wanted = speculation.request
                result, outcome = await speculation.finish()
            else:
                wanted = self._request(request)
                result = await self.stt.transcribe_speech(utterance.audio(), wanted)
                outcome = "none" if self._speculating else "off"
        finally:
            if speculation is not None:
                await speculation.close()
        await self.connection.write_event(
            Transcript(text=result.text, language=result.language).event()
        )
        names, terms = wanted.names, wanted.terms
        _LOGGER.info(
            "%s: stt %.2f s audio (%.2f s speech%s), %.0f ms, RTF %.3f, %d chars%s, "
            "speculation %s, transcript %.0f ms after audio-stop",
            self.connection.client,
            result.audio_seconds,
            result.speech_seconds,
            f", {utterance.dropped_seconds:.2f} s over the cap dropped"
            if utterance.dropped_seconds
            else "",
            result.processing_ms,
            result.rtf,
            len(result.text),
            f", names/terms {len(names or [])}/{len(terms or [])}" if names or terms else "",
            outcome,
            (time.perf_counter() - stopped) * 1000,
        )
        _LOGGER.debug("%s: transcript %r", self.connection.client, result.text)

    async def close(self) -> None:
        """Drop an early transcription still pending when the client goes away."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            await speculation.close()

    @property
    def _speculating(self) -> bool:
        return self.stt.options.speculation and self.stt.options.vad_filter

    def _request(self, request: Transcribe) -> SttRequest:
        names, terms = request.transcript_names, request.transcript_terms
        for value in (names, terms):
            if value is not None and not isinstance(value, list):
                raise ClientError("bad-event", "transcript_names/terms must be lists of strings")
        language = request.language if isinstance(request.language, str) else None
        return self.stt.request(language, names, terms)

    def _speculate(self, utterance: Utterance) -> Speculation | None:
        """Watch the utterance for the end of speech, unless that is off (see speculation)."""
        if not self._speculating:
            return None
        try:
            request = self._request(self._transcribe or Transcribe())
        except ClientError:
            return None  # refused at audio-stop
        return Speculation(self.stt, utterance, request)
