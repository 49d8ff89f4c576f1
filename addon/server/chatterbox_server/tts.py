"""Text to speech: Piper voices loaded on demand into an LRU cache, synthesis on worker threads.

A voice whose graph can be cut (``vits``) is spoken chunk by chunk: a sentence's first audio
leaves after about a quarter of a second of it is made. Its samples are scaled by one gain per
voice (the probe sentence's peak at load), so that every sentence is equally loud and a chunk
never waits for the sentence's end. A voice that cannot be cut is spoken as Piper speaks it: one
piece per sentence, each scaled to its own peak.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime
from piper import AudioChunk, PiperConfig, PiperVoice, SynthesisConfig

from . import vits
from .models import VoiceFiles
from .workers import worker_pool

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")  # (not PEP 695's def f[T]: the server runs on Python 3.11)

# espeak-ng (Piper's phonemizer) keeps global state: one phonemization at a time, process-wide.
# Only that short step is serialized; the ONNX inference of different requests runs in parallel.
_ESPEAK_LOCK = threading.Lock()
# Checks a voice's chunks at load and sets its gain; any language's voice can say it.
PROBE = "The kitchen light is now on, and the heating is set to twenty one degrees."


class UnknownSpeakerError(ValueError):
    """The requested speaker is neither a name nor an id of the voice."""


@dataclass(frozen=True)
class TtsOptions:
    """Synthesis settings from the command line (None: the voice's own default)."""

    length_scale: float | None = None
    noise_scale: float | None = None
    noise_w_scale: float | None = None
    sentence_silence: float = 0.0


@dataclass
class LoadedVoice:
    """A Piper voice in memory."""

    name: str
    files: VoiceFiles
    piper: PiperVoice  # its session is the front stage when ``staged``
    staged: vits.StagedVoice | None = None
    sample_rate: int = field(init=False)
    speakers: dict[str, int] = field(init=False)
    language: str = field(init=False)  # espeak-ng's voice, e.g. "en-us"

    def __post_init__(self) -> None:
        self.sample_rate = int(self.piper.config.sample_rate)
        self.speakers = dict(self.piper.config.speaker_id_map or {})
        self.language = str(self.piper.config.espeak_voice or "")

    def speaker_id(self, speaker: str | int | None) -> int | None:
        """Return the id of ``speaker`` (a name or an id); None for the voice's default."""
        if speaker is None or speaker == "" or self.piper.config.num_speakers <= 1:
            return None
        if isinstance(speaker, str) and speaker in self.speakers:
            return self.speakers[speaker]
        try:
            speaker_id = int(speaker)
        except (TypeError, ValueError):
            speaker_id = -1
        if 0 <= speaker_id < self.piper.config.num_speakers:
            return speaker_id
        known = ", ".join(self.speakers) or f"0..{self.piper.config.num_speakers - 1}"
        raise UnknownSpeakerError(f"voice {self.name} has no speaker {speaker!r} (has {known})")


def _session_options() -> onnxruntime.SessionOptions:
    """Options whose threads sleep, rather than spin, between runs.

    By default onnxruntime's threads keep spinning for a while after each run, waiting for more
    work: CPU the event loop, the client and speech-to-text could use. Without the spinning a
    synthesis costs markedly less CPU time (the bench measures it).
    """
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _providers(use_cuda: bool) -> list[str | tuple[str, dict[str, str]]]:
    if use_cuda:
        return [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})]
    return ["CPUExecutionProvider"]


def _config(files: VoiceFiles) -> PiperConfig:
    return PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))


def _piper(session: onnxruntime.InferenceSession, files: VoiceFiles) -> PiperVoice:
    """Make a ``PiperVoice`` on ``session`` whose phonemization is serialized process-wide."""
    piper = PiperVoice(session=session, config=_config(files))
    piper.phonemize = _serialized(piper.phonemize)  # type: ignore[method-assign,assignment]
    return piper


def load_piper(files: VoiceFiles, use_cuda: bool = False) -> PiperVoice:
    """Load a Piper voice, whole, whose onnxruntime threads sleep between runs."""
    session = onnxruntime.InferenceSession(
        str(files.onnx), sess_options=_session_options(), providers=_providers(use_cuda)
    )
    return _piper(session, files)


def load_voice(
    files: VoiceFiles, cache_dir: Path, use_cuda: bool = False
) -> tuple[PiperVoice, vits.StagedVoice | None]:
    """Load a voice in stages (cut into ``cache_dir``) if it can be, else whole."""
    try:
        staged = vits.load(files.onnx, cache_dir, _session_options(), _providers(use_cuda))
        piper = _piper(staged.front.session, files)
        staged.check(model_inputs(piper, piper.phonemize(PROBE)[0], SynthesisConfig()))
    except vits.StagingError as err:
        _LOGGER.warning("Voice %s is spoken a sentence at a time: %s", files.name, err)
    else:
        return piper, staged
    return load_piper(files, use_cuda), None


def model_inputs(
    piper: PiperVoice, phonemes: list[str], config: SynthesisConfig
) -> dict[str, np.ndarray]:
    """Return the graph's inputs for a sentence, as ``PiperVoice.phoneme_ids_to_audio`` does."""
    voice = piper.config
    ids = np.array([piper.phonemes_to_ids(phonemes)], dtype=np.int64)
    scales = [
        voice.noise_scale if config.noise_scale is None else config.noise_scale,
        voice.length_scale if config.length_scale is None else config.length_scale,
        voice.noise_w_scale if config.noise_w_scale is None else config.noise_w_scale,
    ]
    inputs: dict[str, np.ndarray] = {
        "input": ids,
        "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
        "scales": np.array(scales, dtype=np.float32),
    }
    if voice.num_speakers > 1:
        speaker = voice.default_speaker_id if config.speaker_id is None else config.speaker_id
        inputs["sid"] = np.array([speaker], dtype=np.int64)
    return inputs


