"""Speech in, transcript, answer, speech out: round trips a satellite makes to the server."""

from __future__ import annotations

import asyncio

import pytest

from corpus import Clip, clips
from tests import satellite
from tests.support.server import ServerProcess

from .audio_checks import Pcm, assert_speech_audio
from .latency import ROUND_TRIP

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(60)]

# The generated Whisper model hears any speech as this; a real model hears the clip's text.
TEST_MODEL_TRANSCRIPT = "turn on the kitchen light"


def clip(clip_id: str) -> Clip:
    return next(c for c in clips() if c.id == clip_id)


def spoken(answer: satellite.SpokenAnswer) -> Pcm:
    return Pcm(answer.audio, answer.rate, answer.width, answer.channels)


async def test_single_round_trip_in_real_time(roundtrip_server: ServerProcess) -> None:
    """A clip streamed at the pace it was spoken comes back as its transcript and an answer."""
    kitchen = clip("turn_on_kitchen_light")
    # A satellite streams on until it is answered: 1 s more silence than the clip has, so
    # every end-of-speech rule (at most 1.2 s by default) ends the command before the audio does.
    pcm = kitchen.pcm() + bytes(2 * satellite.RATE)
    trip = await satellite.round_trip(roundtrip_server.uri, pcm, realtime=True)

    assert trip.ok, trip.error
    assert trip.stt.transcript is not None
    assert trip.stt.transcript.strip().lower().rstrip(".") == kitchen.text
    # Paced like a microphone: the server ended the command in its trailing silence, before
    # AudioStop, and not before the speech was over.
    assert trip.stt.early
    speech_ms = (trip.stt.audio_seconds - kitchen.trailing_silence - 1.0) * 1000
    assert trip.stt.total_ms >= speech_ms
    assert trip.answer_text == f"You said: {trip.stt.transcript.strip()}."
    assert trip.tts is not None
    assert (trip.tts.rate, trip.tts.width, trip.tts.channels) == (22050, 2, 1)
    assert_speech_audio(spoken(trip.tts), min_seconds=0.5, max_seconds=15)
    assert set(trip.timings_ms) >= {"stt", "tts_first_audio", "tts_total", "response", "total"}
    # The answer's first audio follows recognition; it cannot come before the transcript.
    assert trip.timings_ms["response"] >= trip.timings_ms["stt"]
    ROUND_TRIP.add("realtime response (stop->audio)", trip.timings_ms["response"])


async def test_latency_per_stage_over_the_corpus(roundtrip_server: ServerProcess) -> None:
    """Every corpus clip makes a full round trip; stage latencies stay within loose bounds.

    The numbers themselves are printed at the end of the run (p50/p95 per stage).
    """
    trips = []
    for entry in clips():
        trip = await satellite.round_trip(roundtrip_server.uri, entry.pcm())
        assert trip.ok, f"{entry.id}: {trip.error}"
        ROUND_TRIP.add_all(trip.timings_ms)
        trips.append(trip)

    # Sanity only: the machine is shared and small. Recognition of a <= 5 s clip and the
    # first audio of a one-sentence answer each well under 10 s.
    assert ROUND_TRIP.percentile("stt", 95) < 10_000
    assert ROUND_TRIP.percentile("tts_first_audio", 95) < 10_000
    assert all(t.timings_ms["response"] < 20_000 for t in trips)


async def test_three_concurrent_round_trips_do_not_cross_talk(
    roundtrip_server: ServerProcess,
) -> None:
    """Three satellites at once each get the answer to their own audio.

    The test model hears every speech clip the same way, so the streams are told apart by
    what can only come from their own audio and request: one satellite sends silence (its
    transcript must stay empty, so no other stream's speech leaked into it), and the two
    speaking satellites get answers of different lengths whose audio must match, byte for
    byte, what the same request gives when run alone.
    """
    uri = roundtrip_server.uri
    speech_a = clip("turn_on_kitchen_light").pcm()
    speech_b = clip("weather_kansas").pcm()
    silence = bytes(len(speech_a))

    def short(transcript: str) -> str:
        return f"OK: {transcript}."

    def long(transcript: str) -> str:
        return f"I heard you say {transcript}, and I will get right on it, as soon as I can."

    trip_a, trip_b, trip_silent = await asyncio.gather(
        satellite.round_trip(uri, speech_a, answer=short),
        satellite.round_trip(
            uri, speech_b, answer=long, voice="en_US-testmulti-medium", speaker="bob"
        ),
        satellite.round_trip(uri, silence),
    )

    assert trip_a.ok, trip_a.error
    assert trip_b.ok, trip_b.error
    assert trip_silent.stt.ok, trip_silent.stt.error
    assert trip_silent.stt.transcript == ""
    assert trip_silent.tts is None
    assert trip_silent.error == "speech-to-text recognized no text"

    # Run alone, the same requests give the same audio (the test voice is deterministic).
    assert trip_a.stt.transcript == trip_b.stt.transcript == TEST_MODEL_TRANSCRIPT
    alone_a = await satellite.synthesize(uri, short(TEST_MODEL_TRANSCRIPT))
    alone_b = await satellite.synthesize(
        uri, long(TEST_MODEL_TRANSCRIPT), voice="en_US-testmulti-medium", speaker="bob"
    )
    assert trip_a.tts is not None
    assert trip_b.tts is not None
    assert trip_b.tts.seconds > trip_a.tts.seconds
    assert trip_a.tts.audio == alone_a.audio
    assert trip_b.tts.audio == alone_b.audio
