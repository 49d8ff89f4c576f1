"""Command line: ``chatterbox-server`` / ``python -m chatterbox_server``.

Every flag can also be set with an environment variable ``CHATTERBOX_<FLAG>`` (e.g.
``CHATTERBOX_STT_MODEL``); a flag on the command line wins.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .discovery import default_name
from .limits import DEFAULT_IDLE_TIMEOUT, LIMITS_HELP
from .memory import limit_malloc_arenas
from .models import ModelNotFoundError

if TYPE_CHECKING:
    from .context import ServerContext

_LOGGER = logging.getLogger("chatterbox_server")
ENV_PREFIX = "CHATTERBOX_"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def env_name(flag: str) -> str:
    """Return the environment variable for ``--some-flag``: ``CHATTERBOX_SOME_FLAG``."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def default_download_dir() -> Path:
    """``$XDG_DATA_HOME/chatterbox`` (``~/.local/share/chatterbox``)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "chatterbox"


def _bool(text: str) -> bool:
    if text.strip().lower() in TRUE:
        return True
    if text.strip().lower() in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _milliseconds(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be 0..10000 ms, got {value}")
    return value


def _window(text: str) -> int:
    value = 0 if text == "auto" else int(text)
    if value and not 5 <= value <= 30:
        raise argparse.ArgumentTypeError(f"must be auto or 5..30 seconds, got {value}")
    return value


class _Parser:
    """Add options whose defaults come from the environment; help names the variable."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser

    def add(
        self,
        flag: str,
        help_text: str,
        *,
        default: Any = None,
        convert: Callable[[str], Any] = str,
        **kwargs: Any,
    ) -> None:
        variable = env_name(flag)
        raw = os.environ.get(variable)
        if raw is not None:
            try:
                default = self._from_env(raw, kwargs, convert)
            except (ValueError, argparse.ArgumentTypeError) as err:
                self.parser.error(f"{variable}={raw!r}: {err}")
        shown = "" if default in (None, [], False) else " (default: %(default)s)"
        self.parser.add_argument(
            flag, help=f"{help_text}{shown} [env {variable}]", default=default, **kwargs
        )

    @staticmethod
    def _from_env(raw: str, kwargs: dict[str, Any], convert: Callable[[str], Any]) -> Any:
        action = kwargs.get("action")
        if action == "append":
            return [convert(part) for part in raw.split(os.pathsep) if part]
        if action in ("store_true", argparse.BooleanOptionalAction):
            return _bool(raw)
        if kwargs.get("nargs") == "?":  # --zeroconf [NAME]
            if raw.strip().lower() in FALSE:
                return None
            return kwargs["const"] if raw.strip().lower() in TRUE else raw
        value = convert(raw)
        choices = kwargs.get("choices")
        if choices is not None and value not in choices:
            raise ValueError(f"choose from {', '.join(map(str, choices))}")
        return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every flag documented."""
    parser = argparse.ArgumentParser(
        prog="chatterbox-server",
        description="Chatterbox: faster-whisper speech-to-text and Piper text-to-speech behind "
        "one Wyoming endpoint. The port opens once the model and default voice are loaded.",
        epilog=LIMITS_HELP,
    )
    p = _Parser(parser)
    p.add(
        "--uri",
        "Where to listen: tcp://HOST:PORT, unix://PATH or stdio://",
        default="tcp://0.0.0.0:10300",
    )
    p.add("--mode", "What to serve", default="both", choices=["both", "stt", "tts"])
    p.add(
        "--data-dir",
        "Directory with models and voices, searched before the download dir; "
        "repeatable (env: paths joined with ':')",
        default=[],
        action="append",
        convert=Path,
        type=Path,
    )
    p.add(
        "--download-dir",
        "Where models and voices are downloaded",
        default=default_download_dir(),
        convert=Path,
        type=Path,
    )
    p.add(
        "--local-files-only",
        "Never download; fail at start-up if a model or voice is missing",
        default=False,
        action="store_true",
    )
    p.add(
        "--stt-model",
        "Whisper model: a catalogue name (tiny-int8, base-int8, small-int8, "
        "medium-int8, large-v3, turbo), a hub repo id, or a model directory",
        default="base-int8",
    )
    p.add(
        "--language",
        "Language spoken (e.g. de), or 'auto' to detect it per request (slower, less "
        "accurate); a request's language wins",
        default="en",
    )
    p.add(
        "--beam-size",
        "Beam size for decoding: 1 is greedy and fastest (see --fallback-beam-size); 5 decodes "
        "every command that way, slightly more accurate and slower",
        default=1,
        convert=_positive_int,
        type=_positive_int,
    )
    p.add(
        "--fallback-beam-size",
        "Beam size for decoding again a transcript Whisper was unsure of (mean token log "
        "probability below -0.7) in a request with names or terms, keeping the surer one; "
        "at most --beam-size: never",
        default=5,
        convert=_positive_int,
        type=_positive_int,
    )
    p.add(
        "--compute-type",
        "CTranslate2 compute type (int8, int8_float16, float16, float32, default: the model's "
        "own, ...); auto: int8 on a CPU, float16 on a CUDA GPU, as far as CTranslate2 supports "
        "them there",
        default="auto",  # see stt.pick_compute_type
    )
    p.add(
        "--device",
        "Where models run: cpu, cuda (fails at start-up naming what is missing), or auto "
        "(CUDA when CTranslate2 sees a GPU, else the CPU)",
        default="cpu",
        choices=["cpu", "cuda", "auto"],
    )
    p.add(
        "--cpu-threads",
        "CPU threads per transcription (0: cores divided by --stt-workers)",
        default=0,
        convert=int,
        type=int,
    )
    p.add(
        "--stt-workers",
        "Transcriptions run in parallel (shared model); each gets --cpu-threads: raise it for "
        "several satellites talking at once",
        default=1,
        convert=_positive_int,
        type=_positive_int,
    )
    p.add("--initial-prompt", "Text given to Whisper as context before every utterance")
    p.add(
        "--vad-filter",
        "Drop non-speech with Silero VAD before transcribing (no hallucinated text from silence)",
        default=True,
        action=argparse.BooleanOptionalAction,
        convert=_bool,
    )
    p.add(
        "--vad-min-silence-ms",
        "A pause this long (ms) ends a speech segment; speculation starts after it",
        default=200,
        convert=_milliseconds,
        type=_milliseconds,
    )
    p.add(
        "--vad-speech-pad-ms",
        "Audio (ms) kept before the first and after the last speech the VAD finds",
        default=200,
        convert=_milliseconds,
        type=_milliseconds,
    )
    p.add(
        "--whisper-window",
        "Seconds of audio Whisper's encoder takes when the speech fits: shorter is faster; "
        "auto: 15, but Whisper's own 30 for tiny models, which lose accuracy with less",
        default=0,
        convert=_window,
        type=_window,
    )
    p.add(
        "--speculation",
        "Start transcribing once speech has ended, before the client's audio-stop; the "
        "transcript is the same, only sooner (needs --vad-filter; early work shares "
        "--stt-workers)",
        default=True,
        action=argparse.BooleanOptionalAction,
        convert=_bool,
    )
    p.add(
        "--end-of-speech",
        "Find the end of each command and send its transcript before the client's audio-stop; "
        "Info then says requires_external_vad=False, so Home Assistant runs no VAD of its own "
        "(needs --speculation; off: Home Assistant's VAD ends commands)",
        default=True,
        action=argparse.BooleanOptionalAction,
        convert=_bool,
    )
    p.add(
        "--tts-voice",
        "Default Piper voice: a catalogue name (e.g. en_US-lessac-medium) or a path to an .onnx",
        default="en_US-lessac-medium",
    )
    p.add("--speaker", "Default speaker of the default voice (name or id)")
    p.add(
        "--length-scale",
        "Speaking pace: > 1 slower, < 1 faster (default: the voice's)",
        convert=float,
        type=float,
    )
    p.add("--noise-scale", "Voice variation (default: the voice's)", convert=float, type=float)
    p.add(
        "--noise-w-scale",
        "Phoneme width variation (default: the voice's)",
        convert=float,
        type=float,
    )
    p.add(
        "--sentence-silence",
        "Seconds of silence after each sentence",
        default=0.2,
        convert=float,
        type=float,
    )
    p.add(
        "--tts-workers",
        "Sentences synthesized in parallel",
        default=2,
        convert=_positive_int,
        type=_positive_int,
    )
    p.add(
        "--max-voices",
        "Voices kept loaded (least recently used is unloaded)",
        default=2,
        convert=_positive_int,
        type=_positive_int,
    )
    p.add(
        "--describe-catalogue",
        "List every voice of Piper's catalogue in Describe, also those not downloaded yet "
        "(installed: false; fetched on first use). Off: only voices on disk, a small, fast "
        "answer. Never with --local-files-only",
        default=False,
        action="store_true",
    )
    p.add(
        "--idle-timeout",
        "Close a connection after this many seconds without an event",
        default=DEFAULT_IDLE_TIMEOUT,
        convert=float,
        type=float,
    )
    p.add(
        "--zeroconf",
        f"Advertise on the network via mDNS as NAME (default NAME: "
        f"{default_name()}); env: 1 or a name",
        nargs="?",
        const=default_name(),
        metavar="NAME",
    )
    p.add("--debug", "Log every event and more detail", default=False, action="store_true")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def setup_logging(debug: bool) -> None:
    """Log to stderr; libraries stay quiet unless --debug."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # huggingface_hub gives its logger a handler (and a level) of its own when imported, and
    # its records also reach ours: each of its warnings came out twice. Only ours stays.
    import huggingface_hub.utils.logging  # noqa: PLC0415, F401  # (sets them up)

    hub = logging.getLogger("huggingface_hub")
    for handler in list(hub.handlers):
        hub.removeHandler(handler)
    hub.setLevel(logging.NOTSET)
    if not debug:
        for noisy in ("faster_whisper", "piper", "huggingface_hub", "zeroconf"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load models, serve; return the exit code."""
    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    _LOGGER.info("Chatterbox %s starting (mode %s)", __version__, args.mode)
    limit_malloc_arenas()  # before any worker thread exists
    try:
        context = _load(args)
    except ModelNotFoundError as err:
        print(f"chatterbox-server: error: {err}", file=sys.stderr)
        if err.fix:
            print(f"chatterbox-server: {err.fix}", file=sys.stderr)
        return 2
    except ValueError as err:  # e.g. an unsafe name or a bad --speaker
        print(f"chatterbox-server: error: {err}", file=sys.stderr)
        return 2
    from .server import run_server  # noqa: PLC0415

    run_server(args, context)
    return 0


def _load(args: argparse.Namespace) -> ServerContext:
    """Import the engines and load the models."""
    from .context import load  # noqa: PLC0415  # heavy imports after --help/--version

    return load(args)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
