"""Several satellites at once: every pipeline run gets its own transcript and its own audio."""

from __future__ import annotations

import asyncio

import pytest
from homeassistant.components.assist_pipeline import PipelineEventType as Ev

from corpus import clips
from tests import satellite
from tests.roundtrip.latency import PIPELINE
from tests.support.server import ServerProcess

from .agents import Parrot, add_agents
from .conftest import Voice
from .runner import FULL_RUN, answer_of, run_pipeline

pytestmark = pytest.mark.timeout(60)


async def test_four_runs_at_once_without_cross_talk(
    voice: Voice, pipeline_server: ServerProcess
) -> None:
    """Three speaking satellites and a silent one, all at the same time.

    Each speaking run has its own agent (its answer names the agent) and its own voice; its
    audio must be byte for byte what the server says for that answer in that voice alone.
    The silent run must find no text: speech of the other runs did not leak into it.
    """
    hass = voice.hass
    parrots = [Parrot("Polly"), Parrot("Captain Flint"), Parrot("Long John Silver's parrot")]
    await add_agents(hass, *parrots)
    voices = [None, "en_US-testmulti-medium#bob", "en_US-testmulti-medium#alice"]
    pipelines = [
        await voice.add_pipeline(
            f"Satellite {i}", conversation_engine=parrot.entity_id, tts_voice=tts_voice
        )
        for i, (parrot, tts_voice) in enumerate(zip(parrots, voices, strict=True))
    ]
    speech = [c.pcm() for c in clips()[:3]]
    silence = bytes(16000 * 2)

    runs = await asyncio.gather(
        *(
            run_pipeline(hass, pcm, pipeline_id=pipeline_id)
            for pcm, pipeline_id in zip(speech, pipelines, strict=True)
        ),
        run_pipeline(hass, silence, pipeline_id=voice.pipeline_id),
    )
    *speaking, silent = runs

    assert silent.error is not None
    assert silent.error["code"] == "stt-no-text-recognized"
    assert "tts-start" not in silent.types

    for run, parrot, tts_voice in zip(speaking, parrots, voices, strict=True):
        assert run.error is None, run.error
        assert run.types == FULL_RUN
        assert run.speech == f"{parrot.name} heard: {run.transcript}"
        _, answer = answer_of(run)
        name, _, speaker = (tts_voice or "").partition("#")
        alone = await satellite.synthesize(
            pipeline_server.uri, run.speech, voice=name or None, speaker=speaker or None
        )
        assert alone.ok, alone.error
        assert answer.audio == alone.audio, f"{parrot.name}: audio is not its own answer"
        PIPELINE.add("stt, 4 runs at once", run.ms_between(Ev.STT_START, Ev.STT_END))
