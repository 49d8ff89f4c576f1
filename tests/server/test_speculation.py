"""Speculative transcription: same Whisper input as transcribing at AudioStop, only sooner.

The test model says the same words for any speech, so transcripts cannot tell two inputs apart.
These tests watch what reaches ``WhisperModel.transcribe`` instead: a spy records every input
(the real model still runs) and tags its answer's language with the call number, so the
Transcript says which call produced it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import statistics
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faster_whisper.vad import get_speech_timestamps
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop

from chatterbox_server.__main__ import build_parser
from chatterbox_server.context import ServerContext
from corpus import Clip, clips
from tests import satellite
from tests.support.audio import speech_like, to_pcm16
from tests.support.server import serve_in_process
from tests.support.wyoming_client import client, read_until

from .conftest import record

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

RATE = 16000
CHUNK_MS = 20
LOG = "chatterbox_server.listening"


class Spy:
    """Wrap ``WhisperModel.transcribe``: keep each input, name the call in the answer."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.inputs: list[np.ndarray] = []
        self.lock = threading.Lock()

    def __call__(self, audio: np.ndarray, **kwargs: Any) -> Any:
        with self.lock:
            call = len(self.inputs)
            self.inputs.append(audio.copy())
        segments, info = self.real(audio, **kwargs)
        return segments, dataclasses.replace(info, language=f"call-{call}")

    def answer_input(self, transcript: Transcript) -> np.ndarray:
        """The audio Whisper got in the call that produced ``transcript``."""
        assert transcript.language is not None
        assert transcript.language.startswith("call-"), transcript.language
        return self.inputs[int(transcript.language.removeprefix("call-"))]


@dataclasses.dataclass
class Served:
    uri: str
    context: ServerContext
    spy: Spy

    def speculation(self, on: bool) -> None:
        assert self.context.stt is not None
        stt = self.context.stt
        stt.options = dataclasses.replace(stt.options, speculation=on)


def _args(stt_model: Path, *extra: str) -> list[str]:
    """Serve STT; end of speech off: these tests look at speculation until AudioStop."""
    return ["--uri", "tcp://127.0.0.1:0", "--mode", "stt", "--stt-model", str(stt_model),
            "--local-files-only", "--no-end-of-speech", *extra]  # fmt: skip


