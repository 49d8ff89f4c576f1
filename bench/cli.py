"""Command line of scripts/bench: pick models and workload, run, print, save JSON and PNG."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.busy import LOADS, parse_load
from bench.loaded import MODELS as BUSY_MODELS
from bench.loaded import loaded_table, run_busy
from bench.report import TRAILING_SILENCE, table
from bench.run import Config, run
from bench.servers import DEFAULT_SENSITIVITY, SENSITIVITIES, SERVERS
from corpus import Clip, clips, corpus, paused_clips

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "make_test_models.py"
PLOT = Path(__file__).with_name("plot.py")


def test_models() -> Path:
    """The generated test models (the same cache as tests/conftest.py), made if missing."""
    cache = Path(os.environ.get("CHATTERBOX_CACHE", Path.home() / ".cache" / "chatterbox"))
    target = cache / f"test-models-{hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:12]}"
    if not (target / ".complete").exists():
        spec = importlib.util.spec_from_file_location("make_test_models", GENERATOR)
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        module.make_test_models(partial)
        (partial / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


SPLITS = ("test", "dev", "sample")
"""The corpus halves (held out from tuning: test; tuned on: dev) and the fixed CI sample."""


def quick_clips() -> list[Clip]:
    """Return the sample's clips ending in >= 0.8 s of silence (what the STT goals use)."""
    return [clip for clip in clips() if clip.trailing_silence >= TRAILING_SILENCE]


def split_clips(split: str, quick: bool = False) -> tuple[list[Clip], list[Clip]]:
    """Return the complete and the paused commands of ``split`` (--quick: the sample's subset)."""
    if split == "sample":
        return (quick_clips() if quick else clips()), paused_clips()
    return corpus(split=split, paused=False), corpus(split=split, paused=True)


def parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark Chatterbox against wyoming-faster-whisper and wyoming-piper "
        "with the same model files, beam size and threads. Each server runs alone for STT, "
        "Describe under load and memory; the TTS servers run side by side and take turns.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="the CI sample's clips ending in >= 0.8 s of silence, 2 paused commands, 1 client, "
        "Chatterbox at the default sensitivity only, 10 syntheses, short load, 3 commands and "
        "syntheses per failover case (CI)",
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        help="which commands: the corpus's test half (default; held out from tuning), its dev "
        "half, or the fixed CI sample (the default with --quick)",
    )
    p.add_argument(
        "--sensitivities",
        nargs="+",
        choices=SENSITIVITIES,
        help="Home Assistant VAD sensitivities Chatterbox is measured at (sent as "
        "Transcribe.vad_sensitivity; the others than default: 1 client, STT only, on the "
        "paused and complete commands). Default: all three; only default with --quick. "
        "The default is always measured",
    )
    p.add_argument("--models", type=Path, help="DIR/stt and DIR/tts/*.onnx (default: test models)")
    p.add_argument("--voice", help="voice name in DIR/tts (default: the test voice or the first)")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results" / "bench.json")
    p.add_argument("--png", type=Path, help="latency plot (default: next to --out)")
    p.add_argument("--peer-python", type=Path, required=True, help="python of the bench venv")
    p.add_argument(
        "--chatterbox",
        type=Path,
        default=Path(sys.executable).with_name("chatterbox-server"),
        help="chatterbox-server executable",
    )
    p.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    p.add_argument("--clients", type=int, nargs="+", help="parallel client levels (1 2 4)")
    p.add_argument("--clips", type=int, help="use only the first N complete commands")
    p.add_argument(
        "--paused-clips",
        type=int,
        help="play the first N commands with a pause inside (default: all the split's, at most "
        "--clips; 2 with --quick; 0: none, no paused WER or cuts)",
    )
    p.add_argument("--pace", type=float, default=1.0, help="x real time; 0 sends unpaced")
    p.add_argument(
        "--tts-repeats", type=int, help="syntheses per client, level and mode (30; 10 with --quick)"
    )
    p.add_argument(
        "--tts-gap",
        type=float,
        default=0.05,
        help="seconds of quiet after each TTS turn (0.05); the TTS servers run side by side "
        "and take turns request by request",
    )
    p.add_argument("--load-seconds", type=float, help="Describe probing under load (10)")
    p.add_argument("--beam-size", type=int, default=1)
    p.add_argument(
        "--compute-type",
        default="int8",
        help="CTranslate2 compute type for both STT servers (int8: what a CPU host runs)",
    )
    p.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--language", default="en", help="sent in Transcribe ('' for none)")
    p.add_argument(
        "--no-vad-filter",
        dest="vad_filter",
        action="store_false",
        help="no Silero VAD filter in either STT server (default: on in both)",
    )
    p.add_argument(
        "--no-names",
        dest="names",
        action="store_false",
        help="send no transcript_names (default: the names the chosen commands mention, with "
        "every clip, as Home Assistant sends the home's names)",
    )
    p.add_argument(
        "--wer-without-names",
        action=argparse.BooleanOptionalAction,
        help="play the complete commands once more without names, unpaced, for the WER "
        "without names, to Chatterbox and wyoming-faster-whisper (default: on; off with "
        "--quick, as the test models' WER tells nothing)",
    )
    p.add_argument(
        "--no-failover",
        dest="failover",
        action="store_false",
        help="skip what a failover adds: Chatterbox behind a preferred server that is down, "
        "stalls or is killed mid-utterance (default: 8 commands, 4 of them killed, and 8 "
        "syntheses per case; 3, 3 and 3 with --quick)",
    )
    p.add_argument(
        "--busy",
        action="store_true",
        help="only the busy box: Chatterbox and the peers side by side with busy processes "
        "beside them (--busy-loads), for each of --busy-models; results in busy.json beside "
        "--out",
    )
    p.add_argument(
        "--busy-models",
        nargs="+",
        default=list(BUSY_MODELS),
        help="Whisper models for --busy: DIR/stt-NAME of --models (default: base tiny.en; "
        "DIR/stt where that is missing)",
    )
    p.add_argument(
        "--busy-loads",
        nargs="+",
        type=parse_load,
        default=list(LOADS),
        help="busy processes beside the servers, N or N@NICE (default: 0 1 2 2@10)",
    )
    p.add_argument("--sentence-silence", type=float, default=0.2)
    p.add_argument(
        "--stt-workers",
        type=int,
        default=1,
        help="Chatterbox's parallel transcriptions (default 1: like wyoming-faster-whisper, "
        "which transcribes one request at a time; more workers trade memory for latency "
        "under several clients)",
    )
    return p


