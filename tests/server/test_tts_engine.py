"""The TTS engine in-process: how voices are loaded."""

from __future__ import annotations

from pathlib import Path

from piper import PiperVoice

from chatterbox_server.models import VoiceFiles
from chatterbox_server.tts import load_piper


def test_voice_threads_sleep_between_runs_and_speak_as_piper_loads_them(
    test_models: Path,
) -> None:
    onnx = test_models / "tts" / "en_US-testmulti-medium.onnx"
    files = VoiceFiles(onnx.stem, onnx, onnx.with_suffix(".onnx.json"))
    voice = load_piper(files)
    options = voice.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    reference = PiperVoice.load(onnx)
    assert voice.config == reference.config
    text = "Good morning, the kitchen light is on."
    ours = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
    assert ours
    assert ours == b"".join(chunk.audio_int16_bytes for chunk in reference.synthesize(text))