def _serialized(phonemize: Callable[[str], list[list[str]]]) -> Callable[[str], list[list[str]]]:
    @functools.wraps(phonemize)
    def locked(text: str) -> list[list[str]]:
        with _ESPEAK_LOCK:
            return phonemize(text)

    return locked


class TtsEngine:
    """Keep voices in memory (an LRU of ``max_voices``) and synthesize sentences on worker threads.

    Which voice a name means, and which voices exist, is :class:`~.voices.Voices`' to say: the
    engine gets a voice's files and loads them (on :meth:`run`'s workers).
    """

    def __init__(
        self,
        *,
        options: TtsOptions,
        stages_dir: Path,
        max_voices: int = 2,
        workers: int = 2,
        use_cuda: bool = False,
    ) -> None:
        self.options = options
        self.stages_dir = stages_dir  # voices cut into stages (see vits)
        self.max_voices = max(1, max_voices)
        self.use_cuda = use_cuda
        self._executor = worker_pool(workers, "tts")
        self._voices: OrderedDict[str, LoadedVoice] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # voices loaded from disk (for logs and tests)
        self.evictions = 0

    @property
    def loaded(self) -> list[str]:
        """Names of the voices in memory, least recently used first."""
        with self._lock:
            return list(self._voices)

    def run(self, work: Callable[[], _T]) -> asyncio.Future[_T]:
        """Run blocking ``work`` (a voice's lookup and load) on the workers; from the loop."""
        return asyncio.get_running_loop().run_in_executor(self._executor, work)

    def cached(self, name: str) -> LoadedVoice | None:
        """Return voice ``name`` if it is in memory, now the most recently used."""
        with self._lock:
            voice = self._voices.get(name)
            if voice is not None:
                self._voices.move_to_end(name)
            return voice

    def load(self, files: VoiceFiles) -> LoadedVoice:
        """Return the voice of ``files``, loading it if need be (blocking: on a worker thread).

        A load unloads the least recently used voice beyond ``max_voices``.
        """
        cached = self.cached(files.name)
        if cached is not None:
            return cached
        started = time.perf_counter()
        piper, staged = load_voice(files, self.stages_dir, self.use_cuda)
        voice = LoadedVoice(files.name, files, piper, staged)
        with self._lock:
            self._voices[files.name] = voice
            self._voices.move_to_end(files.name)
            self.loads += 1
            while len(self._voices) > self.max_voices:
                evicted, _ = self._voices.popitem(last=False)
                self.evictions += 1
                _LOGGER.info("Unloaded voice %s (--max-voices %d)", evicted, self.max_voices)
        _LOGGER.info(
            "Loaded voice %s from %s in %.0f ms (%s)",
            files.name,
            files.onnx,
            (time.perf_counter() - started) * 1000,
            "in chunks" if staged is not None else "whole",
        )
        return voice

    async def speak(
        self,
        voice: LoadedVoice,
        text: str,
        speaker_id: int | None,
        length_scale: float | None = None,
        *,
        sentence_end: bool = True,
        chunked: bool = True,
    ) -> AsyncIterator[bytes]:
        """Yield 16-bit mono PCM at ``voice.sample_rate`` for ``text`` as it is made.

        ``length_scale`` overrides ``--length-scale`` for this request. ``--sentence-silence``
        follows a sentence end, not a piece that ends mid-sentence (``sentence_end=False``).
        Each piece is made on a worker thread. ``chunked=False`` makes each sentence in one
        piece: for text spoken after audio is already playing, where sooner does not matter.
        """
        config = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=length_scale if length_scale is not None else self.options.length_scale,
            noise_scale=self.options.noise_scale,
            noise_w_scale=self.options.noise_w_scale,
        )
        pause = self.options.sentence_silence if sentence_end else 0.0
        pieces = self._pieces(voice, text, config, pause, vits.FIRST_FRAMES if chunked else None)
        loop = asyncio.get_running_loop()
        while (piece := await loop.run_in_executor(self._executor, next, pieces, None)) is not None:
            yield piece

    def _pieces(
        self,
        voice: LoadedVoice,
        text: str,
        config: SynthesisConfig,
        pause: float,
        first: int | None,
    ) -> Iterator[bytes]:
        """Make the audio on a worker thread; ``pause`` seconds of silence follow it.

        A staged voice's first chunk has ``first`` frames (None: each sentence whole).
        """
        spoken = False
        if voice.staged is None:
            for chunk in voice.piper.synthesize(text, config):
                spoken = True
                yield chunk.audio_int16_bytes
        else:
            gain = 1.0 / voice.staged.peak
            for phonemes in voice.piper.phonemize(text):
                if not phonemes:
                    continue
                inputs = model_inputs(voice.piper, phonemes, config)
                for audio in voice.staged.audio(inputs, first):
                    spoken = True
                    scaled = np.clip(audio * gain, -1.0, 1.0)
                    chunk = AudioChunk(voice.sample_rate, 2, 1, scaled, phonemes, [])
                    yield chunk.audio_int16_bytes
        if spoken and pause > 0:
            yield np.zeros(int(voice.sample_rate * pause), np.int16).tobytes()

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
