"""The satellite client streams audio the way a real satellite does."""

from __future__ import annotations

import time

import pytest

from corpus import clips
from tests import satellite

pytestmark = pytest.mark.timeout(10)


async def test_chunks_are_20_ms_and_lossless() -> None:
    pcm = bytes(range(256)) * 50  # 12800 bytes = 0.4 s of 16 kHz 16-bit mono
    pieces = [piece async for piece in satellite.chunks(pcm + b"\x01\x02")]
    assert b"".join(pieces) == pcm + b"\x01\x02"
    assert {len(piece) for piece in pieces[:-1]} == {640}  # 320 samples = 20 ms
    assert len(pieces[-1]) == 2


async def test_realtime_pacing_follows_the_audio_clock() -> None:
    pcm = bytes(16000 * 2 // 2)  # 0.5 s
    started = time.perf_counter()
    arrivals = [time.perf_counter() - started async for _ in satellite.chunks(pcm, realtime=True)]
    assert len(arrivals) == 25
    # Chunk i leaves once it has been "recorded": at (i + 1) * 20 ms.
    assert all(at >= (i + 1) * 0.02 - 0.002 for i, at in enumerate(arrivals))
    assert arrivals[-1] < 0.5 + 0.25


def test_load_wav_gives_16_khz_mono_pcm() -> None:
    clip = clips()[0]
    assert satellite.load_wav(clip.path) == clip.pcm()