def home_names(chosen: Sequence[Clip]) -> tuple[str, ...]:
    """Return the home's names: every name the chosen clips mention, once, in their order."""
    return tuple(dict.fromkeys(name for clip in chosen for name in clip.names))


def config_from(args: argparse.Namespace) -> Config:
    """Build the run configuration; --quick changes only the defaults not given."""
    split = args.split or ("sample" if args.quick else "test")
    chosen, paused = split_clips(split, args.quick)
    if args.clips:
        chosen = chosen[: args.clips]
    count = args.paused_clips
    if count is None:
        count = 2 if args.quick else len(chosen)
    paused = paused[:count]
    sensitivities = args.sensitivities or ((DEFAULT_SENSITIVITY,) if args.quick else SENSITIVITIES)
    return Config(
        models=(args.models or test_models()).resolve(),
        peer_python=args.peer_python,
        chatterbox=args.chatterbox,
        out_dir=args.out.parent,
        clips=chosen,
        paused=paused,
        split=split,
        sensitivities=tuple(dict.fromkeys((DEFAULT_SENSITIVITY, *sensitivities))),
        voice=args.voice,
        servers=args.servers,
        clients=args.clients or ((1,) if args.quick else (1, 2, 4)),
        pace=args.pace,
        tts_repeats=args.tts_repeats or (10 if args.quick else 30),
        tts_gap=args.tts_gap,
        describe_samples=10 if args.quick else 20,
        load_seconds=args.load_seconds or (3.0 if args.quick else 10.0),
        beam_size=args.beam_size,
        compute_type=args.compute_type,
        cpu_threads=args.cpu_threads,
        stt_workers=args.stt_workers,
        vad_filter=args.vad_filter,
        language=args.language or None,
        names=home_names([*chosen, *paused]) if args.names else (),
        no_names_pass=not args.quick if args.wer_without_names is None else args.wer_without_names,
        sentence_silence=args.sentence_silence,
        failover_clips=(3 if args.quick else 8) if args.failover else 0,
        failover_kills=3 if args.quick else 4,
        failover_tts=(3 if args.quick else 8) if args.failover else 0,
        quick=args.quick,
    )


def plot(python: Path, results: Path, png: Path) -> str:
    """Draw the PNG with the bench venv's matplotlib; return what happened."""
    done = subprocess.run(
        [str(python), str(PLOT), str(results), str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return f"plot: {png}"
    return f"no plot ({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done})"


def busy_box(args: argparse.Namespace, config: Config) -> int:
    """Run the busy box alone; print its table, save busy.json; exit 1 when a request failed."""
    document = asyncio.run(run_busy(config, args.busy_models, args.busy_loads))
    out = args.out.with_name("busy.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1))
    print(loaded_table(document))
    print(f"\nresults: {out}")
    return 1 if document["errors"] else 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and report; exit 1 when a request failed."""
    args = parser().parse_args(argv)
    config = config_from(args)
    if args.busy:
        return busy_box(args, config)
    document = asyncio.run(run(config))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1))
    print(table(document))
    print(f"\nresults: {args.out}")
    print(plot(args.peer_python, args.out, args.png or args.out.with_suffix(".png")))
    return 1 if any(r["errors"] for r in document["servers"].values()) else 0
