"""Text to speech over Wyoming: one-shot and streaming, voices, speakers, sentence pacing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeVoice

from tests.support.server import ServerProcess
from tests.support.wyoming_client import (
    ServerError,
    client,
    read_until,
    synthesize,
    synthesize_streaming,
)

from .conftest import record

pytestmark = pytest.mark.usefixtures("socket_enabled")

TEXT = (
    "Hello there. The kitchen light is on, and it is 21.5 degrees. "
    "Dr. Smith arrives at 10:30 p.m. tonight! Anything else?"
)


async def test_one_shot(server: ServerProcess) -> None:
    await synthesize(server.uri, "Warm up.")
    start, chunks, timings = await synthesize(server.uri, TEXT)
    assert start is not None
    assert (start.rate, start.width, start.channels) == (22050, 2, 1)
    assert chunks
    assert all(chunk.rate == 22050 and len(chunk.audio) % 2 == 0 for chunk in chunks)
    seconds = sum(chunk.seconds for chunk in chunks)
    assert seconds > 2
    assert timings.first_chunk_ms is not None
    assert timings.first_chunk_ms <= timings.total_ms
    record(
        "TTS first-chunk ms (one-shot, 4 sentences, test voice)", f"{timings.first_chunk_ms:.1f}"
    )
    # Spoken sentence by sentence: 21.5, Dr. and p.m. did not split sentences.
    server.wait_for_log(rf"tts {len(TEXT)} chars, 4 sentences")


async def test_first_chunk_leaves_before_later_sentences_are_done(server: ServerProcess) -> None:
    text = " ".join(f"This is sentence number {i} of a long answer." for i in range(40))
    result = await synthesize(server.uri, text)
    assert result.timings.first_chunk_ms is not None
    record(
        "TTS first-chunk ms vs total ms (40 sentences)",
        f"{result.timings.first_chunk_ms:.1f} / {result.timings.total_ms:.1f}",
    )
    assert result.timings.first_chunk_ms < result.timings.total_ms / 4
    server.wait_for_log(rf"tts {len(text)} chars, 40 sentences")


LONG_FIRST = "Sure, I turned on every light in the house and the heating is at twenty-one degrees."
PIECES = (
    "Sure, I turned on every light in the house,",
    "and the heating is at twenty-one degrees.",
)


async def test_long_first_sentence_is_spoken_in_two_pieces(server: ServerProcess) -> None:
    """The test voice speaks en-us: the cut is before "and", the first piece ends in a comma."""
    first = await synthesize(server.uri, PIECES[0])
    rest = await synthesize(server.uri, PIECES[1])
    whole = await synthesize(server.uri, LONG_FIRST)
    assert whole.audio == first.audio + rest.audio
    server.wait_for_log(rf"tts {len(LONG_FIRST)} chars, 2 sentences")
    words = [f"{word} " for word in LONG_FIRST.split(" ")]
    streamed = await synthesize_streaming(server.uri, words)
    assert streamed.audio == whole.audio
    framing = [event for event in streamed.events if event != "audio-chunk"]
    assert framing == ["audio-start", "audio-stop", "synthesize-stopped"]


async def test_sentence_silence_follows_sentences_not_the_first_piece(
    server: ServerProcess, start_server: Callable[..., ServerProcess]
) -> None:
    """--sentence-silence (0.2 s by default) comes once, at the end, not after the first piece."""
    quiet = start_server("--sentence-silence", "0")
    pieces = [await synthesize(quiet.uri, piece) for piece in PIECES]
    whole = await synthesize(server.uri, LONG_FIRST)
    silence = bytes(2 * int(22050 * 0.2))
    assert whole.audio == pieces[0].audio + pieces[1].audio + silence
    assert [e for e in whole.events if e != "audio-chunk"] == ["audio-start", "audio-stop"]


async def test_empty_text_gives_start_and_stop(server: ServerProcess) -> None:
    result = await synthesize(server.uri, "   ")
    assert result.start is not None
    assert result.chunks == []
    assert result.events == ["audio-start", "audio-stop"]


async def test_voice_and_speaker_by_name_or_id(server: ServerProcess) -> None:
    alice = await synthesize(
        server.uri, "Good morning.", voice="en_US-testmulti-medium", speaker="alice"
    )
    bob = await synthesize(
        server.uri, "Good morning.", voice="en_US-testmulti-medium", speaker="bob"
    )
    bob_by_id = await synthesize(
        server.uri, "Good morning.", voice="en_US-testmulti-medium", speaker="1"
    )
    assert alice.audio
    assert bob.audio
    assert alice.audio != bob.audio  # the test voice's pitch depends on the speaker
    assert bob.audio == bob_by_id.audio
    with pytest.raises(ServerError, match="unknown-speaker"):
        await synthesize(server.uri, "Hi.", voice="en_US-testmulti-medium", speaker="carol")
    single = await synthesize(server.uri, "Good morning.", voice="en_US-test-medium")
    assert single.audio


async def test_voice_by_language(server: ServerProcess) -> None:
    async with client(server.uri) as conn:
        await conn.write_event(
            Synthesize(text="Hi there.", voice=SynthesizeVoice(language="en_US")).event()
        )
        events = await read_until(conn, "audio-stop")
        assert any(event.type == "audio-chunk" for event in events)


async def test_unknown_and_unsafe_voice_names(server: ServerProcess) -> None:
    with pytest.raises(ServerError, match="unknown-voice") as missing:
        await synthesize(server.uri, "Hi.", voice="xx_XX-nobody-low")
    assert "xx_XX-nobody-low" in str(missing.value)
    for name in ("../../etc/passwd", "/etc/passwd", "..", "a/b"):
        with pytest.raises(ServerError, match=r"bad-voice|unknown-voice"):
            await synthesize(server.uri, "Hi.", voice=name)
    assert (await synthesize(server.uri, "Still here.")).audio


async def test_text_cap(server: ServerProcess) -> None:
    with pytest.raises(ServerError, match="text-too-long"):
        await synthesize(server.uri, "a" * 10_001)
    assert (await synthesize(server.uri, "word " * 1999)).audio  # 9995 characters is fine
    with pytest.raises(ServerError, match="text-too-long"):
        await synthesize_streaming(server.uri, ["word " * 1000] * 11)


async def test_nothing_follows_an_error_mid_stream(server: ServerProcess) -> None:
    """A stream that goes wrong stops at its Error: no audio keeps coming from the backlog."""
    backlog = " ".join(f"This is sentence number {i} of a long answer." for i in range(60))
    async with client(server.uri) as conn:
        await conn.write_event(SynthesizeStart().event())
        await conn.write_event(SynthesizeChunk(text=backlog).event())
        await conn.write_event(SynthesizeChunk(text="word " * 2000).event())  # over the cap
        events: list[str] = []
        while (event := await conn.read_event()) is not None:
            events.append(event.type)
    assert "error" in events
    assert events[events.index("error") + 1 :] == []
    assert events.count("audio-chunk") < 1000  # of about 4000: the backlog was cut short


async def test_streaming_audio_arrives_before_stop(server: ServerProcess) -> None:
    words = "Turning on the kitchen light now. It will stay on until you say stop. Bye"
    pieces = [word + " " for word in words.split()]
    result = await synthesize_streaming(server.uri, pieces, delay=0.02, wait_for_audio=20)
    assert result.first_chunk_before_stop, "no audio for sentence 1 before SynthesizeStop"
    assert result.events[0] == "audio-start"
    assert result.events[-2:] == ["audio-stop", "synthesize-stopped"]
    assert result.start is not None
    assert result.start.rate == 22050
    assert result.timings.first_chunk_ms is not None
    sentence_end = pieces.index("now. ")
    record(
        "TTS first-chunk ms after sentence 1 was complete (streaming, word by word)",
        f"{result.timings.first_chunk_ms - result.sent_ms[sentence_end]:.1f}",
    )
    # The trailing "Bye" has no punctuation: flushed on stop.
    server.wait_for_log(rf"tts stream {len(words) + 1} chars, 3 sentences")


async def test_streaming_ignores_the_full_synthesize(server: ServerProcess) -> None:
    pieces = ["The door ", "is locked. ", "The window ", "is closed."]
    with_full = await synthesize_streaming(server.uri, pieces, send_full_synthesize=True)
    without = await synthesize_streaming(server.uri, pieces, send_full_synthesize=False)
    assert with_full.audio == without.audio  # not spoken twice
    one_shot = await synthesize(server.uri, "".join(pieces))
    assert with_full.audio == one_shot.audio


async def test_streaming_without_punctuation_and_long_runs(server: ServerProcess) -> None:
    result = await synthesize_streaming(server.uri, ["set a timer ", "for ten minutes"])
    assert result.audio
    long_run = ", ".join(f"item {i}" for i in range(120))  # ~1000 chars, no sentence end
    pieces = [word + " " for word in long_run.split()]
    result = await synthesize_streaming(server.uri, pieces, wait_for_audio=20)
    assert result.first_chunk_before_stop  # a long run is spoken in clauses before the end
    assert result.audio


async def _speak_with_context(server: ServerProcess, context: dict[str, object]) -> float:
    async with client(server.uri) as conn:
        await conn.write_event(Synthesize(text="The quick brown fox.", context=context).event())
        events = await read_until(conn, "audio-stop")
    return sum(len(event.payload or b"") for event in events if event.type == "audio-chunk") / 2


async def test_pace_from_request_context(server: ServerProcess) -> None:
    normal = await _speak_with_context(server, {})
    slow = await _speak_with_context(server, {"chatterbox": {"length_scale": 2.0}})
    fast = await _speak_with_context(server, {"chatterbox": {"length_scale": 0.5}})
    assert slow > normal * 1.5
    assert fast < normal * 0.75
    for bad in (10, 0, "slow", True):
        with pytest.raises(ServerError, match="bad-option"):
            await _speak_with_context(server, {"chatterbox": {"length_scale": bad}})