@pytest.fixture
async def served(test_models: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    """The server in this process (STT only, see ``_args``) with a spy on Whisper's input."""
    async with serve_in_process(_args(test_models / "stt")) as (uri, context):
        assert context.stt is not None
        spy = Spy(context.stt.model.transcribe)
        monkeypatch.setattr(context.stt.model, "transcribe", spy)
        yield Served(uri, context, spy)


async def stream(uri: str, pcm: bytes, speed: float = 4.0) -> Transcript:
    """Send ``pcm`` in 20 ms chunks, ``speed`` times faster than real time; read the answer."""
    step = RATE * CHUNK_MS // 1000 * 2
    loop = asyncio.get_running_loop()
    async with client(uri) as conn:
        await conn.write_event(Transcribe().event())
        await conn.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        started = loop.time()
        for index, offset in enumerate(range(0, len(pcm), step)):
            due = started + (index + 1) * CHUNK_MS / 1000 / speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            chunk = AudioChunk(rate=RATE, width=2, channels=1, audio=pcm[offset : offset + step])
            await conn.write_event(chunk.event())
        await conn.write_event(AudioStop().event())
        events = await read_until(conn, "transcript")
        return Transcript.from_event(events[-1])


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The speculation outcome of each request, from the request log lines."""
    return [
        record.getMessage().split("speculation ")[1].split(",")[0]
        for record in caplog.records
        if record.name == LOG and " stt " in record.getMessage()
    ]


def samples(clip: Clip) -> np.ndarray:
    return np.frombuffer(clip.pcm(), dtype=np.int16).astype(np.float32) / 32768.0


@pytest.mark.real_time
async def test_speculation_gives_whisper_the_same_audio_on_the_corpus(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    assert served.context.stt is not None
    vad_options = served.context.stt.options.vad_options
    for clip in clips():
        served.speculation(False)
        at_stop = served.spy.answer_input(await stream(served.uri, clip.pcm(), speed=100))
        # The path at AudioStop: faster-whisper's VAD finds the speech; Whisper hears it from
        # the first padded start to the last padded end, its pauses kept.
        audio = samples(clip)
        found = get_speech_timestamps(audio, vad_options)
        np.testing.assert_array_equal(at_stop, audio[found[0]["start"] : found[-1]["end"]])

        served.speculation(True)
        calls = len(served.spy.inputs)
        early = served.spy.answer_input(await stream(served.uri, clip.pcm(), speed=2))
        np.testing.assert_array_equal(early, at_stop, err_msg=clip.id)
        assert len(served.spy.inputs) > calls

    results = outcomes(caplog)
    assert results[0::2] == ["off"] * len(clips())
    speculative = dict(zip((clip.id for clip in clips()), results[1::2], strict=True))
    trailing = [clip.id for clip in clips() if clip.trailing_silence >= 0.5]
    hits = [name for name in trailing if speculative[name] == "hit"]
    record("speculation hits on corpus clips with >= 0.5 s trailing silence",
           f"{len(hits)}/{len(trailing)}")  # fmt: skip
    print(speculative)
    assert len(hits) >= 0.8 * len(trailing), speculative


async def test_resumed_speech_discards_the_early_transcription(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    first, second = speech_like(1.0, seed=3), speech_like(1.2, seed=4)
    pause = np.zeros(int(0.8 * RATE), dtype=np.float32)
    pcm = to_pcm16(np.concatenate([first, pause, second]))

    served.speculation(False)
    at_stop = served.spy.answer_input(await stream(served.uri, pcm, speed=100))
    served.speculation(True)
    calls = len(served.spy.inputs)
    transcript = await stream(served.uri, pcm, speed=2)
    answer = served.spy.answer_input(transcript)

    assert outcomes(caplog) == ["off", "miss"]
    speculated = served.spy.inputs[calls:-1]
    assert speculated, "no transcription started during the pause"
    # The early job heard the first part only; the answer has both parts.
    assert all(len(early) < (1.0 + 0.5) * RATE for early in speculated)
    assert len(answer) > (1.0 + 1.2) * RATE
    np.testing.assert_array_equal(answer, at_stop)


async def test_whisper_hears_the_pause_inside_a_command(served: Served) -> None:
    """Speech, a 0.8 s pause, speech: Whisper gets one span with the pause, not two pieces."""
    first, second = speech_like(1.0, seed=5), speech_like(1.0, seed=6)
    pause = np.zeros(int(0.8 * RATE), dtype=np.float32)
    pcm = to_pcm16(np.concatenate([first, pause, second]))
    served.speculation(False)
    heard = served.spy.answer_input(await stream(served.uri, pcm, speed=100))
    assert len(heard) > (1.0 + 0.8 + 1.0) * RATE * 0.95
    middle = heard[int(1.5 * RATE) : int(1.7 * RATE)]
    assert not middle.any(), "the pause between the two parts was cut out"


async def test_no_speech_check_while_the_early_transcription_runs(
    served: Served, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whisper held inside the early job: audio goes on arriving, the VAD waits for the job."""
    caplog.set_level(logging.INFO, logger=LOG)
    stt = served.context.stt
    assert stt is not None
    checks: list[int] = []
    real_speech_in = stt.speech_in
    entered, release, checked_after = threading.Event(), threading.Event(), threading.Event()

    def counted(audio: np.ndarray) -> Any:
        checks.append(len(audio))
        if release.is_set():
            checked_after.set()
        return real_speech_in(audio)

    monkeypatch.setattr(stt, "speech_in", counted)
    real_transcribe = stt.model.transcribe

    def held(audio: np.ndarray, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return real_transcribe(audio, **kwargs)

    monkeypatch.setattr(stt.model, "transcribe", held)
    pcm = to_pcm16(np.concatenate([speech_like(1.0), np.zeros(4 * RATE, dtype=np.float32)]))
    step = RATE * CHUNK_MS // 1000 * 2
    held_at: int | None = None  # checks started before the job ran
    async with client(served.uri) as conn:
        await conn.write_event(Transcribe().event())
        await conn.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        try:
            for offset in range(0, len(pcm), step):
                audio = pcm[offset : offset + step]
                await conn.write_event(
                    AudioChunk(rate=RATE, width=2, channels=1, audio=audio).event()
                )
                await asyncio.sleep(CHUNK_MS / 1000 / 4)
                if entered.is_set() and held_at is None:
                    await asyncio.sleep(0.1)  # a check started before the job may still end
                    held_at = len(checks)
            assert held_at is not None, "no early transcription started"
            await asyncio.sleep(0.2)
            assert len(checks) == held_at, "VAD checks ran while the early transcription ran"
        finally:
            release.set()
        assert await asyncio.to_thread(checked_after.wait, 10), "no check after the job ended"
        assert checks[-1] == len(pcm) // 2, "the job's end did not check the audio since"
        await conn.write_event(AudioStop().event())
        await read_until(conn, "transcript")

    assert outcomes(caplog) == ["hit"]


async def test_disconnect_mid_utterance_drops_speculation(served: Served) -> None:
    pcm = to_pcm16(np.concatenate([speech_like(1.0), np.zeros(RATE, dtype=np.float32)]))
    async with client(served.uri) as conn:
        await conn.write_event(Transcribe().event())
        await conn.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        for offset in range(0, len(pcm), 640):
            chunk = AudioChunk(rate=RATE, width=2, channels=1, audio=pcm[offset : offset + 640])
            await conn.write_event(chunk.event())
            await asyncio.sleep(0.002)
    # Gone before AudioStop: the server is still fine for the next client.
    transcript = await stream(served.uri, pcm, speed=100)
    assert transcript.language is not None
    # (No tasks or threads left behind: the fixture's cleanup checks.)


@pytest.mark.real_time
async def test_speculation_answers_sooner_at_real_time_pace(test_models: Path) -> None:
    clip = next(c for c in clips() if c.trailing_silence == 0.8)
    latencies: dict[str, list[float]] = {}
    for flag in ("--speculation", "--no-speculation"):
        async with serve_in_process(_args(test_models / "stt", flag)) as (uri, _):
            await satellite.stream_to_server(uri, clip.pcm())  # warm-up
            runs = latencies.setdefault(flag, [])
            for _ in range(3):
                result = await satellite.stream_to_server(uri, clip.pcm(), realtime=True)
                assert result.ok, result.error
                assert result.audio_stop_to_transcript_ms is not None
                runs.append(result.audio_stop_to_transcript_ms)
    fast, slow = (statistics.median(latencies[f]) for f in ("--speculation", "--no-speculation"))
    record(f"AudioStop->Transcript ms, {clip.id} at real-time pace (test model)",
           f"speculation {fast:.0f}, without {slow:.0f}")  # fmt: skip
    assert fast <= slow + 50


def test_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPECULATION", "VAD_MIN_SILENCE_MS", "VAD_SPEECH_PAD_MS"):
        monkeypatch.delenv(f"CHATTERBOX_{name}", raising=False)
    args = build_parser().parse_args([])
    assert (args.speculation, args.vad_min_silence_ms, args.vad_speech_pad_ms) == (True, 200, 200)
    monkeypatch.setenv("CHATTERBOX_SPECULATION", "off")
    monkeypatch.setenv("CHATTERBOX_VAD_MIN_SILENCE_MS", "500")
    args = build_parser().parse_args(["--vad-speech-pad-ms", "250"])
    assert (args.speculation, args.vad_min_silence_ms, args.vad_speech_pad_ms) == (False, 500, 250)
    assert build_parser().parse_args(["--speculation"]).speculation is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--vad-min-silence-ms", "-1"])
    text = " ".join(build_parser().format_help().split())
    for flag in ("--no-speculation", "--vad-min-silence-ms", "--vad-speech-pad-ms"):
        assert flag in text
    for name in ("SPECULATION", "VAD_MIN_SILENCE_MS", "VAD_SPEECH_PAD_MS"):
        assert f"CHATTERBOX_{name}" in text


@pytest.mark.real_models
async def test_real_model_transcripts_equal_with_and_without_speculation(
    real_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Speculated at real-time pace, mostly hits, the same text as transcribed at AudioStop."""
    caplog.set_level(logging.INFO, logger=LOG)
    texts: dict[str, list[str | None]] = {}
    # Without speculation the transcription starts at AudioStop: no pace needed.
    for flag, realtime in (("--speculation", True), ("--no-speculation", False)):
        args = _args(real_models / "stt", flag, "--language", "en", "--compute-type", "int8")
        async with serve_in_process(args) as (uri, _):
            for clip in clips():
                if clip.trailing_silence < 0.5:
                    continue  # no early start: transcribed at AudioStop either way
                result = await satellite.stream_to_server(uri, clip.pcm(), realtime=realtime)
                assert result.ok, result.error
                texts.setdefault(clip.id, []).append(result.transcript)
    different = {name: pair for name, pair in texts.items() if pair[0] != pair[1]}
    assert not different
    results = outcomes(caplog)
    assert results[len(texts) :] == ["off"] * len(texts)
    assert results[: len(texts)].count("hit") >= 0.8 * len(texts), results[: len(texts)]
