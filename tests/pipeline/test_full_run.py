"""A satellite's audio through a whole Assist pipeline: our STT, the agent, our TTS."""

from __future__ import annotations

import io

import av
import pytest
from homeassistant.components.assist_pipeline import PipelineEventType as Ev

from corpus import clips
from tests import satellite
from tests.roundtrip.audio_checks import assert_speech_audio, decode_wav
from tests.roundtrip.latency import PIPELINE
from tests.support.server import ServerProcess

from .agents import Parrot, add_agents
from .conftest import Voice
from .runner import FULL_RUN, answer_of, run_pipeline

pytestmark = pytest.mark.timeout(60)


async def test_full_event_sequence_and_spoken_answer(voice: Voice) -> None:
    """run-start ... run-end in order, a transcript, an answer, and well-formed WAV audio.

    The clip is streamed at the pace it was spoken, as live audio. The server ends the
    command itself (its Info asks for no external VAD), so Home Assistant runs no VAD: no
    stt-vad-start/end events.
    """
    kitchen = next(c for c in clips() if c.id == "turn_on_kitchen_light")
    run = await run_pipeline(
        voice.hass, kitchen.pcm(), pipeline_id=voice.pipeline_id, realtime=True
    )

    assert run.error is None
    assert run.types == FULL_RUN
    assert not [e for e in run.events if e.type in (Ev.STT_VAD_START, Ev.STT_VAD_END)]
    assert run.data(Ev.STT_START)["engine"] == voice.stt_entity_id
    assert run.transcript.strip().lower().rstrip(".") == kitchen.text
    assert run.data(Ev.INTENT_START)["intent_input"] == run.transcript
    assert run.speech  # the default agent answers (here: it knows no kitchen light)
    assert run.data(Ev.TTS_START)["engine"] == voice.tts_entity_id
    assert run.data(Ev.TTS_START)["tts_input"] == run.speech

    extension, answer = answer_of(run)
    assert extension == "wav"
    assert (answer.rate, answer.width, answer.channels) == (22050, 2, 1)
    # The test voice: roughly 0.02-0.5 s per character of the answer.
    assert_speech_audio(
        answer, min_seconds=0.02 * len(run.speech), max_seconds=0.5 * len(run.speech) + 1
    )
    PIPELINE.add("realtime: audio end -> stt-end", run.ms_after_audio(Ev.STT_END))
    assert run.audio_done_at is not None
    assert run.answer_audio_at is not None
    PIPELINE.add(
        "realtime: audio end -> answer audio", (run.answer_audio_at - run.audio_done_at) * 1000
    )


async def test_every_corpus_clip_through_the_pipeline(voice: Voice) -> None:
    """Each clip runs the whole pipeline and is answered with audio; timings per stage.

    The agent numbers its answers so each is synthesized anew (not taken from HA's cache).
    """
    parrot = Parrot("Parrot", numbered=True)
    await add_agents(voice.hass, parrot)
    pipeline_id = await voice.add_pipeline("Corpus", conversation_engine=parrot.entity_id)
    for entry in clips():
        run = await run_pipeline(voice.hass, entry.pcm(), pipeline_id=pipeline_id)
        assert run.error is None, f"{entry.id}: {run.error}"
        assert run.types == FULL_RUN, entry.id
        _, answer = answer_of(run)
        assert_speech_audio(answer, min_seconds=0.1, max_seconds=0.5 * len(run.speech) + 1)
        assert run.audio_done_at is not None
        assert run.answer_audio_at is not None
        PIPELINE.add("stt (audio end -> stt-end)", run.ms_after_audio(Ev.STT_END))
        PIPELINE.add("intent (intent-start -> end)", run.ms_between(Ev.INTENT_START, Ev.INTENT_END))
        PIPELINE.add(
            "tts (tts-start -> 1st audio)", (run.answer_audio_at - run.at(Ev.TTS_START)) * 1000
        )
        PIPELINE.add("audio end -> answer audio", (run.answer_audio_at - run.audio_done_at) * 1000)
    assert PIPELINE.percentile("stt (audio end -> stt-end)", 95) < 10_000
    assert PIPELINE.percentile("audio end -> answer audio", 95) < 20_000


def decoded_seconds(data: bytes) -> float:
    """Duration of compressed audio, by decoding every frame (piped MP3 has no length tag)."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        samples: int = sum(frame.samples for frame in container.decode(stream))
        rate: int = stream.rate
    return samples / rate


@pytest.mark.parametrize("output", ["wav", "mp3"])
async def test_answer_in_the_format_a_satellite_asks_for(
    voice: Voice, pipeline_server: ServerProcess, output: str
) -> None:
    """'wav' is converted to 16 kHz mono by Home Assistant, 'mp3' is its default format.

    Either way the answer lasts as long as the server's own audio for the same text.
    """
    parrot = Parrot(f"Parrot {output}", numbered=True)
    await add_agents(voice.hass, parrot)
    pipeline_id = await voice.add_pipeline(output, conversation_engine=parrot.entity_id)
    run = await run_pipeline(
        voice.hass, clips()[0].pcm(), pipeline_id=pipeline_id, tts_audio_output=output
    )
    assert run.error is None, run.error
    assert run.types == FULL_RUN
    assert run.answer_data is not None
    extension, data = run.answer_data
    assert extension == output
    direct = await satellite.synthesize(pipeline_server.uri, run.speech)
    assert direct.ok, direct.error
    if output == "wav":
        answer = decode_wav(data)
        assert (answer.rate, answer.width, answer.channels) == (16000, 2, 1)
        seconds = answer.seconds
        assert_speech_audio(answer, min_seconds=0.1, max_seconds=60)
    else:
        seconds = decoded_seconds(data)
    assert seconds == pytest.approx(direct.seconds, rel=0.1, abs=0.1)
