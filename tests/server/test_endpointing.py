"""End of speech: the server ends an utterance itself and answers before AudioStop.

The rules (``chatterbox_server.endpointing``) on their own, then the server in this process with
the generated test model (which hears "turn on the kitchen light" in any speech: a complete
command) and the real Silero VAD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript, VadSensitivity
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event

from chatterbox_server.endpointing import (
    MAX_SECONDS,
    NO_SPEECH_SECONDS,
    SENSITIVITIES,
    EndOfSpeech,
    reading,
    sensitivity_silences,
)
from chatterbox_server.stt import SAMPLE_RATE as RATE
from corpus import Clip, corpus, paused_clips
from corpus.wer import wer
from tests import satellite
from tests.support.audio import speech_like, to_pcm16
from tests.support.server import serve_in_process
from tests.support.wyoming_client import client, describe

from .conftest import record

pytestmark = pytest.mark.usefixtures("socket_enabled")

LOG = "chatterbox_server.listening"
CHUNK = RATE * 20 // 1000  # samples in 20 ms


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Turn on the kitchen light.", "en", "complete"),
        ("What time is it?", "en", "complete"),
        ("Turn on the", "en", "trailing"),
        ("Open the blinds and", "en", "trailing"),
        ("Set a timer for...", "en", "trailing"),
        ("Set a timer for…", "en", "trailing"),
        ("Turn off the lights in", "en-US", "trailing"),
        ("Turn the kitchen light on", "en", "complete"),
        ("Mach das Licht aus", "de", "complete"),
        ("Schalte das Licht im", "de", "trailing"),
        ("Schalte das Licht ein.", "de", "complete"),
        ("Allume la lumière de la", "fr", "trailing"),
        ("電気をつけて", "ja", "neutral"),
        ("電気を…", "ja", "trailing"),
        ("", "en", "trailing"),
        ("Turn on the kitchen light", None, "neutral"),
    ],
)
def test_reading(text: str, language: str | None, expected: str) -> None:
    assert reading(text, language) == expected


def test_sensitivity_picks_home_assistants_wait() -> None:
    """The least silence is Home Assistant's own VAD's (assist_pipeline/vad.py) at each level."""
    assert {name: s.least for name, s in SENSITIVITIES.items()} == {
        "aggressive": 0.25,
        "default": 0.7,
        "relaxed": 1.25,
    }
    assert sensitivity_silences("relaxed") == SENSITIVITIES["relaxed"]
    assert sensitivity_silences(VadSensitivity.AGGRESSIVE) == SENSITIVITIES["aggressive"]
    assert sensitivity_silences(None) == SENSITIVITIES["default"]
    assert sensitivity_silences("sleepy") == SENSITIVITIES["default"]
    assert sensitivity_silences(3) == SENSITIVITIES["default"]
    for silences in SENSITIVITIES.values():
        assert silences.least < silences.unfinished


def _judge(silence: float, text: str | None, log_prob: float = -0.3, pad: int = 3200) -> str | None:
    """Speech from 0.5 s to 1.5 s, then ``silence`` s; checked up to now."""
    end = EndOfSpeech(SENSITIVITIES["default"], "en", pad)
    start, stop = int(0.5 * RATE), int(1.5 * RATE)
    checked = stop + int(silence * RATE)
    speech = ((start - pad, min(checked, stop + pad)),)
    silent_from = None if speech[-1][1] >= checked else stop
    return end.judge(checked, checked, speech, silent_from, text, log_prob)


def test_a_complete_transcript_never_shortens_the_wait() -> None:
    """However finished it reads, nothing ends before Home Assistant's own 0.7 s."""
    at_least = 0.7
    assert _judge(0.3, "Turn on the kitchen light.") is None
    assert _judge(at_least - 0.01, "Turn on the kitchen light.") is None
    assert _judge(at_least, "Turn on the kitchen light.") == "silence"
    assert _judge(0.5, None) is None  # no transcript yet: go on
    assert _judge(0.1, "Turn on the kitchen light.") is None  # the segment is still open
    assert _judge(2.0, None) is None  # however long: the answer needs a transcript
    assert _judge(at_least, "Turn on the kitchen light.", -1.4) == "silence"  # sure enough


