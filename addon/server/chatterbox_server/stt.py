"""Speech to text: one shared faster-whisper model, transcriptions on worker threads.

Every transcription is one pipeline: find speech with faster-whisper's Silero VAD
(``get_speech_timestamps``), and give Whisper the audio from the first speech's padded start to
the last speech's padded end, pauses inside kept, with ``vad_filter=False``. Silence before and
after goes (no text hallucinated from it); the command stays whole: cutting the pauses out and
joining the pieces, as ``transcribe(vad_filter=True)`` does at faster-whisper's 2 s split, clipped
words at a short split and cost accuracy (see ``heard``). Doing it in two steps lets a
transcription started early (see ``speculation``) prove it heard exactly the audio a
transcription at AudioStop would hear: the same span of the same samples.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

from .languages import base_language
from .workers import worker_pool

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # what Whisper hears
NO_SPEECH_THRESHOLD = 0.6  # with log_prob_threshold: a segment Whisper thinks is silence
VAD_WORKERS = 2  # threads for speech detection, apart from the transcription workers
TOKENS_PER_SECOND = 8  # more text than this per second of speech is Whisper looping
MIN_NEW_TOKENS = 16
MAX_NEW_TOKENS = 224  # Whisper's 448 positions less the longest prompt (names, see hotwords)
TEMPERATURE = 0.0  # one deterministic decode, no sampled fallbacks (see _transcribe)
FRAMES_PER_SECOND = 100  # Whisper's log-mel frames
FULL_WINDOW_SECONDS = 30  # what Whisper was trained on; faster-whisper always pads to it
UNSURE_LOG_PROB = -0.7  # a decode's mean token log probability below this: not sure
# --compute-type auto: the first of these that CTranslate2 supports on the device. int8 is the
# fastest on a CPU at Whisper's accuracy; float16 on a GPU (int8_float16 loses a little).
AUTO_COMPUTE_TYPES = {"cpu": ("int8",), "cuda": ("float16", "int8_float16")}


def pick_compute_type(requested: str, device: str) -> str:
    """Resolve ``auto`` for ``device`` (see :data:`AUTO_COMPUTE_TYPES`); others pass as given.

    Where none of the preferred types is supported, CTranslate2's own ``auto`` decides.
    """
    if requested != "auto":
        return requested
    ctranslate2 = importlib.import_module("ctranslate2")  # ships no type information
    supported: set[str] = set(ctranslate2.get_supported_compute_types(device))
    return next((kind for kind in AUTO_COMPUTE_TYPES.get(device, ()) if kind in supported), "auto")


def max_new_tokens(seconds: float) -> int:
    """Bound what Whisper may write for ``seconds`` of speech.

    A spoken command takes at most about 5 tokens a second; a decode that runs on repeats
    itself, and each temperature fallback may do so again, for many times the audio's length.
    The bound keeps the worst case near the audio's length.
    """
    return min(MAX_NEW_TOKENS, MIN_NEW_TOKENS + int(TOKENS_PER_SECOND * seconds))


Speech = tuple[tuple[int, int], ...]
"""Where the VAD found speech: (start, end) sample offsets, padded, in order."""


def heard(speech: Speech) -> tuple[int, int]:
    """Return the span Whisper hears for ``speech``: first padded start to last padded end.

    Pauses inside stay: Whisper hears the command as it was said. (Joining the speech segments
    without their pauses, with a 300 ms split, cut into words: on real base and tiny.en models
    a command's first or last word was often lost.)
    """
    return speech[0][0], speech[-1][1]


@dataclass(frozen=True)
class SttOptions:
    """Transcription settings from the command line."""

    language: str | None = None  # None: detect
    beam_size: int = 5
    fallback_beam_size: int = 5  # an unsure decode is decoded again with this beam (see redecode)
    initial_prompt: str | None = None
    vad_filter: bool = True
    vad_min_silence_ms: int = 200  # a pause this long ends a speech segment (and speculates)
    vad_speech_pad_ms: int = 200  # audio kept on each side of speech
    window_seconds: int = FULL_WINDOW_SECONDS  # the encoder's window if speech fits (window_for)
    speculation: bool = True  # transcribe while audio streams (needs vad_filter)
    end_of_speech: bool = True  # end utterances before AudioStop (needs speculation)

    @property
    def ends_speech(self) -> bool:
        """True when the server finds the end of speech itself (see ``endpointing``)."""
        return self.end_of_speech and self.speculation and self.vad_filter

    @property
    def vad_options(self) -> VadOptions:
        """faster-whisper's VAD options for these settings (its defaults otherwise)."""
        return VadOptions(
            min_silence_duration_ms=self.vad_min_silence_ms, speech_pad_ms=self.vad_speech_pad_ms
        )


@dataclass(frozen=True)
class SttRequest:
    """What one utterance asks for, fixed before its audio starts."""

    language: str | None  # a language the model has, or None to detect
    names: tuple[str, ...] | None = None
    terms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SttResult:
    """One transcription and what it cost."""

    text: str
    language: str | None
    audio_seconds: float
    speech_seconds: float
    processing_ms: float
    log_prob: float = 0.0  # Whisper's mean token log probability, the least sure decode's
    # (0: nothing decoded)

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time over audio time."""
        return self.processing_ms / 1000 / self.audio_seconds if self.audio_seconds else 0.0


SHORT_WINDOW_SECONDS = 15


def window_for(model_dir: Path) -> int:
    """Return the encoder window for a model: 15 s, but Whisper's 30 s for tiny ones.

    Tiny is known by its path (``faster-whisper-tiny.en`` from the hub, ``tiny-int8``, ...);
    ``--whisper-window`` says it for a model in a folder of another name. On the corpus the
    smallest model loses the most accuracy from a shorter window, base hardly any (see the
    README's Performance section).
    """
    path = model_dir.resolve()
    name = path.parent.parent.name if path.parent.name == "snapshots" else path.name
    return FULL_WINDOW_SECONDS if "tiny" in name.lower() else SHORT_WINDOW_SECONDS


class WindowedWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper is untyped
    """faster-whisper's model, encoding a shorter window than Whisper's 30 s when speech fits.

    faster-whisper pads every window's features to 30 s with zeros, and the encoder's cost grows
    with its input: on real base (int8, 2 threads) it is most of a command's transcription. When
    nothing but that padding lies past ``window_frames``, the encoder gets only the first
    ``window_frames``, and the decoder attends to fewer frames too. A shorter window is faster,
    and a much shorter one costs accuracy (at 5 s Whisper loops); the README's Performance
    section has the figures.
    """

    window_frames = FULL_WINDOW_SECONDS * FRAMES_PER_SECOND

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._reuse = threading.local()

    @contextmanager
    def reusing_encodings(self, abandon: threading.Event | None = None) -> Iterator[None]:
        """Within this block this thread encodes the same features once (decoding again).

        Once ``abandon`` is set, the next encoding ends the work with :class:`Abandoned`.
        """
        self._reuse.encoded = {}
        self._reuse.abandon = abandon
        try:
            yield
        finally:
            del self._reuse.encoded, self._reuse.abandon

    def encode(self, features: np.ndarray) -> object:  # a ctranslate2.StorageView
        """Encode ``features``, cut to ``window_frames`` when only padding lies beyond."""
        frames = self.window_frames
        if features.shape[-1] > frames and not np.any(features[..., frames:]):
            features = np.ascontiguousarray(features[..., :frames])
        encoded: dict[bytes, object] | None = getattr(self._reuse, "encoded", None)
        if encoded is None:
            return super().encode(features)
        _check(self._reuse.abandon)
        key = hashlib.blake2b(features.tobytes(), digest_size=16).digest() + bytes(
            str(features.shape), "ascii"
        )
        if key not in encoded:
            encoded[key] = super().encode(features)
        _check(self._reuse.abandon)  # the encoder is most of the work; the decoder the rest
        return encoded[key]


class Abandoned(Exception):  # not an error: the caller no longer wants it
    """A transcription stopped because its result is no longer wanted (see ``submit``)."""


def _check(abandon: threading.Event | None) -> None:
    if abandon is not None and abandon.is_set():
        raise Abandoned


class SttEngine:
    """Own the ``WhisperModel`` and the threads it runs on; ``transcribe`` from any task."""

    def __init__(
        self,
        model_dir: Path,
        *,
        options: SttOptions,
        device: str = "cpu",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        workers: int = 1,
    ) -> None:
        started = time.perf_counter()
        compute_type = pick_compute_type(compute_type, device)
        self.options = options
        self.workers = workers
        self.model = WindowedWhisper(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=workers,
            local_files_only=True,
        )
        self.model.window_frames = min(options.window_seconds, FULL_WINDOW_SECONDS) * (
            FRAMES_PER_SECOND
        )
        self.languages: list[str] = list(self.model.supported_languages)
        self._executor = worker_pool(workers, "stt")
        self._vad_executor = worker_pool(VAD_WORKERS, "vad")
        get_vad_model()  # load Silero now, not in the first request
        # Whisper conditions on at most max_length // 2 - 1 prompt tokens.
        self.prompt_budget = self.model.max_length // 2 - 1
        self._base_prompt_tokens = (
            self.count_tokens(options.initial_prompt) if options.initial_prompt else 0
        )
        _LOGGER.info(
            "Loaded speech-to-text model %s (%s, %s) in %.0f ms, %d worker(s)",
            model_dir,
            device,
            compute_type,
            (time.perf_counter() - started) * 1000,
            workers,
        )

    def count_tokens(self, text: str) -> int:
        """Return how many Whisper tokens ``text`` takes (with its leading space)."""
        return len(self.model.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False))

    def hotwords(
        self, names: Sequence[object] | None, terms: Sequence[object] | None
    ) -> str | None:
        """Join names, then terms, each once, as far as Whisper's prompt budget allows.

        Items come from clients: anything but a string is skipped.
        """
        budget = self.prompt_budget - self._base_prompt_tokens
        chosen: list[str] = []
        seen: set[str] = set()
        used = 0
        for item in [*(names or ()), *(terms or ())]:
            if not isinstance(item, str):
                continue
            word = " ".join(item.split())
            if not word or word.lower() in seen:
                continue
            cost = self.count_tokens(word) + (1 if chosen else 0)  # ", " is one token
            if used + cost > budget:
                _LOGGER.debug("Prompt budget of %d tokens reached at %r", budget, word)
                break
            chosen.append(word)
            seen.add(word.lower())
            used += cost
        return ", ".join(chosen) or None

    def pick_language(self, requested: str | None) -> str | None:
        """Return the request's language if the model has it, else the configured one."""
        if requested:
            code = base_language(requested)
            if code in self.languages:
                return code
            _LOGGER.warning("Language %r not supported by the model; using the default", requested)
        return self.options.language

    def request(
        self,
        language: str | None = None,
        names: Sequence[str] | None = None,
        terms: Sequence[str] | None = None,
    ) -> SttRequest:
        """Return the request for a client's language, names and terms."""
        return SttRequest(
            self.pick_language(language),
            tuple(names) if names is not None else None,
            tuple(terms) if terms is not None else None,
        )

    async def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        names: Sequence[str] | None = None,
        terms: Sequence[str] | None = None,
    ) -> SttResult:
        """Transcribe 16 kHz mono float32 audio on a worker thread (speech found there too)."""
        return await self.transcribe_speech(audio, self.request(language, names, terms))

    async def transcribe_speech(
        self, audio: np.ndarray, request: SttRequest, speech: Speech | None = None
    ) -> SttResult:
        """Transcribe ``audio`` on a worker thread, with ``speech`` from ``find_speech``.

        Without ``speech`` the worker finds it itself; with ``--no-vad-filter`` Whisper hears
        all of ``audio``.
        """
        return await asyncio.wrap_future(self.submit(audio, request, speech))

    def submit(
        self,
        audio: np.ndarray,
        request: SttRequest,
        speech: Speech | None = None,
        abandon: threading.Event | None = None,
    ) -> Future[SttResult]:
        """Queue a transcription on the workers; cancel the future to drop it unstarted.

        Once running it cannot be cancelled; setting ``abandon`` stops it at its next
        checkpoint (before and after each encoding) with :class:`Abandoned`, so a result no
        one waits for holds the worker no longer than it must.
        """
        return self._executor.submit(self._transcribe, audio, request, speech, abandon)

    async def find_speech(self, audio: np.ndarray) -> Speech:
        """Run ``speech_in`` on a VAD thread (never on the event loop)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._vad_executor, self.speech_in, audio)

    def speech_in(self, audio: np.ndarray) -> Speech:
        """Where Silero VAD finds speech in 16 kHz float32 audio (blocking)."""
        if not len(audio):
            return ()
        found = get_speech_timestamps(audio, self.options.vad_options, SAMPLE_RATE)
        return tuple((int(part["start"]), int(part["end"])) for part in found)

    def _transcribe(
        self,
        audio: np.ndarray,
        request: SttRequest,
        speech: Speech | None,
        abandon: threading.Event | None = None,
    ) -> SttResult:
        started = time.perf_counter()
        seconds = len(audio) / SAMPLE_RATE
        if not len(audio):
            return SttResult("", request.language, 0.0, 0.0, 0.0)
        if self.options.vad_filter:
            if speech is None:
                speech = self.speech_in(audio)
            if not speech:  # no speech at all: decode nothing (no "Thank you.")
                elapsed = (time.perf_counter() - started) * 1000
                return SttResult("", request.language, seconds, 0.0, elapsed)
            start, end = heard(speech)
            audio = audio[start:end]
        hotwords = self.hotwords(request.names, request.terms)
        with self.model.reusing_encodings(abandon):
            first = result = self._decode(audio, request, hotwords, self.options.beam_size)
            again = (
                self._decode(audio, request, hotwords, self.options.fallback_beam_size)
                if self.redecode(first, hotwords)
                else None
            )
        if again is not None:
            _LOGGER.debug(
                "Unsure decode %r (%.2f); beam %d: %r (%.2f)",
                first.text,
                first.log_prob,
                self.options.fallback_beam_size,
                again.text,
                again.log_prob,
            )
            if again.log_prob > first.log_prob:
                result = again
        return SttResult(
            text=result.text,
            language=result.language,
            audio_seconds=seconds,
            speech_seconds=len(audio) / SAMPLE_RATE,
            processing_ms=(time.perf_counter() - started) * 1000,
            log_prob=min(first.log_prob, result.log_prob),  # unsure once: unsure (endpointing)
        )

    def redecode(self, result: SttResult, hotwords: str | None) -> bool:
        """Tell whether ``result``, decoded with ``hotwords``, is decoded again.

        Whisper's own fallback re-samples a poor decode at rising temperatures; ours is
        deterministic (see ``TEMPERATURE``): a wider beam for a decode Whisper was unsure of,
        keeping the surer of the two, when the request brought names or terms (``hotwords``
        from ``hotwords``). ``fallback_beam_size`` is the second decode's beam. On the corpus,
        with the home's names a few commands are decoded again and that gets most of a wider
        beam's accuracy for little more than beam 1's cost. Without names the wider beam wrote
        longer fluent guesses ("Say it's not alarm for say it's morning for morning.") and the
        error rate rose; so no names, no second decode.
        """
        return (
            bool(result.text)
            and result.log_prob < UNSURE_LOG_PROB
            and self.options.fallback_beam_size > self.options.beam_size
            and hotwords is not None
        )

    def _decode(
        self, audio: np.ndarray, request: SttRequest, hotwords: str | None, beam_size: int
    ) -> SttResult:
        """One Whisper decode of ``audio`` (already cut to the speech): text, log probability."""
        segments, info = self.model.transcribe(
            audio,
            language=request.language,
            beam_size=beam_size,
            initial_prompt=self.options.initial_prompt,
            hotwords=hotwords,
            vad_filter=False,  # done above
            max_new_tokens=max_new_tokens(len(audio) / SAMPLE_RATE),
            # faster-whisper's default falls back to sampling at rising temperatures when a
            # decode looks poor. CTranslate2 seeds its sampler once per thread, so the same
            # audio could come back as different text (a speculation then differed from the
            # transcription at AudioStop), and on the corpus the fallbacks won nothing.
            temperature=TEMPERATURE,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        kept = [
            segment
            for segment in segments
            # faster-whisper already skips silent windows; this also drops a segment that
            # is almost surely not speech even when its log probability looks confident.
            if not (segment.no_speech_prob > 0.9 and segment.avg_logprob < -0.5)
        ]
        text = " ".join(t for t in (segment.text.strip() for segment in kept) if t)
        log_prob = min((segment.avg_logprob for segment in kept), default=0.0)
        return SttResult(text, info.language, 0.0, 0.0, 0.0, log_prob)

    def close(self) -> None:
        """Stop the worker threads (waits for running transcriptions)."""
        self._vad_executor.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=True, cancel_futures=True)
