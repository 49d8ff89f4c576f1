"""The STT engine in-process: prompt budget, language choice, bounded and repeated decodes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chatterbox_server.stt import (
    UNSURE_LOG_PROB,
    Abandoned,
    SttEngine,
    SttOptions,
    SttResult,
    max_new_tokens,
    window_for,
)
from corpus import Clip, clips, paused_clips
from corpus.wer import wer
from tests.support.audio import from_pcm16, speech_like


@pytest.fixture
def engine(test_models: Path) -> Iterator[SttEngine]:
    stt = SttEngine(test_models / "stt", options=SttOptions(initial_prompt="Home Assistant."))
    yield stt
    stt.close()


def test_hotwords_fit_whisper_prompt_budget(engine: SttEngine) -> None:
    names = [f"Living room lamp {i}" for i in range(500)]
    hotwords = engine.hotwords(names, ["thermostat"])
    assert hotwords is not None
    assert hotwords.startswith("Living room lamp 0, Living room lamp 1,")
    used = engine.count_tokens(hotwords) + engine.count_tokens("Home Assistant.")
    assert used <= engine.prompt_budget == 223
    assert used > engine.prompt_budget - 25  # filled up, not cut short
    assert "thermostat" not in hotwords  # names come first


def test_hotwords_dedupe_and_skip_junk(engine: SttEngine) -> None:
    hotwords = engine.hotwords(["Kitchen", "kitchen", "  ", 5], ["Kitchen", "dim"])  # type: ignore[list-item]
    assert hotwords == "Kitchen, dim"
    assert engine.hotwords(None, None) is None
    assert engine.hotwords([], []) is None


def test_language_choice(engine: SttEngine) -> None:
    assert engine.pick_language("en-US") == "en"
    assert engine.pick_language("de_DE") == "de"
    assert engine.pick_language("xx") is None  # unknown: the configured default (auto)
    assert engine.pick_language(None) is None


async def test_transcribe_in_worker_thread(engine: SttEngine) -> None:
    result = await engine.transcribe(speech_like(2.0), names=["kitchen light"])
    assert result.text == "turn on the kitchen light"
    assert result.audio_seconds == pytest.approx(2.0)
    assert result.rtf > 0
    empty = await engine.transcribe(np.zeros(0, dtype=np.float32))
    assert empty.text == ""


async def test_decoding_is_bounded_by_the_speech_length(
    engine: SttEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whisper may write only so many tokens per second of speech: no endless repeats."""
    seen: list[dict[str, object]] = []
    transcribe = engine.model.transcribe

    def spy(audio: np.ndarray, **kwargs: object) -> object:
        seen.append({"seconds": len(audio) / 16000, **kwargs})
        return transcribe(audio, **kwargs)

    monkeypatch.setattr(engine.model, "transcribe", spy)
    await engine.transcribe(speech_like(2.0))
    (call,) = seen
    assert call["max_new_tokens"] == max_new_tokens(float(call["seconds"]))  # type: ignore[arg-type]
    assert max_new_tokens(2.0) == 32
    assert max_new_tokens(30.0) == 224  # with the longest prompt: Whisper's 448 positions
    assert call["temperature"] == 0.0  # one deterministic decode: no sampled fallbacks


class _EncoderSpy:
    """Stands in front of the CTranslate2 model and records the frames each encode gets."""

    def __init__(self, model: object) -> None:
        self.model = model
        self.frames: list[int] = []

    def encode(self, features: object, **kwargs: object) -> object:
        self.frames.append(features.shape[-1])  # type: ignore[attr-defined]
        return self.model.encode(features, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)


@pytest.mark.parametrize(
    ("window", "seconds", "frames"),
    [(15, 3.0, 1500), (30, 3.0, 3000), (15, 20.0, 3000), (5, 4.0, 500), (5, 6.0, 3000)],
)
async def test_encoder_window_fits_the_speech(
    test_models: Path, window: int, seconds: float, frames: int
) -> None:
    """The encoder takes the shorter window when the speech fits in it, else Whisper's 30 s."""
    stt = SttEngine(test_models / "stt", options=SttOptions(window_seconds=window))
    try:
        spy = _EncoderSpy(stt.model.model)
        stt.model.model = spy  # type: ignore[assignment]
        result = await stt.transcribe(speech_like(seconds))
        assert result.text
        assert spy.frames[0] == frames
    finally:
        stt.close()


