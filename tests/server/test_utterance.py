"""The utterance buffer: each chunk converted once, the same samples as converting at the end."""

from __future__ import annotations

import statistics
import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioChunkConverter

from chatterbox_server.utterance import Utterance

RATE = 16000
CHUNK_FRAMES = (1, 7, 160, 333, 1001, 4099)  # odd sizes, so resampling carries state across
# (rate, width, channels) the server accepts; not width 3, which wyoming's pure-Python audioop
# (Python 3.13+ without audioop-lts) cannot convert
FORMATS = [
    (16000, 2, 1),
    (8000, 1, 1),
    (22050, 2, 2),
    (44100, 2, 2),
    (48000, 4, 1),
    (11025, 2, 1),
]


def chunks(
    rate: int, width: int, channels: int, seconds: float, seed: int = 0
) -> Iterator[AudioChunk]:
    """Random audio in chunks of odd sizes, about ``seconds`` long."""
    rng = np.random.default_rng(seed)
    frames, index = 0, 0
    while frames < seconds * rate:
        count = CHUNK_FRAMES[index % len(CHUNK_FRAMES)]
        frames, index = frames + count, index + 1
        yield AudioChunk(rate, width, channels, rng.bytes(count * width * channels))


def converted_at_once(received: list[AudioChunk], max_seconds: float) -> np.ndarray:
    """The straightforward conversion: convert every chunk, join, cut at the cap, scale."""
    parts = []
    converter, fmt = AudioChunkConverter(rate=RATE, width=2, channels=1), None
    for chunk in received:
        if (chunk.rate, chunk.width, chunk.channels) != fmt:  # a fresh resampler per format
            converter = AudioChunkConverter(rate=RATE, width=2, channels=1)
            fmt = (chunk.rate, chunk.width, chunk.channels)
        parts.append(np.frombuffer(converter.convert(chunk).audio, dtype=np.int16))
    joined = np.concatenate(parts)[: int(max_seconds * RATE)]
    expected: np.ndarray = joined.astype(np.float32) / 32768.0
    return expected


@pytest.mark.parametrize(("rate", "width", "channels"), FORMATS)
def test_audio_is_bit_identical_to_converting_at_once(rate: int, width: int, channels: int) -> None:
    received = list(chunks(rate, width, channels, seconds=3.0))  # past the cap
    expected = converted_at_once(received, 2.5)
    utterance = Utterance(max_seconds=2.5)
    for chunk in received:
        utterance.add(chunk)
        audio = utterance.audio()  # at every check: what converting the chunks so far gives
        assert audio.dtype == np.float32
        assert len(audio) == utterance.samples
        assert audio.tobytes() == expected[: len(audio)].tobytes()
    assert utterance.full
    assert utterance.audio().tobytes() == expected.tobytes()
    assert utterance.samples == 2.5 * RATE


def test_a_new_format_mid_utterance_is_converted_as_before() -> None:
    utterance, received = Utterance(), []
    for seed, fmt in enumerate([(44100, 2, 2), (16000, 2, 1), (44100, 2, 2), (8000, 1, 1)]):
        for chunk in chunks(*fmt, seconds=0.5, seed=seed):
            utterance.add(chunk)
            received.append(chunk)
    assert utterance.audio().tobytes() == converted_at_once(received, 30).tobytes()


def test_audio_handed_out_never_changes() -> None:
    """Whisper and VAD threads read ``audio()`` while more audio arrives: it must stay put."""
    utterance = Utterance()
    handed_out = []
    for chunk in chunks(16000, 2, 1, seconds=10.0):  # the buffer grows several times
        utterance.add(chunk)
        audio = utterance.audio()
        handed_out.append((audio, audio.copy()))
    for audio, copy in handed_out:
        assert audio.tobytes() == copy.tobytes()
    audio = handed_out[-1][0]
    assert not audio.flags.writeable  # nor can a reader change what later readers get
    with pytest.raises(ValueError, match="read-only"):
        audio[0] = 1.0


def _bytes_built_per_chunk(seconds: float) -> list[int]:
    """Memory each chunk's ``add`` and the VAD check's ``audio()`` allocate (traced peak).

    Converting is building arrays: re-converting the utterance at every check allocates in
    proportion to its length, converting each chunk once does not.
    """
    utterance = Utterance()
    chunk = AudioChunk(RATE, 2, 1, bytes(2 * 1024))  # 64 ms: one check's worth of audio
    costs = []
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        for _ in range(int(seconds * RATE / 1024)):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            utterance.add(chunk)
            utterance.audio()
            costs.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        if not tracing:
            tracemalloc.stop()
    assert utterance.samples == int(seconds * RATE / 1024) * 1024
    return costs


def test_a_30s_utterance_costs_the_checks_no_more_per_chunk_than_a_3s_one() -> None:
    short, long = _bytes_built_per_chunk(3.0), _bytes_built_per_chunk(30.0)
    # a typical chunk: the same work late in a long utterance as early in a short one
    assert statistics.median(long) <= statistics.median(short) + 256, "per-chunk bytes grow"
    # all of it, growing the buffer included (doubling: amortized per chunk, not per length)
    assert statistics.mean(long) <= 2 * statistics.mean(short), "amortized bytes grow"
