"""Spoken Assist commands (WAV) with their transcripts, made by scripts/make-corpus.

The tests and the benchmark both read it (and score with :mod:`corpus.wer`); it imports
neither of them.
"""

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
    split: str = "dev"  # "dev" (tune on these) or "test" (held out)
    source: str = "espeak-ng"  # "espeak-ng" or "piper" (en_US-joe-medium)
    kind: str | None = None  # a pause's kind: "hesitation" or "afterthought"
    prefix: str | None = None  # the words before the pause
    sample: bool = False  # one of the fixed CI sample (clips() and paused_clips())

    def pcm(self) -> bytes:
        """Return the clip's raw PCM frames."""
        with wave.open(str(self.path), "rb") as wav:
            return wav.readframes(wav.getnframes())

    @property
    def speech_end(self) -> float:
        """Seconds into the clip where the last word ends (before the trailing silence)."""
        with wave.open(str(self.path), "rb") as wav:
            duration = wav.getnframes() / wav.getframerate()
        return duration - self.trailing_silence


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
            value.get("split", "dev"),
            value.get("source", "espeak-ng"),
            value.get("kind"),
            value.get("prefix"),
            bool(value.get("sample", False)),
        )
        for key, value in sorted(entries.items())
    ]


def clips() -> list[Clip]:
    """Return the CI sample's commands said at once, in a stable order."""
    return [clip for clip in _all_clips() if clip.sample and clip.pause is None]


def paused_clips() -> list[Clip]:
    """Return the CI sample's commands with a pause inside ("turn on the ... hallway lights")."""
    return [clip for clip in _all_clips() if clip.sample and clip.pause is not None]


def corpus(split: str | None = None, paused: bool | None = None) -> list[Clip]:
    """Every clip of the whole corpus, in a stable order (by id).

    split: only "dev" or only "test" clips (None: both); paused: only commands with a pause
    inside (True), only those said at once (False), or both (None).
    """
    return [
        clip
        for clip in _all_clips()
        if (split is None or clip.split == split)
        and (paused is None or (clip.pause is not None) == paused)
    ]
