"""One utterance being received: checked, converted to 16 kHz mono 16-bit, capped, in memory."""

from __future__ import annotations

import numpy as np
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioFormat

from .limits import MAX_UTTERANCE_SECONDS, ClientError, audio_format_error
from .stt import SAMPLE_RATE


def check_format(fmt: AudioFormat) -> None:
    """Raise ``ClientError`` for a zero or absurd audio format."""
    if problem := audio_format_error(fmt):
        raise ClientError("bad-audio-format", problem)


class Utterance:
    """Collect ``AudioChunk`` audio as 16 kHz mono int16 numpy arrays, up to a cap."""

    def __init__(self, max_seconds: float = MAX_UTTERANCE_SECONDS) -> None:
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.samples = 0
        self.received_seconds = 0.0
        self.dropped_seconds = 0.0
        self._parts: list[np.ndarray] = []
        self._format: tuple[int, int, int] | None = None
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)

    @property
    def full(self) -> bool:
        """True once the cap is reached."""
        return self.samples >= self.max_samples

    def add(self, chunk: AudioChunk) -> None:
        """Check, convert and keep the chunk's audio (what fits under the cap)."""
        check_format(chunk)
        frame = chunk.width * chunk.channels
        if len(chunk.audio) % frame:
            raise ClientError(
                "bad-audio",
                f"audio chunk of {len(chunk.audio)} bytes is not a whole number of "
                f"{frame}-byte frames",
            )
        seconds = len(chunk.audio) / frame / chunk.rate
        self.received_seconds += seconds
        if self.full:
            self.dropped_seconds += seconds
            return
        fmt = (chunk.rate, chunk.width, chunk.channels)
        if fmt != self._format:  # a new format starts a fresh resampler state
            self._format = fmt
            self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
        converted = self._converter.convert(chunk)
        samples = np.frombuffer(converted.audio, dtype=np.int16)
        room = self.max_samples - self.samples
        if len(samples) > room:
            self.dropped_seconds += (len(samples) - room) / SAMPLE_RATE
            samples = samples[:room]
        self._parts.append(samples)
        self.samples += len(samples)

    def audio(self) -> np.ndarray:
        """Return the kept audio as float32 in [-1, 1], as faster-whisper expects."""
        if not self._parts:
            return np.zeros(0, dtype=np.float32)
        audio: np.ndarray = np.concatenate(self._parts).astype(np.float32) / 32768.0
        return audio