def test_evidence_of_an_unfinished_command_only_lengthens_it() -> None:
    """A trailing word, Whisper's "...", or an unsure decode: 0.5 s more."""
    at_least = 1.2
    for text, log_prob in (
        ("Turn on the", -0.3),
        ("Set a timer for...", -0.3),
        ("Santa Furma's tattoo!", -1.6),  # reads complete, heard unsurely
    ):
        assert _judge(at_least - 0.01, text, log_prob) is None, text
        assert _judge(at_least, text, log_prob) == "unfinished", text
    end = EndOfSpeech(SENSITIVITIES["default"], "en", 0)
    assert end.earliest_end(RATE // 2) == RATE // 2 + round(0.7 * RATE)  # (text not known yet)
    assert end.earliest_end(None) is None  # still speaking


def test_judge_bounds_every_utterance() -> None:
    end = EndOfSpeech(SENSITIVITIES["default"], "en", 3200)
    almost = int(NO_SPEECH_SECONDS * RATE) - 1
    assert end.judge(almost, almost, (), None, None) is None
    assert end.judge(almost + 1, almost + 1, (), None, None) == "no-speech"
    longest = int(MAX_SECONDS * RATE)
    speaking = ((0, longest),)  # still speaking at the end
    assert end.judge(longest - 1, longest - 1, speaking, None, None) is None
    assert end.judge(longest, longest, speaking, None, None) == "max-length"


# --- the server -----------------------------------------------------------------------------


def _args(test_models: Path, *extra: str) -> list[str]:
    return ["--uri", "tcp://127.0.0.1:0", "--mode", "stt", "--stt-model",
            str(test_models / "stt"), "--local-files-only", *extra]  # fmt: skip


@pytest.fixture
async def uri(test_models: Path) -> AsyncIterator[str]:
    async with serve_in_process(_args(test_models)) as (served, _):
        yield served


def _command(trailing: float, seconds: float = 1.5) -> bytes:
    """A complete command (to the test model) with ``trailing`` seconds of silence after it."""
    lead = np.zeros(int(0.3 * RATE), dtype=np.float32)
    tail = np.zeros(int(trailing * RATE), dtype=np.float32)
    return to_pcm16(np.concatenate([lead, speech_like(seconds, seed=7), tail]))


async def _read_soon(conn: AsyncClient, seconds: float) -> Event | None:
    try:
        return await asyncio.wait_for(conn.read_event(), seconds)
    except TimeoutError:
        return None


async def _stream(
    conn: AsyncClient, pcm: bytes, speed: float, transcribe: Transcribe | None = None
) -> tuple[Transcript | None, float]:
    """Send ``pcm`` paced ``speed`` x real time, reading as it goes, without AudioStop.

    Returns the Transcript that came while sending (or None) and the seconds of audio sent
    before it came.
    """
    await conn.write_event((transcribe or Transcribe(language="en")).event())
    await conn.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
    reading = asyncio.ensure_future(conn.read_event())
    sent = 0
    try:
        for offset in range(0, len(pcm), CHUNK * 2):
            if reading.done():
                break
            audio = pcm[offset : offset + CHUNK * 2]
            await conn.write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=audio).event())
            sent += len(audio) // 2
            await asyncio.sleep(0.02 / speed)
        await asyncio.wait({reading}, timeout=0.3)
    finally:
        if not reading.done():
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    if reading.cancelled():
        return None, sent / RATE
    event = reading.result()
    assert event is not None
    assert Transcript.is_type(event.type), event
    return Transcript.from_event(event), sent / RATE


async def test_info_says_the_server_ends_speech(test_models: Path) -> None:
    async with serve_in_process(_args(test_models)) as (uri, _):
        assert (await describe(uri)).asr[0].requires_external_vad is False
    async with serve_in_process(_args(test_models, "--no-end-of-speech")) as (uri, _):
        assert (await describe(uri)).asr[0].requires_external_vad is True


