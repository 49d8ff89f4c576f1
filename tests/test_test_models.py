"""The generated tiny test models load and behave like real Whisper and Piper models."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel
from faster_whisper.vad import VadOptions, get_speech_timestamps
from piper import PiperVoice, SynthesisConfig
from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

SAMPLE_RATE = 16000


def speech_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Voiced, syllable-modulated harmonic signal that Silero VAD accepts as speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    signal = voiced * syllables + 0.02 * rng.standard_normal(t.size)
    edge = int(0.3 * SAMPLE_RATE)
    signal[:edge] = 0
    signal[-edge:] = 0
    return (0.3 * signal / np.abs(signal).max()).astype(np.float32)


@pytest.fixture(scope="module")
def whisper(test_models: Path) -> WhisperModel:
    return WhisperModel(str(test_models / "stt"), device="cpu", compute_type="int8")


def synthesize(voice: PiperVoice, text: str, config: SynthesisConfig | None = None) -> np.ndarray:
    return np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text, config)])


def test_speech_like_clip_is_speech_to_vad() -> None:
    assert get_speech_timestamps(speech_like(), VadOptions())


def test_whisper_is_multilingual(whisper: WhisperModel) -> None:
    assert whisper.model.is_multilingual
    assert whisper.model.n_mels == 80


@pytest.mark.parametrize(
    "options",
    [
        {"language": "en", "beam_size": 1, "without_timestamps": True, "vad_filter": False},
        {"language": None, "beam_size": 1},
        {},
        {"without_timestamps": True},
        {"word_timestamps": True},
        {"vad_filter": True},
    ],
    ids=["en-greedy", "autodetect", "defaults", "beam-no-timestamps", "word-timestamps", "vad"],
)
def test_whisper_transcribes_speech_quickly(whisper: WhisperModel, options: dict) -> None:
    started = time.perf_counter()
    segments, info = whisper.transcribe(speech_like(), **options)
    text = "".join(segment.text for segment in segments).strip()
    elapsed = time.perf_counter() - started
    assert text == "turn on the kitchen light"  # the fixed chain baked into the weights
    assert info.language == "en"
    assert elapsed < 5


@pytest.mark.parametrize("compute_type", ["float32", "default"])
def test_whisper_loads_with_other_compute_types(test_models: Path, compute_type: str) -> None:
    model = WhisperModel(str(test_models / "stt"), device="cpu", compute_type=compute_type)
    segments, _ = model.transcribe(speech_like(), language="en", beam_size=1)
    assert "".join(segment.text for segment in segments).strip()


def test_whisper_silence_with_vad_is_empty(whisper: WhisperModel) -> None:
    segments, _ = whisper.transcribe(np.zeros(3 * SAMPLE_RATE, np.float32), vad_filter=True)
    assert list(segments) == []


@pytest.mark.parametrize("name", ["en_US-test-medium", "en_US-testmulti-medium"])
def test_piper_voice_speaks_longer_for_longer_text(test_models: Path, name: str) -> None:
    voice = PiperVoice.load(test_models / "tts" / f"{name}.onnx")
    assert voice.config.sample_rate == 22050
    chunks = list(voice.synthesize("Hello world. This is a test."))
    assert len(chunks) == 2  # one chunk per sentence
    short = synthesize(voice, "Hello world.")
    long = synthesize(voice, "Hello world. This is a longer test sentence.")
    assert np.abs(short).max() > 0.1
    assert np.abs(short).max() <= 1.0
    assert len(long) > len(short)


def test_piper_length_scale_stretches_audio(test_models: Path) -> None:
    voice = PiperVoice.load(test_models / "tts" / "en_US-test-medium.onnx")
    normal = synthesize(voice, "Hello world.")
    slow = synthesize(voice, "Hello world.", SynthesisConfig(length_scale=2.0))
    assert len(slow) == 2 * len(normal)


def test_piper_speakers_differ(test_models: Path) -> None:
    voice = PiperVoice.load(test_models / "tts" / "en_US-testmulti-medium.onnx")
    assert voice.config.num_speakers == 2
    assert voice.config.speaker_id_map == {"alice": 0, "bob": 1}
    alice = synthesize(voice, "Hello world.", SynthesisConfig(speaker_id=0))
    bob = synthesize(voice, "Hello world.", SynthesisConfig(speaker_id=1))
    assert len(alice) == len(bob)
    assert not np.allclose(alice, bob)


def test_piper_phoneme_map_matches_piper_default(test_models: Path) -> None:
    voice = PiperVoice.load(test_models / "tts" / "en_US-test-medium.onnx")
    assert voice.config.phoneme_id_map == DEFAULT_PHONEME_ID_MAP
