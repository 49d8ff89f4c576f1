"""Checks that synthesized audio is well-formed speech-like sound, and WAV decoding."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pcm:
    """Raw 16-bit PCM and its format."""

    audio: bytes
    rate: int
    width: int
    channels: int

    @property
    def seconds(self) -> float:
        """Duration."""
        return len(self.audio) / (self.rate * self.width * self.channels)


def decode_wav(data: bytes) -> Pcm:
    """Decode a WAV file, including a streamed one whose header says 0 (or too many) frames.

    ``wave`` reads the header and stops at the start of the ``data`` chunk; everything after
    that is the audio.
    """
    with io.BytesIO(data) as file, wave.open(file, "rb") as wav:
        assert wav.getcomptype() == "NONE", wav.getcomptype()
        offset = file.tell()
        pcm = Pcm(data[offset:], wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
    assert len(pcm.audio) % (pcm.width * pcm.channels) == 0, "partial frame at the end"
    return pcm


def assert_speech_audio(pcm: Pcm, *, min_seconds: float, max_seconds: float) -> None:
    """Fail unless ``pcm`` is 16-bit audio of a plausible length that is not silence or noise.

    Plausible means: whole frames, duration in range, audible (RMS above -40 dBFS) and not
    clipped flat (under 1 % of samples at full scale).
    """
    assert pcm.width == 2, f"expected 16-bit samples, got {pcm.width * 8}-bit"
    assert pcm.channels in (1, 2)
    assert 8000 <= pcm.rate <= 48000, pcm.rate
    assert len(pcm.audio) % (pcm.width * pcm.channels) == 0, "partial frame"
    assert min_seconds <= pcm.seconds <= max_seconds, (
        f"{pcm.seconds:.2f} s of audio, expected {min_seconds}-{max_seconds} s"
    )
    samples = np.frombuffer(pcm.audio, dtype="<i2").astype(np.float64) / 32768
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.01, f"audio is (nearly) silent: RMS {rms:.4f}"
    clipped = float(np.mean(np.abs(samples) > 0.999))
    assert clipped < 0.01, f"{clipped:.1%} of samples clipped"
