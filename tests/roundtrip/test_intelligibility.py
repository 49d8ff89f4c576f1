"""The real voice is understood: Piper's answers, transcribed by the real Whisper, read right."""

from __future__ import annotations

import pytest

from corpus.wer import wer
from tests.support.server import ServerProcess
from tests.support.wyoming_client import synthesize, transcribe

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.real_models,
    pytest.mark.timeout(600),
]

MAX_MEAN_WER = 0.10
ANSWERS = (
    "The kitchen light is now on.",
    "It is twenty two degrees in the living room.",
    "I have set a timer for ten minutes.",
    "The front door is locked and the garage door is closed.",
    "Three lights are on upstairs: the hallway, the bedroom and the bathroom.",
    "Tomorrow will be cloudy with a high of fifteen degrees.",
)


async def test_synthesized_answers_are_transcribed_back(real_server: ServerProcess) -> None:
    """Each answer: synthesize with the real voice, transcribe the audio; mean WER <= 0.10."""
    lines: list[str] = []
    rates: list[float] = []
    for text in ANSWERS:
        speech = await synthesize(real_server.uri, text)
        assert speech.start is not None, f"no audio for {text!r}"
        pcm = b"".join(chunk.audio for chunk in speech.chunks)
        start = speech.start
        heard = await transcribe(
            real_server.uri, pcm, start.rate, start.width, start.channels, language="en"
        )
        rates.append(wer(text, heard.text))
        lines.append(f"WER {rates[-1]:.2f}: {text!r} -> {heard.text!r}")
    mean = sum(rates) / len(rates)
    print("\n".join([*lines, f"mean WER {mean:.3f}"]))
    assert mean <= MAX_MEAN_WER, "\n".join(lines)