async def test_transcript_comes_before_audio_stop_and_only_once(
    uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    pcm = _command(trailing=1.5)
    async with client(uri) as conn:
        transcript, sent = await _stream(conn, pcm, speed=2)
        assert transcript is not None, "no transcript before AudioStop"
        assert transcript.text == "turn on the kitchen light"
        assert sent < len(pcm) / 2 / RATE  # while audio was still coming
        assert sent >= 0.3 + 1.5 + 0.7  # not before HA's 0.7 s of silence
        # What the client does next: more audio (dropped), then AudioStop: nothing more.
        for _ in range(10):
            chunk = AudioChunk(rate=RATE, width=2, channels=1, audio=bytes(CHUNK * 2))
            await conn.write_event(chunk.event())
        await conn.write_event(AudioStop().event())
        assert await _read_soon(conn, 0.5) is None
        # The next utterance on the same connection is answered too.
        again, _ = await _stream(conn, pcm, speed=4)
        assert again is not None
        assert again.text == transcript.text
    assert "end of speech (silence)" in caplog.text


async def test_old_client_reading_after_audio_stop_gets_one_transcript(uri: str) -> None:
    pcm = _command(trailing=1.0)
    async with client(uri) as conn:
        await conn.write_event(Transcribe(language="en").event())
        await conn.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        for offset in range(0, len(pcm), CHUNK * 2):
            audio = pcm[offset : offset + CHUNK * 2]
            await conn.write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=audio).event())
            await asyncio.sleep(0.01)
        await conn.write_event(AudioStop().event())
        first = await _read_soon(conn, 10)
        assert first is not None
        assert Transcript.is_type(first.type)
        assert await _read_soon(conn, 0.8) is None  # exactly one


async def test_new_utterance_without_audio_stop(uri: str) -> None:
    """HA core's wyoming STT closes after the Transcript; a client may also start anew."""
    pcm = _command(trailing=1.0)
    async with client(uri) as conn:
        first, _ = await _stream(conn, pcm, speed=3)
        assert first is not None
        second, _ = await _stream(conn, pcm, speed=3)  # Transcribe + AudioStart, no AudioStop
        assert second is not None
        assert second.text == first.text
    async with client(uri) as conn:  # and one that just closes after the answer
        assert (await _stream(conn, pcm, speed=3))[0] is not None


