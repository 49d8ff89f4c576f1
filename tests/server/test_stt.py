"""Speech to text over Wyoming: formats, silence, empty audio, names and terms, the cap."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioStart, AudioStop

from tests.support.audio import resample, silence_pcm16, speech_like, stereo, to_pcm16
from tests.support.server import ServerProcess
from tests.support.wyoming_client import (
    audio_chunks,
    client,
    read_until,
    timed_transcribe,
    transcribe,
)

from .conftest import record

pytestmark = pytest.mark.usefixtures("socket_enabled")

EXPECTED = "turn on the kitchen light"  # what the test model hears in any speech


async def test_round_trip_16k(server: ServerProcess, speech: np.ndarray) -> None:
    await transcribe(server.uri, to_pcm16(speech))  # warm-up
    transcript, ms = await timed_transcribe(server.uri, to_pcm16(speech))
    record("STT ms for a 3 s clip (16 kHz, test model)", f"{ms:.0f}")
    assert transcript.text == EXPECTED
    assert transcript.language == "en"


async def test_round_trip_44k_stereo(server: ServerProcess, speech: np.ndarray) -> None:
    audio = stereo(resample(speech, 16000, 44100))
    transcript = await transcribe(server.uri, to_pcm16(audio), rate=44100, width=2, channels=2)
    assert transcript.text == EXPECTED


async def test_8bit_and_32bit_input(server: ServerProcess, speech: np.ndarray) -> None:
    pcm8 = ((speech * 127).astype(np.int16) + 128).astype(np.uint8).tobytes()
    assert (await transcribe(server.uri, pcm8, rate=16000, width=1)).text == EXPECTED
    pcm32 = (speech.astype(np.float64) * (2**31 - 1)).astype("<i4").tobytes()
    assert (await transcribe(server.uri, pcm32, rate=16000, width=4)).text == EXPECTED


async def test_silence_gives_empty_transcript(server: ServerProcess) -> None:
    # Without the VAD the test model would say EXPECTED for anything (see test_modes).
    assert (await transcribe(server.uri, silence_pcm16(3.0))).text == ""
    noise = np.random.default_rng(1).normal(0, 0.001, 48000)
    assert (await transcribe(server.uri, to_pcm16(noise))).text == ""


async def test_audio_stop_without_audio(server: ServerProcess) -> None:
    assert (await transcribe(server.uri, b"")).text == ""  # Transcribe, AudioStart, AudioStop
    async with client(server.uri) as conn:  # Transcribe, AudioStop: no AudioStart at all
        await conn.write_event(Transcribe(language="en").event())
        await conn.write_event(AudioStop().event())
        events = await read_until(conn, "transcript")
        assert Transcript.from_event(events[-1]).text == ""


async def test_names_and_terms_are_accepted(server: ServerProcess, speech: np.ndarray) -> None:
    pcm = to_pcm16(speech)
    transcript = await transcribe(
        server.uri, pcm, names=["Kitchen Light", "Living Room"], terms=["thermostat", "dim"]
    )
    assert transcript.text == EXPECTED
    # Far more names than Whisper's prompt holds: bounded, not an error.
    many = [f"Lamp number {i} in the hallway" for i in range(3000)]
    transcript = await transcribe(server.uri, pcm, names=many, terms=many[:50], language="en-US")
    assert transcript.text == EXPECTED
    server.wait_for_log("names/terms 3000/50")


async def test_consecutive_requests_on_one_connection(
    server: ServerProcess, speech: np.ndarray
) -> None:
    pcm = to_pcm16(speech)
    async with client(server.uri) as conn:
        for _ in range(2):
            await conn.write_event(Transcribe().event())
            await conn.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            for chunk in audio_chunks(pcm, 16000, 2, 1, chunk_ms=100):
                await conn.write_event(chunk.event())
            await conn.write_event(AudioStop().event())
            events = await read_until(conn, "transcript")
            assert Transcript.from_event(events[-1]).text == EXPECTED


async def test_utterance_cap_keeps_what_fits(
    start_server: Callable[..., ServerProcess],
) -> None:
    """The client ends the utterance (end of speech off): 30 s are kept, the rest dropped."""
    server = start_server("--no-end-of-speech")
    audio = speech_like(34.0, seed=2)
    transcript = await transcribe(server.uri, to_pcm16(audio), chunk_ms=500)
    assert transcript.text  # the first 30 s were transcribed
    server.wait_for_log(r"stt 30\.00 s audio \(.*4\.00 s over the cap dropped\)")
    assert "utterance reached 30 s" in server.log()
