"""Modes, start-up failures, the voice cache and the VAD switch, each on its own server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.audio import silence_pcm16, to_pcm16
from tests.support.server import ServerProcess, server_command
from tests.support.wyoming_client import ServerError, describe, synthesize, transcribe

pytestmark = pytest.mark.usefixtures("socket_enabled")

Start = Callable[..., ServerProcess]


async def test_stt_only(start_server: Start, speech) -> None:  # type: ignore[no-untyped-def]
    stt = start_server("--mode", "stt", "--tts-voice", "no-such-voice")  # no voice needed
    info = await describe(stt.uri)
    assert info.asr
    assert not info.tts
    assert (await transcribe(stt.uri, to_pcm16(speech))).text == "turn on the kitchen light"
    with pytest.raises(ServerError, match="tts-disabled"):
        await synthesize(stt.uri, "Hello.")
    assert (await describe(stt.uri)).asr


async def test_tts_only(start_server: Start, speech) -> None:  # type: ignore[no-untyped-def]
    tts = start_server("--mode", "tts", "--stt-model", "/no/such/model")  # no model needed
    info = await describe(tts.uri)
    assert info.tts
    assert not info.asr
    assert (await synthesize(tts.uri, "Hello.")).audio
    with pytest.raises(ServerError, match="stt-disabled"):
        await transcribe(tts.uri, to_pcm16(speech))
    assert (await describe(tts.uri)).tts


def _run_to_exit(args: list[str], timeout: float = 60) -> tuple[int, str, float]:
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return result.returncode, result.stderr, time.monotonic() - started


@pytest.mark.parametrize("missing", ["stt", "tts"])
def test_missing_model_fails_fast_before_listening(
    test_models: Path, tmp_path: Path, missing: str
) -> None:
    args = server_command(test_models, 0, "--download-dir", str(tmp_path / "downloads"))
    if missing == "stt":
        args[args.index("--stt-model") + 1] = "small-int8"  # a catalogue name, not on disk
    else:
        args[args.index("--tts-voice") + 1] = "de_DE-thorsten-medium"
    code, stderr, seconds = _run_to_exit(args)
    assert code != 0
    assert "Ready" not in stderr  # the port never opened
    errors = [line for line in stderr.splitlines() if line.startswith("chatterbox-server: error:")]
    assert len(errors) == 1, stderr
    name = "small-int8" if missing == "stt" else "de_DE-thorsten-medium"
    assert name in errors[0]
    assert str(tmp_path / "downloads") in errors[0]  # every place looked is named
    assert "--local-files-only" in errors[0]
    assert seconds < 30


def test_unsafe_default_voice_name_fails(test_models: Path) -> None:
    args = server_command(test_models, 0, "--mode", "tts")
    args[args.index("--tts-voice") + 1] = "../secret"
    code, stderr, _ = _run_to_exit(args)
    assert code != 0
    assert "chatterbox-server: error:" in stderr


async def test_voice_cache_evicts_least_recently_used(start_server: Start) -> None:
    server = start_server("--max-voices", "1")
    default, multi = "en_US-test-medium", "en_US-testmulti-medium"
    for voice in (default, multi, default, default):
        assert (await synthesize(server.uri, "Cache me.", voice=voice)).audio
    log = server.log()
    # The default was loaded at start-up, evicted by the multi-speaker voice, loaded again;
    # the last request used the cached voice.
    assert log.count(f"Loaded voice {default} ") == 2, log
    assert log.count(f"Loaded voice {multi} ") == 1
    assert f"Unloaded voice {default} (--max-voices 1)" in log
    assert f"Unloaded voice {multi} (--max-voices 1)" in log


async def test_voices_load_lazily_and_stay_cached(start_server: Start) -> None:
    server = start_server("--max-voices", "2")
    assert "Loaded voice en_US-testmulti-medium" not in server.log()  # not before it is asked
    for _ in range(3):
        await synthesize(server.uri, "Once.", voice="en_US-testmulti-medium", speaker="bob")
    assert server.log().count("Loaded voice en_US-testmulti-medium ") == 1
    assert "Unloaded voice" not in server.log()


async def test_without_vad_the_test_model_hears_words_in_silence(start_server: Start) -> None:
    # Shows what --vad-filter (on by default) prevents: this untrained model "hears" its
    # sentence in anything, like real Whisper hallucinating "Thank you." from silence.
    server = start_server("--no-vad-filter")
    assert (await transcribe(server.uri, silence_pcm16(3.0))).text != ""


def test_help_documents_every_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatterbox_server", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    text = " ".join(result.stdout.split())
    for flag in (
        "--uri", "--mode", "--data-dir", "--download-dir", "--local-files-only", "--stt-model",
        "--language", "--beam-size", "--compute-type", "--device", "--cpu-threads",
        "--stt-workers", "--initial-prompt", "--vad-filter", "--tts-voice", "--speaker",
        "--length-scale", "--noise-scale", "--noise-w-scale", "--sentence-silence",
        "--tts-workers", "--max-voices", "--zeroconf", "--debug", "--idle-timeout",
    ):  # fmt: skip
        assert flag in text, flag
        assert "CHATTERBOX_" + flag[2:].replace("-", "_").upper() in text, flag
    assert "tcp://0.0.0.0:10300" in text
    for cap in ("1 MiB", "10000 characters", "30 s", "64 KiB"):
        assert cap in text


async def test_default_voice_dir_is_searched_and_new_voices_show_up(
    test_models: Path, tmp_path: Path
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    process = ServerProcess(test_models, "--download-dir", str(downloads))
    at = process.command.index("--data-dir")
    del process.command[at : at + 2]  # only the default voice's path says where voices are
    process.start()
    try:
        info = await describe(process.uri)
        installed = {voice.name for voice in info.tts[0].voices if voice.installed}
        assert installed == {"en_US-test-medium", "en_US-testmulti-medium"}
        assert (await synthesize(process.uri, "Hi.", voice="en_US-testmulti-medium")).audio
        assert (await synthesize(process.uri, "Hi.", voice="en_US-test-medium")).audio

        # A catalogue voice appears in the download dir (as a download would put it there).
        source = test_models / "tts" / "en_US-test-medium.onnx"
        (downloads / "en_US-lessac-medium.onnx").write_bytes(source.read_bytes())
        (downloads / "en_US-lessac-medium.onnx.json").write_bytes(
            source.with_name(source.name + ".json").read_bytes()
        )
        assert (await synthesize(process.uri, "Hi.", voice="en_US-lessac-medium")).audio
        info = await describe(process.uri)
        lessac = next(v for v in info.tts[0].voices if v.name == "en_US-lessac-medium")
        assert lessac.installed
    finally:
        process.stop()


def test_stdio_uri(test_models: Path) -> None:
    args = server_command(test_models, 0)
    args[args.index("--uri") + 1] = "stdio://"
    result = subprocess.run(
        args, input=b'{"type": "describe"}\n', capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    header = json.loads(result.stdout.split(b"\n", 1)[0])
    assert header["type"] == "info"
    assert b"faster-whisper" in result.stdout