def test_window_for_tiny_models_is_whispers_own(tmp_path: Path) -> None:
    tiny = tmp_path / "models--Systran--faster-whisper-tiny.en" / "snapshots" / "abc"
    tiny.mkdir(parents=True)
    base = tmp_path / "stt-base"
    base.mkdir()
    (tmp_path / "stt").symlink_to(tiny)
    assert window_for(tiny) == 30
    assert window_for(tmp_path / "stt") == 30  # a link to a tiny model is one
    assert window_for(base) == 15


async def _decode_counted(
    model: Path,
    fallback: int,
    clip: Clip,
    monkeypatch: pytest.MonkeyPatch,
    *,
    with_names: bool = True,
) -> tuple[SttResult, list[object], int]:
    """Transcribe ``clip`` as the server would at beam 1, with the home's names (or none).

    Returns the result, the beam of each decode and how many encodes there were.
    """
    options = SttOptions(
        language="en", beam_size=1, fallback_beam_size=fallback, window_seconds=window_for(model)
    )
    stt = SttEngine(model, options=options, compute_type="int8", cpu_threads=2, workers=1)
    beams: list[object] = []
    transcribe = stt.model.transcribe

    def spy(audio: np.ndarray, **kwargs: object) -> object:
        beams.append(kwargs["beam_size"])
        return transcribe(audio, **kwargs)

    monkeypatch.setattr(stt.model, "transcribe", spy)
    encoder = _EncoderSpy(stt.model.model)
    stt.model.model = encoder  # type: ignore[assignment]
    home = list(dict.fromkeys(name for each in clips() for name in each.names))
    names = home if with_names else None
    try:
        result = await stt.transcribe(from_pcm16(clip.pcm()), language="en", names=names)
    finally:
        stt.close()
    return result, beams, len(encoder.frames)


@pytest.mark.real_models
async def test_an_unsure_decode_is_decoded_again_with_a_wider_beam(
    real_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beam 1 hears "Santa Furma, tattoo" (log prob about -1.1); beam 5 the thermostat.

    The second decode re-uses the first one's encoding. With the fallback beam at the first
    beam there is no second decode, a sure decode is not repeated, and without names none is
    (there the wider beam wrote longer guesses).
    """
    by_id = {clip.id: clip for clip in paused_clips()}
    unsure, sure = by_id["thermostat_pause"], by_id["garage_lock_pause"]
    model = real_models / "stt"

    again, beams, encodes = await _decode_counted(model, 5, unsure, monkeypatch)
    once, single, _ = await _decode_counted(model, 1, unsure, monkeypatch)
    assert (beams, encodes, single) == ([1, 5], 1, [1])
    assert once.log_prob < UNSURE_LOG_PROB
    assert wer(unsure.text, again.text) < wer(unsure.text, once.text)
    assert again.log_prob == once.log_prob  # the least sure decode's: end of speech still waits

    kept, beams, _ = await _decode_counted(model, 5, sure, monkeypatch)
    assert beams == [1]
    assert kept.log_prob > UNSURE_LOG_PROB

    (slow,) = (clip for clip in clips() if clip.id == "alarm_slow")
    unnamed, beams, _ = await _decode_counted(model, 5, slow, monkeypatch, with_names=False)
    assert unnamed.log_prob < UNSURE_LOG_PROB
    assert beams == [1]


class _AbandonWhileEncoding(_EncoderSpy):
    """Sets ``abandon`` during each encoding, as speculation does when newer speech comes."""

    def __init__(self, model: object, abandon: threading.Event) -> None:
        super().__init__(model)
        self.abandon = abandon

    def encode(self, features: object, **kwargs: object) -> object:
        self.abandon.set()
        return super().encode(features, **kwargs)


async def test_an_abandoned_transcription_stops_at_the_encoder(engine: SttEngine) -> None:
    """A running transcription cannot be cancelled; abandoned, it stops after the encoder.

    A stale speculative transcription so holds the worker no longer than the encoding it is
    in, and the transcription after it (the one someone waits for) starts sooner.
    """
    audio = speech_like(2.0)
    request = engine.request("en")
    abandon = threading.Event()
    spy = _AbandonWhileEncoding(engine.model.model, abandon)
    real, engine.model.model = engine.model.model, spy
    try:
        with pytest.raises(Abandoned):
            await asyncio.wrap_future(engine.submit(audio, request, None, abandon))
        assert len(spy.frames) == 1  # stopped after the encoder: no decode, no second encoding
        whole = await asyncio.wrap_future(engine.submit(audio, request, None, threading.Event()))
    finally:
        engine.model.model = real
    assert whole.text == (await engine.transcribe(audio, language="en")).text
    assert len(spy.frames) == 2  # not abandoned: encoded and decoded
