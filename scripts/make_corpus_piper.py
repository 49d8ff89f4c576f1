"""The numeric half of scripts/make-corpus: Piper synthesis and fitting a command's pause.

``synth`` speaks lines ``id|length_scale|text`` with the real Piper voice (en_US-joe-medium)
into ``DIR/id.raw.wav`` at the voice's own rate (make-corpus resamples them with sox).
``fit-pause`` reads lines ``id target_seconds prefix_fraction`` and rewrites
``DIR/id.speech.wav`` (16 kHz mono 16-bit, leading and trailing silence trimmed) as
``DIR/id.fit.wav``, its pause (the longest quiet run between the first and the last loud
sample) trimmed or padded to the target; it prints ``id measured_seconds`` per line.
"""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

QUIET = 300  # |sample| below this is quiet, as in tests/test_corpus.py
SEED = 26  # onnxruntime's seed, set before each clip: the same audio every run
DEFAULT_MODEL = Path.home() / ".cache/chatterbox/real-models/tts/en_US-joe-medium.onnx"

Samples = npt.NDArray[np.int16]


def synth(model: Path, spec: Path, out: Path) -> None:
    """Speak every ``id|length_scale|text`` line of spec into out/id.raw.wav."""
    import onnxruntime  # noqa: PLC0415 - only this subcommand needs Piper
    from piper import PiperVoice, SynthesisConfig  # noqa: PLC0415

    for line in spec.read_text().splitlines():
        clip_id, length_scale, text = line.split("|")
        onnxruntime.set_seed(SEED)  # takes effect for sessions made after it
        voice = PiperVoice.load(model)
        with wave.open(str(out / f"{clip_id}.raw.wav"), "wb") as wav:
            voice.synthesize_wav(
                text, wav, SynthesisConfig(length_scale=float(length_scale), volume=0.8)
            )


def quiet_runs(audio: Samples) -> list[tuple[int, int]]:
    """(start, end) of each quiet run between the first and the last loud sample."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) >= QUIET)
    if loud.size == 0:
        return []
    inside = (np.abs(audio[loud[0] : loud[-1]].astype(np.int32)) < QUIET).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside, [0]])))
    return [
        (int(loud[0] + a), int(loud[0] + b)) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def longest_pause(audio: Samples) -> tuple[int, int]:
    """Find the longest quiet run inside the speech (the command's pause)."""
    runs = quiet_runs(audio)
    if not runs:
        raise ValueError("no pause inside the speech")
    return max(runs, key=lambda run: run[1] - run[0])


def fit_pause(audio: Samples, target: int, prefix_fraction: float) -> Samples:
    """Trim or pad the pause (in its middle, with silence) to target samples.

    The pause must sit near prefix_fraction of the speech (where the words before it end),
    so a long stop consonant is never taken for it.
    """
    start, end = longest_pause(audio)
    where = (start + end) / 2 / len(audio)
    if abs(where - prefix_fraction) > 0.2:
        raise ValueError(f"pause at {where:.2f} of the speech, expected near {prefix_fraction:.2f}")
    run = audio[start:end]
    head = min(len(run), target) // 2
    tail = min(len(run), target) - head
    middle = np.zeros(target - head - tail, dtype=np.int16)
    return np.concatenate([audio[:start], run[:head], middle, run[len(run) - tail :], audio[end:]])


def read_wav(path: Path) -> tuple[Samples, int]:
    """Mono 16-bit samples and the rate."""
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype=np.int16), wav.getframerate()


def fit_all(folder: Path, lines: list[str]) -> None:
    """Fit each ``id target prefix_fraction`` clip's pause; print id and the measured pause."""
    for line in lines:
        clip_id, target, fraction = line.split()
        audio, rate = read_wav(folder / f"{clip_id}.speech.wav")
        fitted = fit_pause(audio, round(float(target) * rate), float(fraction))
        start, end = longest_pause(fitted)
        with wave.open(str(folder / f"{clip_id}.fit.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(fitted.tobytes())
        print(clip_id, round((end - start) / rate, 4))


def main() -> None:
    """Command line: synth or fit-pause."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    synth_cmd = sub.add_parser("synth", help="speak id|length_scale|text lines with Piper")
    synth_cmd.add_argument("spec", type=Path)
    synth_cmd.add_argument("out", type=Path)
    synth_cmd.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="joe .onnx")
    fit_cmd = sub.add_parser("fit-pause", help="fit pauses of 'id target fraction' stdin lines")
    fit_cmd.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "synth":
        if not args.model.is_file():
            sys.exit(f"make_corpus_piper: no voice at {args.model} (run scripts/fetch-models)")
        synth(args.model, args.spec, args.out)
    else:
        fit_all(args.folder, sys.stdin.read().splitlines())


if __name__ == "__main__":
    main()
