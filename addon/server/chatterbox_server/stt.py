"""Speech to text: one shared faster-whisper model, transcriptions on worker threads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # what Whisper hears
NO_SPEECH_THRESHOLD = 0.6  # with log_prob_threshold: a segment Whisper thinks is silence


@dataclass(frozen=True)
class SttOptions:
    """Transcription settings from the command line."""

    language: str | None = None  # None: detect
    beam_size: int = 5
    initial_prompt: str | None = None
    vad_filter: bool = True


@dataclass(frozen=True)
class SttResult:
    """One transcription and what it cost."""

    text: str
    language: str | None
    audio_seconds: float
    speech_seconds: float
    processing_ms: float

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time over audio time."""
        return self.processing_ms / 1000 / self.audio_seconds if self.audio_seconds else 0.0


class SttEngine:
    """Own the ``WhisperModel`` and the threads it runs on; ``transcribe`` from any task."""

    def __init__(
        self,
        model_dir: Path,
        *,
        options: SttOptions,
        device: str = "cpu",
        compute_type: str = "default",
        cpu_threads: int = 0,
        workers: int = 2,
    ) -> None:
        started = time.perf_counter()
        self.options = options
        self.workers = workers
        self.model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=workers,
            local_files_only=True,
        )
        self.languages: list[str] = list(self.model.supported_languages)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="stt")
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
            code = requested.replace("_", "-").split("-")[0].lower()
            if code in self.languages:
                return code
            _LOGGER.warning("Language %r not supported by the model; using the default", requested)
        return self.options.language

    async def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        names: Sequence[str] | None = None,
        terms: Sequence[str] | None = None,
    ) -> SttResult:
        """Transcribe 16 kHz mono float32 audio on a worker thread."""
        loop = asyncio.get_running_loop()
        lang = self.pick_language(language)
        return await loop.run_in_executor(
            self._executor, self._transcribe, audio, lang, names, terms
        )

    def _transcribe(
        self,
        audio: np.ndarray,
        language: str | None,
        names: Sequence[str] | None,
        terms: Sequence[str] | None,
    ) -> SttResult:
        started = time.perf_counter()
        hotwords = self.hotwords(names, terms)
        seconds = len(audio) / SAMPLE_RATE
        if not len(audio):
            return SttResult("", language, 0.0, 0.0, 0.0)
        segments, info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self.options.beam_size,
            initial_prompt=self.options.initial_prompt,
            hotwords=hotwords,
            vad_filter=self.options.vad_filter,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        if self.options.vad_filter and info.duration_after_vad <= 0:
            texts: list[str] = []  # no speech at all: decode nothing (no "Thank you.")
        else:
            texts = [
                segment.text
                for segment in segments
                # faster-whisper already skips silent windows; this also drops a segment that
                # is almost surely not speech even when its log probability looks confident.
                if not (segment.no_speech_prob > 0.9 and segment.avg_logprob < -0.5)
            ]
        text = " ".join(t.strip() for t in texts if t.strip())
        return SttResult(
            text=text,
            language=info.language,
            audio_seconds=seconds,
            speech_seconds=info.duration_after_vad,
            processing_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        """Stop the worker threads (waits for running transcriptions)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
