"""The server speaks every corpus transcript as well-formed audio of a plausible length."""

from __future__ import annotations

import numpy as np
import pytest

from corpus import clips
from tests import satellite
from tests.support.server import ServerProcess

from .audio_checks import Pcm, assert_speech_audio
from .latency import ROUND_TRIP

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(60)]


async def test_every_corpus_transcript_is_spoken(roundtrip_server: ServerProcess) -> None:
    """Audio for each transcript: 22.05 kHz mono 16-bit, audible, longer for longer text."""
    durations: list[float] = []
    lengths: list[int] = []
    for entry in clips():
        answer = await satellite.synthesize(roundtrip_server.uri, entry.text)
        assert answer.ok, f"{entry.id}: {answer.error}"
        assert (answer.rate, answer.width, answer.channels) == (22050, 2, 1), entry.id
        pcm = Pcm(answer.audio, answer.rate, answer.width, answer.channels)
        # The test voice speaks one ~0.1 s tone per phoneme: about 0.05-0.5 s per character.
        assert_speech_audio(
            pcm, min_seconds=0.02 * len(entry.text), max_seconds=0.5 * len(entry.text) + 1
        )
        assert answer.first_audio_ms is not None
        ROUND_TRIP.add("tts one-shot first audio", answer.first_audio_ms)
        durations.append(answer.seconds)
        lengths.append(len(entry.text))

    # Audio follows the text: durations rise with the transcript's length (not one canned clip).
    assert len(set(durations)) > len(durations) // 2
    assert np.corrcoef(lengths, durations)[0, 1] > 0.8
