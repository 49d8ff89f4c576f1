"""One utterance being received: checked, converted to 16 kHz mono float32, capped, in memory.

Each chunk is converted once, as it arrives (wyoming's ``AudioChunkConverter`` to 16 kHz mono
16-bit, then to float32), into a buffer that doubles when full (up to the cap). ``audio()`` hands
out what is converted already, without copying, so a VAD check every few chunks costs the same
late in a long utterance as early in a short one.
"""

from __future__ import annotations

import numpy as np
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioFormat

from .limits import MAX_UTTERANCE_SECONDS, ClientError, audio_format_error
from .stt import SAMPLE_RATE

INITIAL_SAMPLES = SAMPLE_RATE  # the first buffer's size (one second); doubled when full


def check_format(fmt: AudioFormat) -> None:
    """Raise ``ClientError`` for a zero or absurd audio format."""
    if problem := audio_format_error(fmt):
        raise ClientError("bad-audio-format", problem)


class Utterance:
    """Collect ``AudioChunk`` audio as 16 kHz mono float32 samples, up to a cap."""

    def __init__(self, max_seconds: float = MAX_UTTERANCE_SECONDS) -> None:
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.samples = 0
        self.received_seconds = 0.0
        self.dropped_seconds = 0.0
        self._buffer = np.zeros(0, dtype=np.float32)  # the kept audio is its first `samples`
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
        self._append(samples)

    def _append(self, samples: np.ndarray) -> None:
        """Write int16 ``samples`` after the kept audio as float32, growing the buffer if full."""
        end = self.samples + len(samples)
        if end > len(self._buffer):  # a new buffer: arrays handed out keep the old one as is
            size = min(self.max_samples, max(end, 2 * len(self._buffer), INITIAL_SAMPLES))
            grown = np.empty(size, dtype=np.float32)
            grown[: self.samples] = self._buffer[: self.samples]
            self._buffer = grown
        part = self._buffer[self.samples : end]
        part[:] = samples  # exact: every int16 is a float32
        part /= 32768.0
        self.samples = end

    def audio(self) -> np.ndarray:
        """Return the kept audio as float32 in [-1, 1], as faster-whisper expects.

        A read-only view of the buffer, not a copy, and it never changes: later ``add`` calls
        write only past its end or into a new buffer, so VAD and Whisper threads may read it
        while more audio arrives.
        """
        audio = self._buffer[: self.samples]
        audio.flags.writeable = False
        return audio
