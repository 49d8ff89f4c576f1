"""One connection's speech-to-text: Transcribe, audio in, Transcript out.

With end of speech on (``--end-of-speech``, see :mod:`.endpointing`) the Transcript may come
before AudioStop. After it, for that utterance: more audio is read and dropped, AudioStop is
answered with nothing (a client that reads only after AudioStop finds the one Transcript
waiting), and a new Transcribe or AudioStart begins the next utterance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart

from .connection import Connection
from .endpointing import EndOfSpeech, Reason, sensitivity_silences
from .limits import ClientError
from .speculation import Outcome, Speculation
from .stt import SAMPLE_RATE, SttEngine, SttRequest, SttResult
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
        self._ended: asyncio.Task[None] | None = None  # the utterance answered before AudioStop

    def transcribe(self, request: Transcribe) -> None:
        """Take the options of the next utterance."""
        self._after_early_end()
        if self._utterance is not None:
            raise ClientError("out-of-order", "transcribe while audio is being received")
        self._transcribe = request

    def audio_start(self, start: AudioStart) -> None:
        """Begin an utterance in the format ``start`` names."""
        self._after_early_end()
        if self._utterance is not None:
            raise ClientError("out-of-order", "audio-start while audio is being received")
        check_format(start)
        self._utterance = Utterance()
        self._speculation = self._speculate(self._utterance)

    def audio_chunk(self, chunk: AudioChunk) -> None:
        """Add audio (converted to 16 kHz mono) and let speculation look at it."""
        if self._ended is not None:  # answered already: the rest of this utterance goes
            return
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
        """Transcribe the utterance (or answer with the early result) and send the Transcript.

        After a Transcript sent at the end of speech there is nothing more to send.
        """
        if self._ended is not None:
            ended, self._ended = self._ended, None
            await ended
            return
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
        decodes = None if speculation is None else speculation.decoded
        await self._send(result, wanted, utterance, outcome, stopped, "audio-stop", decodes)

    async def _send(
        self,
        result: SttResult,
        wanted: SttRequest,
        utterance: Utterance,
        outcome: Outcome,
        since: float,
        what: str,
        decodes: int | None,
    ) -> None:
        await self.connection.write_event(
            Transcript(text=result.text, language=result.language).event()
        )
        names, terms = wanted.names, wanted.terms
        _LOGGER.info(
            "%s: stt %.2f s audio (%.2f s speech%s), %.0f ms, RTF %.3f, %d chars%s, "
            "speculation %s%s, transcript %.0f ms after %s",
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
            "" if decodes is None else f", speculative decodes {decodes}",
            (time.perf_counter() - since) * 1000,
            what,
        )
        _LOGGER.debug(
            "%s: transcript %r (log prob %.2f)",
            self.connection.client,
            result.text,
            result.log_prob,
        )

    def _end_early(self, reason: Reason) -> None:
        """End of speech judged (called by the speculation): send the Transcript now."""
        speculation, self._speculation = self._speculation, None
        utterance, self._utterance = self._utterance, None
        self._transcribe = None
        if speculation is None or utterance is None:
            return
        self._ended = asyncio.create_task(
            self._answer_early(speculation, utterance, reason), name="end-of-speech"
        )

    async def _answer_early(
        self, speculation: Speculation, utterance: Utterance, reason: Reason
    ) -> None:
        judged = time.perf_counter()
        outcome: Outcome
        try:
            try:
                if speculation.answer is not None:
                    result, outcome = speculation.answer, "hit"
                else:
                    result, outcome = await speculation.finish()
            finally:
                await speculation.close()
            await self._send(
                result,
                speculation.request,
                utterance,
                outcome,
                judged,
                f"end of speech ({reason})",
                speculation.decoded,
            )
        except ConnectionError:
            pass  # the client went away: nobody to answer
        except Exception:
            _LOGGER.exception(
                "%s: transcribing at the end of speech failed", self.connection.client
            )
            await self.connection.error("internal", "transcription failed")
            self.connection.close()

    def _after_early_end(self) -> None:
        """Forget an utterance answered early (a new request came instead of AudioStop)."""
        if self._ended is not None and self._ended.done():
            self._ended = None
        elif self._ended is not None:
            raise ClientError("out-of-order", "a new utterance while the last is being answered")

    async def close(self) -> None:
        """Drop an early transcription still pending when the client goes away."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            await speculation.close()
        ended, self._ended = self._ended, None
        if ended is not None and not ended.done():
            ended.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ended

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
        transcribe = self._transcribe or Transcribe()
        try:
            request = self._request(transcribe)
        except ClientError:
            return None  # refused at audio-stop
        if not self.stt.options.ends_speech:
            return Speculation(self.stt, utterance, request)
        end = EndOfSpeech(
            sensitivity_silences(transcribe.vad_sensitivity),
            request.language,
            self.stt.options.vad_speech_pad_ms * SAMPLE_RATE // 1000,
        )
        return Speculation(self.stt, utterance, request, end, self._end_early)
