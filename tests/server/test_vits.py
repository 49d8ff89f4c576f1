"""A voice's graph cut in stages: chunks cover the sentence, and sound as Piper's whole graph."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
from piper import SynthesisConfig

from chatterbox_server import vits
from chatterbox_server.models import VoiceFiles
from chatterbox_server.tts import load_piper, load_voice, model_inputs

TEXT = "Three lights are on upstairs: the hallway, the bedroom and the bathroom."


def _files(onnx: Path) -> VoiceFiles:
    return VoiceFiles(onnx.stem, onnx, onnx.with_suffix(".onnx.json"))


def _real_voice(real_models: Path) -> VoiceFiles:
    voices = sorted((real_models / "tts").glob("*.onnx"))
    if not voices:
        pytest.skip(f"no real voice in {real_models / 'tts'}")
    return _files(voices[0])


@pytest.mark.parametrize("frames", [1, 19, 20, 45, 60, 124, 333, 1200])
def test_schedule_covers_the_sentence_in_growing_chunks(frames: int) -> None:
    chunks = list(vits.schedule(frames))
    assert chunks[0][0] == 0
    assert chunks[-1][1] == frames
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    sizes = [end - start for start, end in chunks]
    if frames >= vits.FIRST_FRAMES * 3:
        assert sizes[0] == vits.FIRST_FRAMES, "the first chunk is short, for first audio"
    assert all(size <= vits.MAX_FRAMES * 3 // 2 for size in sizes[1:])


@pytest.mark.real_models
def test_real_voice_in_chunks_sounds_as_the_whole_graph(real_models: Path, tmp_path: Path) -> None:
    """Without noise the graph is deterministic: chunked audio = Piper's whole-graph audio."""
    files = _real_voice(real_models)
    piper, staged = load_voice(files, tmp_path)
    assert staged is not None, "Piper's exporter names the stages: the real voice is cut"
    assert len(list(tmp_path.glob("*/stages.json"))) == 1
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    inputs = model_inputs(piper, piper.phonemize(TEXT)[0], quiet)
    chunks = list(staged.audio(inputs))
    whole = load_piper(files).phoneme_ids_to_audio(list(inputs["input"][0]), quiet)
    assert isinstance(whole, np.ndarray)
    assert len(chunks) >= 2
    assert len(chunks[0]) < len(whole) / 4, "the first chunk is a small part of the sentence"
    chunked = np.concatenate(chunks)
    assert chunked.shape == whole.shape
    assert float(np.abs(chunked - whole).max()) < vits.MATCH
    assert 0.1 <= staged.peak <= 1.0
    (at_once,) = staged.audio(inputs, first=None)
    assert float(np.abs(at_once - whole).max()) < vits.MATCH


@pytest.mark.real_models
def test_the_cut_is_kept_and_read_again(real_models: Path, tmp_path: Path) -> None:
    files = _real_voice(real_models)
    load_voice(files, tmp_path)
    (folder,) = (path.parent for path in tmp_path.glob("*/stages.json"))
    made = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    _, staged = load_voice(files, tmp_path)
    assert staged is not None
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == made
    assert [path.name for path in tmp_path.iterdir()] == [folder.name], "no cut left half-made"


def test_a_graph_without_stages_is_spoken_whole(
    test_models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The generated test voice has none of the exporter's node names."""
    files = _files(test_models / "tts" / "en_US-test-medium.onnx")
    with caplog.at_level(logging.WARNING):
        piper, staged = load_voice(files, tmp_path)
    assert staged is None
    assert "spoken a sentence at a time" in caplog.text
    assert "no /dec/ nodes" in caplog.text
    assert b"".join(chunk.audio_int16_bytes for chunk in piper.synthesize("Hello there."))


@pytest.mark.real_models
def test_a_cache_that_cannot_be_written_falls_back_to_whole(
    real_models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = _real_voice(real_models)
    blocked = tmp_path / "stages"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        _, staged = load_voice(files, blocked)
    assert staged is None
    assert "spoken a sentence at a time" in caplog.text
