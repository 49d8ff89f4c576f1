"""A conversation agent that streams a long answer: speech starts before the agent is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from homeassistant.components import conversation, tts
from homeassistant.components.assist_pipeline import PipelineEvent
from homeassistant.components.assist_pipeline import PipelineEventType as Ev
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.core import HomeAssistant

from corpus import clips
from tests import satellite
from tests.roundtrip.audio_checks import assert_speech_audio, decode_wav
from tests.roundtrip.latency import PIPELINE
from tests.support.server import ServerProcess

from .conftest import Voice
from .runner import run_pipeline

pytestmark = pytest.mark.timeout(60)

SENTENCES = [
    "Once upon a time, in a small house at the edge of the forest, there lived a curious cat.",
    "Every morning she watched the birds from the kitchen window.",
    "One day, a little sparrow landed right on the windowsill.",
    "And that is how their friendship began.",
]
WAIT_FOR_AUDIO = 15.0
FIRST_AUDIO_BYTES = 44 + 2 * 22050 // 10
"""A WAV header and 0.1 s of 22.05 kHz 16-bit mono audio: the first sentence is being heard."""


class Storyteller(conversation.ConversationEntity):
    """Streams a story word by word; after two sentences it waits until speech is heard."""

    _attr_name = "Storyteller"
    _attr_supports_streaming = True

    def __init__(self, first_audio: asyncio.Event) -> None:
        self.first_audio = first_audio
        self.heard_before_finishing: bool | None = None
        self.finished_at: float | None = None

    @property
    def supported_languages(self) -> Literal["*"]:
        """Any language."""
        return "*"

    async def _deltas(self) -> AsyncIterator[conversation.AssistantContentDeltaDict]:
        yield {"role": "assistant"}
        for index, sentence in enumerate(SENTENCES):
            for word in sentence.split(" "):
                yield {"content": f"{word} "}
                await asyncio.sleep(0.005)
            if index == 1:
                # Sentence one is complete (sentence two followed it): its audio should come
                # while this agent is still talking.
                try:
                    async with asyncio.timeout(WAIT_FOR_AUDIO):
                        await self.first_audio.wait()
                except TimeoutError:
                    pass
                self.heard_before_finishing = self.first_audio.is_set()

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, self._deltas()
        ):
            pass
        self.finished_at = time.perf_counter()
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


class ListeningSatellite:
    """Starts reading the answer's audio stream as soon as the run starts, like a satellite."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.first_audio = asyncio.Event()
        self.first_audio_at: float | None = None
        self.audio = b""
        self.task: asyncio.Task[None] | None = None

    def on_event(self, event: PipelineEvent) -> None:
        if event.type == Ev.RUN_START:
            token = (event.data or {})["tts_output"]["token"]
            self.task = self.hass.async_create_task(self._listen(token))

    async def _listen(self, token: str) -> None:
        stream = tts.async_get_stream(self.hass, token)
        assert stream is not None
        async for chunk in stream.async_stream_result():
            self.audio += chunk
            if not self.first_audio.is_set() and len(self.audio) >= FIRST_AUDIO_BYTES:
                self.first_audio_at = time.perf_counter()
                self.first_audio.set()


async def test_streamed_answer_is_spoken_while_the_agent_talks(
    voice: Voice, pipeline_server: ServerProcess
) -> None:
    """The pipeline takes the streaming TTS path; sentence one is audible before the agent ends."""
    hass = voice.hass
    listener = ListeningSatellite(hass)
    agent = Storyteller(listener.first_audio)
    await hass.data[DATA_COMPONENT].async_add_entities([agent])
    pipeline_id = await voice.add_pipeline("Stories", conversation_engine=agent.entity_id)

    kitchen = clips()[0].pcm()
    run = await run_pipeline(hass, kitchen, pipeline_id=pipeline_id, on_event=listener.on_event)
    assert listener.task is not None
    await asyncio.wait_for(listener.task, 30)

    assert run.error is None, run.error
    assert run.data(Ev.RUN_START)["tts_output"]["stream_response"] is True
    progress = [e.data or {} for e in run.events if e.type == Ev.INTENT_PROGRESS]
    assert {"tts_start_streaming": True} in progress
    assert agent.heard_before_finishing is True, "no audio while the agent was still talking"
    assert listener.first_audio_at is not None
    assert agent.finished_at is not None
    assert listener.first_audio_at < agent.finished_at
    assert run.speech.strip() == " ".join(SENTENCES)

    # All of the story was spoken, not just its first sentence.
    streamed = decode_wav(listener.audio)
    one_shot = await satellite.synthesize(pipeline_server.uri, " ".join(SENTENCES))
    assert one_shot.ok, one_shot.error
    assert_speech_audio(
        streamed, min_seconds=0.75 * one_shot.seconds, max_seconds=1.25 * one_shot.seconds + 1
    )
    PIPELINE.add(
        "streaming tts first audio",
        (listener.first_audio_at - run.at(Ev.INTENT_START)) * 1000,
    )
