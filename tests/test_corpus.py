"""The committed corpus is what the pipeline and round-trip suites assume."""

from __future__ import annotations

import wave

import numpy as np

from tests.corpus import CORPUS_DIR, clips


def test_every_wav_has_a_transcript() -> None:
    """WAVs and transcripts.json name the same clips; at least 15 of them."""
    names = {clip.id for clip in clips()}
    assert names == {path.stem for path in CORPUS_DIR.glob("*.wav")}
    assert len(names) >= 15


def test_format_and_length() -> None:
    """16 kHz mono 16-bit, 0.5 to 5 seconds, non-empty text."""
    for clip in clips():
        with wave.open(str(clip.path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            seconds = wav.getnframes() / wav.getframerate()
        assert 0.5 <= seconds <= 5.0, clip.id
        assert clip.text.strip(), clip.id


def test_trailing_silence_is_real() -> None:
    """Clips that claim trailing silence end quietly, as a satellite's stream does."""
    with_silence = [clip for clip in clips() if clip.trailing_silence >= 0.5]
    assert len(with_silence) >= 5
    for clip in with_silence:
        samples = np.frombuffer(clip.pcm(), dtype=np.int16).astype(np.float32)
        tail = samples[-int(0.4 * 16000) :]
        speech = samples[: -int(clip.trailing_silence * 16000)]
        assert np.abs(tail).max() < 0.01 * np.abs(speech).max(), clip.id