async def test_no_speech_ends_with_an_empty_transcript(
    uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    silence = to_pcm16(np.zeros(int((NO_SPEECH_SECONDS + 2) * RATE), dtype=np.float32))
    async with client(uri) as conn:
        transcript, sent = await _stream(conn, silence, speed=10)
    assert transcript is not None
    assert transcript.text == ""
    assert NO_SPEECH_SECONDS <= sent < NO_SPEECH_SECONDS + 1
    assert "end of speech (no-speech)" in caplog.text


async def test_maximum_length_ends_the_utterance(
    uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    endless = to_pcm16(speech_like(MAX_SECONDS + 3, seed=8))
    async with client(uri) as conn:
        transcript, sent = await _stream(conn, endless, speed=20)
    assert transcript is not None  # no AudioStop was sent: the server ended it
    assert transcript.text == "turn on the kitchen light"
    assert sent >= MAX_SECONDS
    # What was transcribed is the first MAX_SECONDS, whenever the answer arrived (at 20x real
    # time a busy machine's 130 ms is 2.6 s more audio sent).
    assert f"stt {MAX_SECONDS:.2f} s audio" in caplog.text
    assert "end of speech (max-length)" in caplog.text


async def _sent_before_the_answer(uri: str, pcm: bytes, sensitivity: str | None) -> float | None:
    """Seconds of ``pcm`` sent (real time) before the Transcript came; None: it never came."""
    async with client(uri) as conn:
        transcript, sent = await _stream(
            conn, pcm, speed=1, transcribe=Transcribe(language="en", vad_sensitivity=sensitivity)
        )
    return None if transcript is None else sent


async def test_each_sensitivity_waits_home_assistants_silence(uri: str) -> None:
    """1.0 s of silence ends a command by default (0.7 s), not when relaxed (1.25 s).

    An aggressive client (0.25 s) gets it sooner than the default.
    """
    pcm = _command(trailing=1.0)
    speech_end = 0.3 + 1.5
    default = await _sent_before_the_answer(uri, pcm, None)
    aggressive = await _sent_before_the_answer(uri, pcm, "aggressive")
    relaxed = await _sent_before_the_answer(uri, pcm, "relaxed")
    assert default is not None
    assert default >= speech_end + 0.7
    assert aggressive is not None
    assert speech_end + 0.25 <= aggressive < default - 0.2
    assert relaxed is None


def _soft_start(seconds: float) -> np.ndarray:
    """Speech that swells from -46 dB over ``seconds`` (Silero hears it about 0.2 s late)."""
    if not seconds:
        return np.zeros(0, dtype=np.float32)
    return speech_like(seconds, seed=5) * np.geomspace(0.005, 1.0, int(seconds * RATE))


@pytest.mark.parametrize(("pause", "soft"), [(0.6, 0.0), (0.62, 0.25)], ids=["plain", "soft-start"])
async def test_a_pause_after_a_complete_command_is_not_its_end(
    uri: str, pause: float, soft: float
) -> None:
    """A 0.6 s pause after what reads as a complete command does not end it by default.

    Nor does a 0.62 s one before a word that starts softly: Silero's silence would read
    0.81 s there (its end late, the word heard late), the sound's is 0.67 s.
    (The test model hears every piece of speech as "turn on the kitchen light".)
    """
    lead, gap, tail = (np.zeros(int(s * RATE), dtype=np.float32) for s in (0.3, pause, 1.5))
    pcm = to_pcm16(np.concatenate([lead, speech_like(1.0, seed=3), gap, _soft_start(soft),
                                   speech_like(1.0, seed=4), tail]))  # fmt: skip
    sent = await _sent_before_the_answer(uri, pcm, "default")
    assert sent is not None
    assert sent >= 0.3 + 1.0 + pause + soft + 1.0 + 0.7, "answered at the pause"


async def test_flag_off_answers_at_audio_stop_only(test_models: Path) -> None:
    async with (
        serve_in_process(_args(test_models, "--no-end-of-speech")) as (uri, _),
        client(uri) as conn,
    ):
        transcript, _ = await _stream(conn, _command(trailing=1.5), speed=3)
        assert transcript is None
        await conn.write_event(AudioStop().event())
        answer = await _read_soon(conn, 10)
        assert answer is not None
        assert Transcript.is_type(answer.type)


@pytest.mark.real_models
async def test_real_model_paused_commands_are_not_cut(real_models: Path) -> None:
    """Commands with a pause inside, at real-time pace: the same transcript as at AudioStop.

    With end of speech the server answers once Home Assistant's own silence (0.7 s by default)
    has passed; a pause shorter than that inside a command is never its end, whether the words
    before it read unfinished ("turn on the ... hallway lights") or complete. Each paused
    command is transcribed with end of speech and again without (answered at AudioStop, after
    the whole command): every transcript must be the same.
    """
    # The CI sample (pauses where the words read unfinished) and the development half's 8
    # longest pauses after words that are a command themselves ("turn on the lights ... in
    # the office"), the case a complete-looking transcript used to cut.
    afterthoughts = [c for c in corpus(split="dev", paused=True) if c.kind == "afterthought"]
    afterthoughts.sort(key=lambda c: -(c.pause or 0))
    played: list[Clip] = [*paused_clips(), *afterthoughts[:8]]
    texts: dict[str, list[str]] = {}
    # Without end of speech the answer waits for AudioStop: that pass needs no pace.
    for flag, realtime in (("--end-of-speech", True), ("--no-end-of-speech", False)):
        args = ["--uri", "tcp://127.0.0.1:0", "--mode", "stt", "--stt-model",
                str(real_models / "stt"), "--local-files-only", "--language", "en",
                "--compute-type", "int8", flag]  # fmt: skip
        async with serve_in_process(args) as (uri, _):
            for clip in played:
                result = await satellite.stream_to_server(uri, clip.pcm(), realtime=realtime)
                assert result.ok, result.error
                assert result.transcript is not None
                texts.setdefault(clip.id, []).append(result.transcript)
    rates = [[wer(clip.text, texts[clip.id][i]) for clip in played] for i in range(2)]
    early, at_stop = (sum(r) / len(r) for r in rates)
    record(
        "WER on commands with a pause inside (real model, int8)",
        f"end of speech {early:.3f}, at AudioStop {at_stop:.3f}",
    )
    cut = {name: pair for name, pair in texts.items() if pair[0] != pair[1]}
    assert not cut, cut
