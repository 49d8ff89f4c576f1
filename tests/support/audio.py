"""Test audio: a speech-like signal Silero VAD accepts as speech, silence, and format changes."""

from __future__ import annotations

import numpy as np

RATE = 16000
# First three formants (Hz) of a few vowels; one per "syllable".
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240))


def speech_like(seconds: float = 3.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Return float32 mono audio that sounds (to a VAD) like voiced syllables.

    A gliding ~120 Hz voice with harmonics shaped by vowel formants, in 0.22 s syllables.
    The tiny test Whisper model decodes any speech to "turn on the kitchen light".
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t) + 4 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    syllable = int(0.22 * rate)
    vowel = (np.arange(n) // syllable) % len(_VOWELS)
    formants = np.array(_VOWELS, dtype=np.float64)[vowel]  # (n, 3)
    out = np.zeros(n)
    for k in range(1, 30):
        gain = sum(
            (1.0 / (j + 1)) / (1 + ((k * f0 - formants[:, j]) / 100.0) ** 2) for j in range(3)
        )
        out += gain * np.sin(k * phase)
    out *= np.sin(np.pi * (np.arange(n) % syllable) / syllable) ** 0.5
    out += 0.005 * rng.standard_normal(n)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def to_pcm16(audio: np.ndarray) -> bytes:
    """Float audio in [-1, 1] (any shape, interleaved by row) to 16-bit little-endian PCM."""
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def from_pcm16(pcm: bytes) -> np.ndarray:
    """16-bit little-endian PCM to float32 audio in [-1, 1), as the server hears it."""
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768


def resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Linear resampling (good enough to make a 44.1 kHz test input)."""
    n = int(len(audio) * new_rate / rate)
    return np.interp(np.arange(n) / new_rate, np.arange(len(audio)) / rate, audio).astype(
        np.float32
    )


def stereo(audio: np.ndarray) -> np.ndarray:
    """Duplicate mono audio into two interleaved channels (shape (n, 2))."""
    return np.stack([audio, audio], axis=1)


def silence_pcm16(seconds: float, rate: int = RATE, channels: int = 1) -> bytes:
    """Digital silence as 16-bit PCM."""
    return bytes(int(seconds * rate) * 2 * channels)
