"""Spoken Assist commands (WAV) with their transcripts, made by scripts/make-corpus."""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Clip:
    """One corpus entry: 16 kHz mono 16-bit PCM and what was said."""

    id: str
    path: Path
    text: str
    trailing_silence: float
    snr_db: float | None = None  # pink noise mixed in at this SNR (None: clean)
    names: tuple[str, ...] = ()  # the home's names the command mentions (transcript_names)
    pause: float | None = None  # seconds of silence inside the command (None: said at once)

    def pcm(self) -> bytes:
        """The clip's raw PCM frames."""
        with wave.open(str(self.path), "rb") as wav:
            return wav.readframes(wav.getnframes())


def _all_clips() -> list[Clip]:
    entries = json.loads((CORPUS_DIR / "transcripts.json").read_text())
    return [
        Clip(
            key,
            CORPUS_DIR / f"{key}.wav",
            value["text"],
            float(value["trailing_silence"]),
            value.get("snr_db"),
            tuple(value.get("names", ())),
            value.get("pause"),
        )
        for key, value in sorted(entries.items())
    ]


def clips() -> list[Clip]:
    """Every command said at once (the corpus), in a stable order."""
    return [clip for clip in _all_clips() if clip.pause is None]


def paused_clips() -> list[Clip]:
    """The commands with a pause inside ("turn on the ... hallway lights"), in a stable order."""
    return [clip for clip in _all_clips() if clip.pause is not None]
