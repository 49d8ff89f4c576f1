"""The voices' one owner, in-process: which voice and speaker a request gets, loads, Info."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from wyoming.info import Info

from chatterbox_server.__main__ import build_parser
from chatterbox_server.context import ServerContext, load
from chatterbox_server.models import ModelNotFoundError
from chatterbox_server.tts import UnknownSpeakerError
from chatterbox_server.voices import Voices

MULTI, SINGLE = "en_US-testmulti-medium", "en_US-test-medium"


def _load(test_models: Path, download_dir: Path, *flags: str) -> ServerContext:
    return load(
        build_parser().parse_args(
            [
                *("--mode", "tts", "--local-files-only", "--data-dir", str(test_models / "tts")),
                *("--download-dir", str(download_dir), *flags),
            ]
        )
    )


@pytest.fixture
def context(test_models: Path, tmp_path: Path) -> Iterator[ServerContext]:
    """TTS only; the default voice is the two-speaker one, speaking as bob."""
    loaded = _load(test_models, tmp_path, "--tts-voice", MULTI, "--speaker", "bob")
    yield loaded
    loaded.close()


def _voices(context: ServerContext) -> Voices:
    assert context.voices is not None
    return context.voices


def test_a_language_gets_an_installed_voice_the_default_first(context: ServerContext) -> None:
    voices = _voices(context)
    assert [entry.name for entry in voices.listed] == [SINGLE, MULTI]  # by name
    for language in ("en", "en_US", "EN-us"):
        assert voices.for_language(language) == MULTI, language
    for language in ("en_GB", "de", ""):
        assert voices.for_language(language) is None, language


async def test_default_speaker_goes_with_the_default_voice_only(context: ServerContext) -> None:
    voices = _voices(context)
    default, speaker = await voices.choose(None)
    assert (default.name, speaker) == (MULTI, 1)  # bob
    assert (await voices.choose(None, language="en"))[1] == 1
    assert (await voices.choose(MULTI, speaker="alice"))[1] == 0
    single, speaker = await voices.choose(SINGLE)
    assert (single.name, speaker) == (SINGLE, None)
    with pytest.raises(UnknownSpeakerError):
        await voices.choose(MULTI, speaker="carol")
    with pytest.raises(ModelNotFoundError):
        await voices.choose("xx_XX-nobody-low")
    with pytest.raises(ValueError, match="voice"):
        await voices.choose("../etc/passwd")


async def test_voices_load_once_and_the_least_recently_used_goes(
    test_models: Path, tmp_path: Path
) -> None:
    context = _load(test_models, tmp_path, "--tts-voice", SINGLE, "--max-voices", "1")
    try:
        voices, tts = _voices(context), context.tts
        assert tts is not None
        assert (tts.loads, tts.loaded) == (1, [SINGLE])
        both = await asyncio.gather(voices.choose(MULTI), voices.choose(MULTI))
        assert both[0][0] is both[1][0]  # two requests at once: one load
        assert (tts.loads, tts.evictions, tts.loaded) == (2, 1, [MULTI])
        await voices.choose(None)
        assert (tts.loads, tts.loaded) == (3, [SINGLE])
    finally:
        context.close()


async def test_info_lists_a_new_voice_as_a_fresh_start_would(
    test_models: Path, tmp_path: Path
) -> None:
    """A voice that appeared on disk is in Info once asked for, as if the server had restarted."""
    context = _load(test_models, tmp_path, "--tts-voice", SINGLE)
    try:
        before = Info.from_event(context.info.event)
        for suffix in (".onnx", ".onnx.json"):  # as a download would put it there
            shutil.copy(test_models / "tts" / f"{SINGLE}{suffix}", tmp_path / f"lessac{suffix}")
        voice, _ = await _voices(context).choose("lessac")
        assert voice.name == "lessac"
        fresh = _load(test_models, tmp_path, "--tts-voice", SINGLE)
        try:
            assert context.info.event == fresh.info.event
        finally:
            fresh.close()
    finally:
        context.close()
    after = Info.from_event(context.info.event)
    assert "lessac" not in {voice.name for voice in before.tts[0].voices}
    assert "lessac" in {voice.name for voice in after.tts[0].voices if voice.installed}
