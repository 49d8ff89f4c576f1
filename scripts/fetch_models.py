"""Fill DIR with a real faster-whisper model and a real Piper voice from the Hugging Face hub.

Layout (the same shape as scripts/make-test-models output, so tests take either):

  DIR/stt                  -> symlink to downloads/<repo name>, the faster-whisper model dir
                              (model.bin, config.json, tokenizer.json, vocabulary.*)
  DIR/downloads/<repo>/    the hub snapshot of the model repo (several models may sit here)
  DIR/tts/<voice>.onnx     the Piper voice, with DIR/tts/<voice>.onnx.json beside it

Downloads use the server's own resolver (chatterbox_server.models), so files already present
are kept and an interrupted download resumes. Then run the accuracy tests with
CHATTERBOX_TEST_MODELS=DIR scripts/test. Needs network access to huggingface.co (or
HF_ENDPOINT); without it this fails with a one-line reason and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chatterbox_server.models import (
    STT_CATALOGUE,
    ModelNotFoundError,
    check_voice_name,
    refresh_voice_catalogue,
    resolve_stt_model,
    resolve_voice,
)

DEFAULT_STT_MODEL = "base-int8"
DEFAULT_VOICE = "en_US-lessac-medium"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="fetch-models",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="directory to fill")
    parser.add_argument(
        "--stt-model",
        default=DEFAULT_STT_MODEL,
        help=f"faster-whisper catalogue name or hub repo id (default {DEFAULT_STT_MODEL}; "
        f"names: {', '.join(STT_CATALOGUE)})",
    )
    parser.add_argument(
        "--voice",
        default=DEFAULT_VOICE,
        help=f"Piper voice from the voice catalogue (default {DEFAULT_VOICE})",
    )
    parser.add_argument(
        "--refresh-catalogue",
        action="store_true",
        help="first fetch the current Piper voices.json into DIR/tts (else the shipped one)",
    )
    return parser.parse_args(argv)


def check_stt_link(link: Path) -> None:
    """Refuse to touch DIR/stt unless it is missing or a link this script made."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a link made by fetch-models; remove it")


def link_stt(target: Path, link: Path) -> None:
    """Point ``link`` (DIR/stt) at the model directory ``target``."""
    check_stt_link(link)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target.relative_to(link.parent))


def fetch(args: argparse.Namespace) -> None:
    """Download the model and the voice into ``args.dir``."""
    check_voice_name(args.voice)
    root: Path = args.dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    check_stt_link(root / "stt")
    model = resolve_stt_model(
        args.stt_model, data_dirs=[], download_dir=root / "downloads", local_files_only=False
    )
    link_stt(model, root / "stt")
    logging.info("STT model %s ready in %s", args.stt_model, root / "stt")
    if args.refresh_catalogue:
        refresh_voice_catalogue(root / "tts")
    voice = resolve_voice(
        args.voice,
        data_dirs=[],
        download_dir=root / "tts",
        local_files_only=False,
        allow_path=False,
    )
    logging.info("Piper voice %s ready: %s", voice.name, voice.onnx)


def main(argv: list[str] | None = None) -> int:
    """Run fetch-models; return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="fetch-models: %(message)s")
    try:
        fetch(args)
    except Exception as error:  # every failure ends in one line, no traceback
        known = isinstance(error, ModelNotFoundError | ValueError | OSError)
        text = str(error) if known else f"{type(error).__name__}: {error}"
        print(f"fetch-models: error: {(text.splitlines() or [''])[0]}", file=sys.stderr)
        return 1
    print(f"fetch-models: done; use CHATTERBOX_TEST_MODELS={args.dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
