"""The server in this process, with faults injected: slow engines must not stall the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk
from wyoming.info import Describe
from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

from chatterbox_server.context import ServerContext
from chatterbox_server.stt import SttEngine
from chatterbox_server.tts import TtsEngine
from tests.support.audio import to_pcm16
from tests.support.server import serve_in_process
from tests.support.wyoming_client import (
    client,
    read_until,
    synthesize,
    timed_describe,
    transcribe,
)

from .conftest import record

pytestmark = pytest.mark.usefixtures("socket_enabled")

SLOW = 1.5  # seconds each injected slow model call takes


@pytest.fixture
async def in_process(test_models: Path) -> AsyncIterator[tuple[str, ServerContext]]:
    args = [
        "--uri", "tcp://127.0.0.1:0",
        "--stt-model", str(test_models / "stt"),
        "--tts-voice", str(test_models / "tts" / "en_US-test-medium.onnx"),
        "--data-dir", str(test_models / "tts"),
        "--local-files-only",
    ]  # fmt: skip
    async with serve_in_process(args) as served:
        yield served


async def test_slow_models_do_not_block_describe(
    in_process: tuple[str, ServerContext],
    speech,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    uri, _ = in_process
    real_transcribe, real_pieces = SttEngine._transcribe, TtsEngine._pieces

    def slow_transcribe(self: SttEngine, *args: object) -> object:
        time.sleep(SLOW)  # a fault: a model that takes its time, holding its worker thread
        return real_transcribe(self, *args)  # type: ignore[arg-type]

    def slow_pieces(self: TtsEngine, *args: object) -> Iterator[bytes]:
        time.sleep(SLOW)  # runs on the worker thread, inside the first piece's call
        yield from real_pieces(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SttEngine, "_transcribe", slow_transcribe)
    monkeypatch.setattr(TtsEngine, "_pieces", slow_pieces)

    started = time.perf_counter()
    work = [
        asyncio.create_task(transcribe(uri, to_pcm16(speech))),
        asyncio.create_task(transcribe(uri, to_pcm16(speech))),
        asyncio.create_task(synthesize(uri, "One sentence.")),
        asyncio.create_task(synthesize(uri, "Another sentence.")),
    ]
    await asyncio.sleep(0.3)  # the slow calls are running now
    describe_ms = []
    while not all(task.done() for task in work):
        describe_ms.append((await timed_describe(uri))[1])
        await asyncio.sleep(0.05)
    transcripts = [work[0].result(), work[1].result()]
    elapsed = time.perf_counter() - started

    assert [t.text for t in transcripts] == ["turn on the kitchen light"] * 2
    assert work[2].result().audio
    assert work[3].result().audio
    # Two STT and two TTS workers: all four ran at once, not one after another.
    assert elapsed < 3 * SLOW
    assert len(describe_ms) >= 5
    record(
        f"Describe ms while 4 requests sit in {SLOW} s model calls (in-process)",
        f"max {max(describe_ms):.1f} over {len(describe_ms)}",
    )
    assert max(describe_ms) < 50 * 4  # loose; on the loop it would be >= 1500


async def test_a_stream_reads_on_once_its_first_audio_is_sent(
    in_process: tuple[str, ServerContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the first piece is synthesized, the connection's next events wait unread."""
    uri, _ = in_process
    real_pieces = TtsEngine._pieces
    release = threading.Event()

    def held_pieces(self: TtsEngine, *args: object) -> Iterator[bytes]:
        release.wait(10)  # a fault: a model that takes until the test lets it go
        yield from real_pieces(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(TtsEngine, "_pieces", held_pieces)
    try:
        async with client(uri) as conn:
            await conn.write_event(SynthesizeStart().event())
            await conn.write_event(SynthesizeChunk(text="Turn on the light. Then").event())
            await conn.write_event(Describe().event())
            with pytest.raises(TimeoutError):  # Describe is not even read yet
                await asyncio.wait_for(conn.read_event(), 0.5)
            release.set()
            events = await read_until(conn, "info")
            assert AudioChunk.is_type(events[-2].type)  # the first piece's audio came first
            await conn.write_event(SynthesizeChunk(text=" switch off the fan.").event())
            await conn.write_event(SynthesizeStop().event())
            rest = await read_until(conn, "synthesize-stopped")
    finally:
        release.set()
    assert any(AudioChunk.is_type(e.type) for e in rest)  # the second sentence was spoken


async def test_only_text_before_the_first_audio_is_made_in_chunks(
    in_process: tuple[str, ServerContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks buy first audio; a sentence spoken while audio plays is made in one piece."""
    real_speak = TtsEngine.speak
    asked: list[tuple[str, object]] = []

    def spy(self: TtsEngine, voice: object, text: str, *args: object, **kwargs: object) -> object:
        asked.append((text, kwargs.get("chunked")))
        return real_speak(self, voice, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TtsEngine, "speak", spy)
    uri, _ = in_process
    result = await synthesize(uri, "The kitchen light is on. The fan is off. Good night.")
    assert result.audio
    assert asked == [
        ("The kitchen light is on.", True),
        ("The fan is off.", False),
        ("Good night.", False),
    ]
