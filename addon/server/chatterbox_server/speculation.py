"""Speculative transcription: start transcribing once speech has ended, before AudioStop.

While audio streams in, :class:`Speculation` runs faster-whisper's Silero VAD on the audio so
far every ``CHECK_SECONDS`` (on a VAD thread, one check in flight per connection, none while
its speculative transcription runs, one as soon as that ends). Once the last
speech segment is closed (a pause of ``--vad-min-silence-ms`` followed it, so its padded end lies
inside the buffer) and the speech found differs from what is being transcribed already, it
queues a transcription of exactly that speech on the STT workers (one per connection; a newer
one replaces a queued older one, a running one finishes first and is then superseded).

At AudioStop the VAD runs on the whole utterance. The same span of speech (``stt.heard``: first
start to last end) means Whisper would get the same samples (the buffer only grows), so the
early result is the answer: a *hit*. Anything else (speech resumed, the span moved) is a
*miss*: the early result is dropped and the whole utterance transcribed now, exactly as
without speculation. So speculation changes when a
transcript is ready, never what it says.

With end of speech on (:mod:`.endpointing`), every check and every finished job is also put
to an :class:`~.endpointing.EndOfSpeech`; when it judges the utterance ended, ``on_end`` is
called and :attr:`Speculation.answer` holds the transcript (already made, for the speech the
last check found). Once speech has paused, the next check comes exactly when the least silence
that could end the utterance has arrived.

Speculative transcriptions share the ``--stt-workers`` threads with everyone's final ones: under
load a speculative job can delay another connection's request by one transcription (a miss
wastes that work). ``--no-speculation`` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .endpointing import EndOfSpeech, Reason
from .stt import SAMPLE_RATE, Speech, SttEngine, SttRequest, SttResult, heard
from .utterance import Utterance

_LOGGER = logging.getLogger(__name__)

CHECK_SECONDS = 0.064  # new audio between two VAD checks (two Silero windows)
CHECK_BUDGET = 0.25  # at most this share of the audio's duration spent on VAD checks

Outcome = Literal["hit", "miss", "none", "off"]
"""hit: the early result answered; miss: dropped; none: no early start; off: not speculating."""


@dataclass
class _Job:
    """One speculative transcription: the speech it was given and its pending result."""

    samples: int  # length of the audio it saw
    speech: Speech
    future: Future[SttResult]
    abandon: threading.Event

    def drop(self) -> None:
        """Drop it: unstarted, it never runs; running, it stops at its next checkpoint."""
        self.future.cancel()
        self.abandon.set()


class Speculation:
    """Watch one utterance as it streams in and transcribe it as soon as speech has ended."""

    def __init__(
        self,
        engine: SttEngine,
        utterance: Utterance,
        request: SttRequest,
        end: EndOfSpeech | None = None,
        on_end: Callable[[Reason], None] | None = None,
    ) -> None:
        self.engine = engine
        self.utterance = utterance
        self.request = request
        self.end = end
        self.on_end = on_end
        self.started_jobs = 0
        self.decoded = 0  # speculative transcriptions that ran (not dropped unstarted)
        self.ended: Reason | None = None
        self.answer: SttResult | None = None  # the transcript when end of speech was judged
        self._next_check = int(CHECK_SECONDS * SAMPLE_RATE)
        self._checking = True  # False once checks stop for good
        self._check: asyncio.Task[None] | None = None
        self._job: _Job | None = None
        # the last check: audio length, speech found, where the silence after it began
        self._checked: tuple[int, Speech, int | None] | None = None
        self._loop = asyncio.get_running_loop()

    def audio_added(self) -> None:
        """Start a VAD check if enough new audio arrived and none is running."""
        self._judge()
        if self.utterance.samples >= self._next_check:
            self._start_check()

    def _start_check(self) -> None:
        """Check the audio so far, unless a check or this utterance's transcription runs.

        While the speculative transcription runs no check is started: it cannot be stopped,
        so a check could change nothing, and on a small machine the VAD's thread would slow
        Whisper's. The job's end checks next.
        """
        if self._check is not None and not self._check.done():
            return
        if self._job is not None and self._job.future.running():
            return
        if not self._checking:
            return
        self._check = asyncio.create_task(self._run_check(self.utterance.audio()), name="vad")

    async def _run_check(self, audio: np.ndarray) -> None:
        started = time.perf_counter()
        try:
            speech = await self.engine.find_speech(audio)
        except Exception:
            _LOGGER.exception("Speech detection failed; no speculation for this utterance")
            self._checking = False
            return
        cost = time.perf_counter() - started
        # Check again after CHECK_SECONDS of audio, or later if checks get costly (long audio).
        gap = max(CHECK_SECONDS, cost / CHECK_BUDGET)
        self._next_check = len(audio) + int(gap * SAMPLE_RATE)
        silent_from = None
        if self.end is not None:
            # (numpy over the audio's 10 ms frames, in a pause only: cheap)
            silent_from = self.end.find_silence(audio, speech)
            if (soonest := self.end.earliest_end(silent_from)) is not None:
                # check again exactly when enough silence may have passed, not up to a gap later
                self._next_check = min(self._next_check, max(soonest, len(audio) + 1))
        self._checked = (len(audio), speech, silent_from)
        self._speculate(audio, speech)
        self._judge()

    def _speculate(self, audio: np.ndarray, speech: Speech) -> None:
        if not speech or speech[-1][1] >= len(audio):
            return  # nothing said yet, or still speaking (the last segment reaches the end)
        job = self._job
        if job is not None and heard(job.speech) == heard(speech):
            return  # more silence only: already transcribing this
        if job is not None and not job.future.done() and not job.future.cancel():
            return  # one running job per connection; the next check tries again
        abandon = threading.Event()
        future = self.engine.submit(audio, self.request, speech, abandon)
        self._job = _Job(len(audio), speech, future, abandon)
        future.add_done_callback(self._job_done)
        self.started_jobs += 1
        _LOGGER.debug(
            "Speculating on %.2f s of audio (speech ends at %.2f s)",
            len(audio) / SAMPLE_RATE,
            speech[-1][1] / SAMPLE_RATE,
        )

    def _job_done(self, future: Future[SttResult]) -> None:
        """On a worker thread: on the event loop, judge and check the audio since."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to judge
            self._loop.call_soon_threadsafe(self._after_job, not future.cancelled())

    def _after_job(self, ran: bool) -> None:
        """Judge with the transcript now ready, then check the audio since (if not ended)."""
        self.decoded += ran
        self._judge()
        self._start_check()  # (an ended utterance has stopped checking)

    def _judge(self) -> None:
        """Ask the end-of-speech rules whether the utterance is over; tell ``on_end`` once."""
        if self.end is None or self.ended is not None or self._checked is None:
            return
        checked, speech, silent_from = self._checked
        result = self._result_for(speech)
        reason = self.end.judge(
            self.utterance.samples,
            checked,
            speech,
            silent_from,
            None if result is None else result.text,
            0.0 if result is None else result.log_prob,
        )
        if reason is None:
            return
        self.ended = reason
        if speech and result is not None:
            self.answer = result
        elif not speech:
            self.answer = SttResult("", self.request.language, checked / SAMPLE_RATE, 0.0, 0.0)
        self._checking = False
        if self.on_end is not None:
            self.on_end(reason)

    def _result_for(self, speech: Speech) -> SttResult | None:
        """Return the finished speculative transcript of ``speech``'s span, if there is one."""
        job = self._job
        if not speech or job is None or heard(job.speech) != heard(speech):
            return None
        future = job.future
        if not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    async def finish(self) -> tuple[SttResult, Outcome]:
        """Answer at AudioStop: the early result if the speech is the same, else transcribe now."""
        await self._stop_checking()
        job, self._job = self._job, None
        audio = self.utterance.audio()
        if job is not None and job.samples == len(audio):
            speech = job.speech  # not one sample more: the same audio has the same speech
        else:
            speech = await self.engine.find_speech(audio)
        same = job is not None and speech and heard(job.speech) == heard(speech)
        if job is not None and same and not job.future.cancelled():
            try:
                return await asyncio.wrap_future(job.future), "hit"
            except Exception:  # the same work again below surfaces the error if it is real
                _LOGGER.exception("Speculative transcription failed; transcribing again")
        if job is not None:
            job.drop()  # stale: the final transcription need not wait for all of it
        result = await self.engine.transcribe_speech(audio, self.request, speech)
        return result, "none" if job is None else "miss"

    async def close(self) -> None:
        """Forget the utterance: stop checking and drop a pending speculative job."""
        await self._stop_checking()
        job, self._job = self._job, None
        if job is not None:
            job.drop()

    async def _stop_checking(self) -> None:
        check, self._check = self._check, None
        self._checking = False
        if check is not None and not check.done():
            check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check
