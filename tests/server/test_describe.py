"""Describe -> Info: what the server offers, only for the modes that are on."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatterbox_server import __version__
from chatterbox_server.__main__ import build_parser
from chatterbox_server.context import load
from tests.support.server import ServerProcess
from tests.support.wyoming_client import timed_describe

from .conftest import record

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_describe_lists_stt_model_and_voices(
    server: ServerProcess, test_models: Path
) -> None:
    info, ms = await timed_describe(server.uri)
    record("Describe ms (idle)", f"{ms:.1f}")

    assert len(info.asr) == 1
    asr = info.asr[0]
    assert asr.name == "faster-whisper"
    assert asr.installed
    assert asr.version == __version__
    assert asr.attribution.name == "Chatterbox"
    assert "chatterbox" in asr.attribution.url
    assert "Chatterbox" in (asr.description or "")
    assert [model.name for model in asr.models] == [str(test_models / "stt")]
    languages = asr.models[0].languages
    assert "en" in languages
    assert "de" in languages  # the test model is multilingual: Whisper's language list
    assert asr.models[0].installed

    assert len(info.tts) == 1
    tts = info.tts[0]
    assert tts.name == "piper"
    assert tts.installed
    assert tts.version == __version__
    assert tts.supports_synthesize_streaming
    voices = {voice.name: voice for voice in tts.voices}
    single = voices["en_US-test-medium"]
    assert single.installed
    assert single.languages == ["en_US"]
    assert not single.speakers
    multi = voices["en_US-testmulti-medium"]
    assert multi.installed
    assert [speaker.name for speaker in multi.speakers or []] == ["alice", "bob"]
    # Only voices on disk by default: the catalogue's 170-odd others stay out of the answer.
    assert set(voices) == {"en_US-test-medium", "en_US-testmulti-medium"}


@pytest.mark.parametrize(
    ("flags", "catalogue_listed"),
    [
        ((), False),
        (("--describe-catalogue",), True),
        (("--describe-catalogue", "--local-files-only"), False),  # could never be served
    ],
)
def test_describe_catalogue_flag(
    test_models: Path, tmp_path: Path, flags: tuple[str, ...], catalogue_listed: bool
) -> None:
    """Voices not downloaded are listed only on request, and only when they can be fetched."""
    args = build_parser().parse_args(
        [
            *("--stt-model", str(test_models / "stt")),
            *("--tts-voice", str(test_models / "tts" / "en_US-test-medium.onnx")),
            *("--data-dir", str(test_models / "tts"), "--download-dir", str(tmp_path)),
            *flags,
        ]
    )
    context = load(args)
    try:
        assert context.voices is not None
        listed = {voice.name: voice for voice in context.voices.listed}
    finally:
        context.close()
    assert listed["en_US-test-medium"].installed
    assert ("en_US-lessac-medium" in listed) is catalogue_listed
    if catalogue_listed:
        assert listed["en_US-lessac-medium"].installed is False
        assert len(listed) > 100
