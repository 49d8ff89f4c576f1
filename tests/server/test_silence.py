"""Where the silence after the last word began (``chatterbox_server.silence``).

The speech segments are given as Silero would report them (padded by ``PAD``), so each case
pins one rule: the sound's end, not Silero's late one; a word Silero has not heard yet; noise.
"""

from __future__ import annotations

import numpy as np

from chatterbox_server.silence import SILERO_LAG_SECONDS, silence_start
from chatterbox_server.stt import SAMPLE_RATE as RATE
from tests.support.audio import speech_like

PAD = 3200  # 0.2 s, the server's default --vad-speech-pad-ms
FRAME = RATE // 100


def _at(seconds: float) -> int:
    return round(seconds * RATE)


def _command(silence: float) -> np.ndarray:
    """0.3 s quiet, 1.0 s of speech, then ``silence`` s quiet."""
    return np.concatenate(
        [
            np.zeros(_at(0.3), np.float32),
            speech_like(1.0, seed=1),
            np.zeros(_at(silence), np.float32),
        ]
    )


def _silero_ends_at(seconds: float) -> tuple[tuple[int, int], ...]:
    return ((_at(0.3) - PAD, _at(seconds) + PAD),)


def test_counts_from_the_last_sound_not_from_silero_s_late_end() -> None:
    audio = _command(0.6)
    start = silence_start(audio, _silero_ends_at(1.34), PAD)  # Silero 0.04 s late
    assert _at(1.3) - FRAME <= start <= _at(1.3)


def test_moves_silero_s_end_back_by_at_most_its_lag() -> None:
    audio = _command(0.8)
    start = silence_start(audio, _silero_ends_at(1.6), PAD)
    assert start == _at(1.6) - round(SILERO_LAG_SECONDS * RATE)


def test_a_word_silero_has_not_heard_yet_restarts_the_silence() -> None:
    """0.5 s of silence, then a word starting softly (-30 dB) that Silero has not reported."""
    onset = 0.15 * speech_like(0.1, seed=2) * np.float32(0.2)
    audio = np.concatenate([_command(0.5), onset])
    assert silence_start(audio, _silero_ends_at(1.3), PAD) == len(audio)


def test_old_sound_silero_never_took_for_speech_is_noise() -> None:
    """A click 0.4 s before now, after Silero's end, does not restart the silence."""
    audio = _command(0.7)
    click = _at(1.6)
    audio[click : click + FRAME] = 0.3
    start = silence_start(audio, _silero_ends_at(1.3), PAD)
    assert start <= _at(1.3)
    audio[len(audio) - 2 * FRAME : len(audio) - FRAME] = 0.3  # a click 10 ms ago: may be a word
    assert silence_start(audio, _silero_ends_at(1.3), PAD) == len(audio) - FRAME


def test_in_noise_silero_s_end_stands() -> None:
    """Speech 10 dB over noise: a soft ending drowns, so loudness moves nothing back."""
    audio = _command(0.6)
    noise = np.random.default_rng(3).standard_normal(len(audio)).astype(np.float32)
    audio += noise * np.float32(np.sqrt(np.mean(np.square(speech_like(1.0, seed=1)))) / 3.2)
    assert silence_start(audio, _silero_ends_at(1.36), PAD) == _at(1.36)
