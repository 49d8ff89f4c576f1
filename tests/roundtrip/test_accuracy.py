"""Transcript accuracy over the corpus with real models (CHATTERBOX_TEST_MODELS)."""

from __future__ import annotations

import pytest

from tests import satellite
from tests.corpus import clips
from tests.support.server import ServerProcess
from tests.wer import wer

from .latency import ROUND_TRIP

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.real_models,
    pytest.mark.timeout(600),
]

MAX_WER = 0.30


async def test_word_error_rate_on_every_clip(real_server: ServerProcess) -> None:
    """Each corpus clip is recognized with a WER of at most 0.30."""
    report: list[str] = []
    failures: list[str] = []
    total_errors = 0.0
    for entry in clips():
        result = await satellite.stream_to_server(real_server.uri, entry.pcm(), language="en")
        assert result.ok, f"{entry.id}: {result.error}"
        assert result.transcript is not None
        rate = wer(entry.text, result.transcript)
        total_errors += rate
        assert result.audio_stop_to_transcript_ms is not None
        ROUND_TRIP.add("real-model stt", result.audio_stop_to_transcript_ms)
        line = f"{entry.id}: WER {rate:.2f} {entry.text!r} -> {result.transcript!r}"
        report.append(line)
        if rate > MAX_WER:
            failures.append(line)
    print("\n".join([*report, f"mean WER {total_errors / len(report):.3f}"]))
    assert not failures, "\n".join(failures)
