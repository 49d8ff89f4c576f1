"""Where the silence after a command's last word began, to the 10 ms, from how loud the audio is.

Silero VAD (:mod:`.stt`) tells speech from noise, but where it says speech ended comes after
the sound has ended, and a word that starts softly ("for", "thirty") reaches its threshold
after the sound began: a pause just under Home Assistant's 0.7 s can read as more than 0.7 s
(the README's benchmark section has the figures). :func:`silence_start` counts the silence from
the sound instead:

- a 10 ms frame is *sound* when it is within ``BELOW_PEAK_DB`` of the loudest frame of the
  last speech and ``ABOVE_FLOOR_DB`` above the noise floor (the quietest tenth of the frames);
- sound after Silero's end within the last ``ONSET_SECONDS`` may be a word Silero has not
  heard yet: the silence starts after it (older sound Silero never took for speech is noise);
- in clean audio (the peak's threshold above the floor's) the silence starts after the last
  sound before Silero's end, at most ``SILERO_LAG_SECONDS`` earlier than Silero's end;
- in noise, where a soft ending drowns, Silero's end stands.
"""

from __future__ import annotations

import numpy as np

from .stt import SAMPLE_RATE, Speech

FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms
BELOW_PEAK_DB = 40.0
ABOVE_FLOOR_DB = 10.0
FLOOR_PERCENTILE = 10
ONSET_SECONDS = 0.25
SILERO_LAG_SECONDS = 0.1


def levels(audio: np.ndarray) -> np.ndarray:
    """Loudness in dB (full scale) of each whole 10 ms frame of float audio."""
    frames = len(audio) // FRAME_SAMPLES
    power = np.square(audio[: frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES)).mean(axis=1)
    return np.asarray(10 * np.log10(power + 1e-10))


def silence_start(audio: np.ndarray, speech: Speech, pad_samples: int) -> int:
    """Return the sample where the silence after the last speech segment began.

    ``speech`` is Silero's finding in ``audio`` (padded by ``pad_samples``), its last segment
    closed.
    """
    heard_end = speech[-1][1] - pad_samples  # where Silero last heard speech
    db = levels(audio)
    first = min(max(speech[-1][0], 0) // FRAME_SAMPLES, len(db))
    if first >= len(db):
        return heard_end
    peak = float(db[first:].max())
    floor = float(np.percentile(db, FLOOR_PERCENTILE))
    threshold = max(peak - BELOW_PEAK_DB, floor + ABOVE_FLOOR_DB)
    sound_ends = (np.flatnonzero(db >= threshold) + 1) * FRAME_SAMPLES
    recent = sound_ends[sound_ends > max(heard_end, len(audio) - ONSET_SECONDS * SAMPLE_RATE)]
    if recent.size:
        return int(recent[-1])  # a word may be starting: wait from there
    if peak - BELOW_PEAK_DB < floor + ABOVE_FLOOR_DB:
        return heard_end  # noisy: Silero's end
    before = sound_ends[sound_ends - FRAME_SAMPLES < heard_end]  # frames begun before it
    last_sound = int(before[-1]) if before.size else 0
    return max(last_sound, heard_end - round(SILERO_LAG_SECONDS * SAMPLE_RATE))
