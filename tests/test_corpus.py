"""The committed corpus is what the pipeline and round-trip suites assume."""

from __future__ import annotations

import wave

import numpy as np

from tests.corpus import CORPUS_DIR, clips, paused_clips


def test_every_wav_has_a_transcript() -> None:
    """WAVs and transcripts.json name the same clips; at least 15 of them."""
    names = {clip.id for clip in (*clips(), *paused_clips())}
    assert names == {path.stem for path in CORPUS_DIR.glob("*.wav")}
    assert len(clips()) >= 15


def test_format_and_length() -> None:
    """16 kHz mono 16-bit, 0.5 to 5 seconds, non-empty text."""
    for clip in clips():
        with wave.open(str(clip.path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            seconds = wav.getnframes() / wav.getframerate()
        assert 0.5 <= seconds <= 5.0, clip.id
        assert clip.text.strip(), clip.id


def test_trailing_silence_is_real() -> None:
    """Clean clips that claim trailing silence end quietly, as a satellite's stream does."""
    with_silence = [c for c in clips() if c.trailing_silence >= 0.5 and c.snr_db is None]
    assert len(with_silence) >= 5
    for clip in with_silence:
        samples = np.frombuffer(clip.pcm(), dtype=np.int16).astype(np.float32)
        tail = samples[-int(0.4 * 16000) :]
        speech = samples[: -int(clip.trailing_silence * 16000)]
        assert np.abs(tail).max() < 0.01 * np.abs(speech).max(), clip.id


def test_noisy_clips_have_their_snr() -> None:
    """Noise-mixed clips: the noise alone (the trailing silence) sits SNR dB below the speech."""
    noisy = [clip for clip in clips() if clip.snr_db is not None]
    assert len(noisy) >= 3
    assert all(10 <= clip.snr_db <= 20 for clip in noisy if clip.snr_db is not None)
    for clip in noisy:
        assert clip.snr_db is not None
        samples = np.frombuffer(clip.pcm(), dtype=np.int16).astype(np.float64)
        cut = int(clip.trailing_silence * 16000)
        noise = np.sqrt(np.mean(samples[-cut + 1600 :] ** 2))
        speech = np.sqrt(np.mean(samples[2400:-cut] ** 2))  # after the 0.15 s lead-in
        measured = 20 * np.log10(speech / noise)
        assert abs(measured - clip.snr_db) < 4, (clip.id, measured)


def test_clips_name_unusual_entities() -> None:
    """Some commands name things Whisper rarely hears, with the names a home would send."""
    named = [clip for clip in clips() if clip.names]
    assert len(named) >= 5
    for clip in named:
        assert all(name.lower() in clip.text.lower() for name in clip.names), clip.id


def test_paused_commands_hold_their_pause() -> None:
    """Each command with a pause inside has that much silence between its two parts."""
    paused = paused_clips()
    assert len(paused) >= 10
    for clip in paused:
        assert clip.pause is not None
        with wave.open(str(clip.path), "rb") as wav:
            rate = wav.getframerate()
            audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        quiet = np.abs(audio.astype(np.int32)) < 300
        speech = np.flatnonzero(~quiet)
        inside = quiet[speech[0] : speech[-1]]
        # the longest quiet run between the first and the last loud sample
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(np.int8), [0]])))
        longest = max((b - a for a, b in zip(edges[::2], edges[1::2], strict=True)), default=0)
        assert longest / rate >= clip.pause * 0.95, (clip.id, longest / rate)
