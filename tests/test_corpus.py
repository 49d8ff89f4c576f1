"""The committed corpus is what the pipeline and round-trip suites assume."""

from __future__ import annotations

import re
import wave
from collections import Counter

import numpy as np
import numpy.typing as npt

from corpus import CORPUS_DIR, Clip, clips, corpus, paused_clips

RATE = 16000


def test_every_wav_has_a_transcript() -> None:
    """WAVs and transcripts.json name the same clips; at least 15 of them in the sample."""
    names = {clip.id for clip in corpus()}
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


# The whole corpus: the CI sample (tuned on, all "dev") and the new clips split dev/test.


def _new(paused: bool | None = None) -> list[Clip]:
    return [clip for clip in corpus(paused=paused) if not clip.sample]


def _samples(clip: Clip) -> npt.NDArray[np.float64]:
    return np.frombuffer(clip.pcm(), dtype=np.int16).astype(np.float64)


def _longest_quiet_run(quiet: npt.NDArray[np.bool_]) -> int:
    """Longest run of True between the first and the last False."""
    loud = np.flatnonzero(~quiet)
    inside = quiet[loud[0] : loud[-1]].astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside, [0]])))
    return max((b - a for a, b in zip(edges[::2], edges[1::2], strict=True)), default=0)


def test_the_sample_is_the_fixed_ci_sample() -> None:
    """clips() and paused_clips() stay the 34 + 10 committed first, all "dev"."""
    sample = [clip for clip in corpus() if clip.sample]
    assert (len(clips()), len(paused_clips()), len(sample)) == (34, 10, 44)
    assert set(sample) == {*clips(), *paused_clips()}
    assert all(clip.split == "dev" and clip.source == "espeak-ng" for clip in sample)


def test_corpus_size_and_split() -> None:
    """At least 100 complete and 40 paused commands; the new ones split half dev, half test."""
    assert len(corpus(paused=False)) >= 100
    assert len(corpus(paused=True)) >= 40
    assert len(_new(paused=False)) >= 110
    assert len(_new(paused=True)) >= 44
    assert corpus() == sorted(corpus(), key=lambda clip: clip.id)
    assert set(corpus("dev")) | set(corpus("test")) == set(corpus())
    for paused in (False, True):
        splits = Counter(clip.split for clip in _new(paused))
        assert set(splits) == {"dev", "test"}
        assert abs(splits["dev"] - splits["test"]) <= 2, (paused, splits)


def test_new_clips_are_balanced_across_splits() -> None:
    """Both splits hold both sources, both pause kinds, noise and names, about equally."""
    for attribute in ("source", "kind", "snr_db", "names"):
        groups = Counter(
            (clip.split, bool(getattr(clip, attribute)) if attribute != "source" else clip.source)
            for clip in _new()
            if attribute != "kind" or clip.kind
        )
        for (split, value), count in groups.items():
            other = groups[("test" if split == "dev" else "dev", value)]
            assert abs(count - other) <= 2, (attribute, value, groups)
    for split in ("dev", "test"):
        sources = Counter(clip.source for clip in corpus(split) if not clip.sample)
        assert set(sources) == {"espeak-ng", "piper"}, split
        kinds = Counter(clip.kind for clip in corpus(split, paused=True) if not clip.sample)
        assert set(kinds) == {"hesitation", "afterthought"}, split


def test_sources_voices_noise_and_names() -> None:
    """About a third Piper (joe), many espeak-ng voices; about 15 % noisy, 15 % named."""
    new = _new()
    piper = [clip for clip in new if clip.source == "piper"]
    assert 0.25 <= len(piper) / len(new) <= 0.4
    assert {clip.source for clip in new} == {"espeak-ng", "piper"}
    noisy = [clip for clip in new if clip.snr_db is not None]
    named = [clip for clip in new if clip.names]
    assert 0.1 <= len(noisy) / len(new) <= 0.2
    assert 0.1 <= len(named) / len(new) <= 0.2
    assert any(clip.source == "piper" for clip in noisy)
    assert any(clip.source == "piper" for clip in named)
    for clip in named:
        assert all(name.lower() in clip.text.lower() for name in clip.names), clip.id


