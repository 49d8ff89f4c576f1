"""The server on Python 3.11 (Debian 12, Raspberry Pi OS bookworm), installed as a user does.

Runs in .venv-py311, where scripts/setup ran `pip install ./addon/server` (not editable, with the
dependencies pip picks): the console script starts, and with real models (CHATTERBOX_TEST_MODELS)
it serves a transcription and a synthesis. Elsewhere it is skipped; scripts/test runs it there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from corpus import clips
from tests.support.server import ServerProcess
from tests.support.wyoming_client import synthesize, transcribe

if sys.version_info[:2] != (3, 11):
    pytest.skip(
        "runs on Python 3.11, in .venv-py311 (scripts/test: "
        "scripts/in-env .venv-py311 python -m pytest tests/server/test_python311.py)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.usefixtures("socket_enabled")

BIN = Path(sysconfig.get_path("scripts"))
CLIP = "turn_on_kitchen_light"  # "turn on the kitchen light", said at once


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_installed_as_a_package_not_from_the_checkout() -> None:
    import chatterbox_server  # noqa: PLC0415  # (only here: skipped modules import nothing)

    where = Path(chatterbox_server.__file__).resolve()
    assert Path(sysconfig.get_path("purelib")).resolve() in where.parents, where


def test_console_scripts_start() -> None:
    for script in ("chatterbox-server", "chatterbox-describe"):
        result = subprocess.run(
            [str(BIN / script), "--help"], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        assert f"usage: {script}" in result.stdout


@pytest.mark.real_models
async def test_real_transcription_and_synthesis(real_models: Path) -> None:
    voice = real_models / "tts" / "en_US-joe-medium.onnx"
    if not voice.exists():
        pytest.skip(f"no {voice.name} in {voice.parent}")
    clip = next(clip for clip in clips() if clip.id == CLIP)
    # The README's command: the console script, a model folder and a voice file, offline.
    server = ServerProcess(real_models, voice=voice)
    server.command[:3] = [str(BIN / "chatterbox-server")]
    started = time.monotonic()
    server.start(timeout=300)
    try:
        loaded = time.monotonic() - started
        began = time.perf_counter()
        transcript = await transcribe(server.uri, clip.pcm(), language="en")
        stt_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        speech = await synthesize(server.uri, "The front door is locked.")
        tts_ms = (time.perf_counter() - began) * 1000
    finally:
        server.stop()
    print(
        f"Python {sys.version.split()[0]}: ready in {loaded:.1f} s; {clip.id} -> "
        f"{transcript.text!r} in {stt_ms:.0f} ms; "
        f"{speech.seconds:.2f} s of speech in {tts_ms:.0f} ms"
    )
    assert words(transcript.text) == words(clip.text)
    assert speech.seconds > 0.5