def test_every_clip_format_lead_in_and_trailing_silence() -> None:
    """16 kHz mono 16-bit, 0.5 to 6 s; new clips: 0.15 s lead-in, exactly 0.8 s trailing."""
    for clip in corpus():
        with wave.open(str(clip.path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
            seconds = wav.getnframes() / wav.getframerate()
        assert 0.5 <= seconds <= 6.0, clip.id
        assert 0 < clip.speech_end <= seconds, clip.id
        if not clip.sample:
            assert clip.trailing_silence == 0.8, clip.id


def test_clean_clips_end_where_speech_end_says() -> None:
    """Clean clips: trailing silence really quiet, the last word right before it."""
    for clip in corpus():
        if clip.snr_db is not None:
            continue
        samples = _samples(clip)
        end = round(clip.speech_end * RATE)
        peak = np.abs(samples[:end]).max()
        assert np.abs(samples[end:]).max(initial=0) < 0.01 * peak, clip.id
        assert np.abs(samples[end - RATE // 10 : end]).max() >= 0.005 * 32768, clip.id
        if not clip.sample:
            assert np.abs(samples[: int(0.15 * RATE)]).max() < 300, clip.id


def test_every_noisy_clip_has_its_snr() -> None:
    """Noise-mixed clips, the new ones too: 10 to 20 dB, measured as stated."""
    noisy = [clip for clip in corpus() if clip.snr_db is not None]
    assert len(noisy) >= 20
    for clip in noisy:
        assert clip.snr_db is not None
        assert 10 <= clip.snr_db <= 20, clip.id
        samples = _samples(clip)
        cut = int(clip.trailing_silence * RATE)
        noise = np.sqrt(np.mean(samples[-cut + 1600 :] ** 2))
        speech = np.sqrt(np.mean(samples[2400:-cut] ** 2))
        assert abs(20 * np.log10(speech / noise) - clip.snr_db) < 4, clip.id


def test_every_pause_is_in_range_and_in_the_wav() -> None:
    """Pauses 0.4 to 0.7 s, spread over that range, and that long in the WAV (+-20 ms)."""
    new = _new(paused=True)
    pauses = sorted(clip.pause for clip in new if clip.pause is not None)
    assert len(pauses) == len(new)
    assert pauses[0] >= 0.4
    assert pauses[-1] <= 0.7
    thirds = np.histogram(pauses, bins=3, range=(0.4, 0.7))[0]
    assert thirds.min() >= len(pauses) // 4, thirds
    for clip in corpus(paused=True):
        assert clip.pause is not None
        samples = _samples(clip)
        if clip.snr_db is None:  # as test_paused_commands_hold_their_pause measures
            longest = _longest_quiet_run(np.abs(samples) < 300) / RATE
            tolerance = (0.02, 0.02) if not clip.sample else (0.05 * clip.pause, 0.2)
        else:  # 10 ms frames no louder than twice the noise; noise hides soft edges
            frames = len(samples) // 160
            rms = np.sqrt(np.mean(samples[: frames * 160].reshape(frames, 160) ** 2, axis=1))
            noise = np.sqrt(np.mean(samples[-int(0.6 * RATE) :] ** 2))
            longest = _longest_quiet_run(rms < 2 * noise) / 100
            tolerance = (0.02, 0.2)
        assert clip.pause - tolerance[0] <= longest <= clip.pause + tolerance[1], (
            clip.id,
            longest,
        )


def test_pause_kinds_and_prefixes() -> None:
    """New paused commands: half afterthoughts (the words before the pause already a command)."""
    new = _new(paused=True)
    kinds = Counter(clip.kind for clip in new)
    assert set(kinds) == {"hesitation", "afterthought"}
    assert abs(kinds["hesitation"] - kinds["afterthought"]) <= 2, kinds
    for clip in new:
        assert clip.prefix, clip.id
        assert clip.text.startswith(clip.prefix + " "), clip.id
    assert all(clip.kind is None and clip.prefix is None for clip in _new(paused=False))


def test_transcripts_are_lower_case_words() -> None:
    """Words only, no punctuation or digits; new clips lower case except the home's names."""
    sample = {clip.text.lower() for clip in corpus() if clip.sample}
    texts = Counter(clip.text.lower() for clip in _new())
    assert not [text for text, n in texts.items() if n > 1 or text in sample]
    for clip in corpus():
        assert re.fullmatch(r"[A-Za-z]+( [A-Za-z]+)*", clip.text), clip.id
        if not clip.sample:
            rest = clip.text
            for name in clip.names:
                rest = rest.replace(name, name.lower())
            assert rest == rest.lower(), clip.id
