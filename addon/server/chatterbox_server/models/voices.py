"""Find, download and list Piper voices.

Layout: a voice is a pair ``<name>.onnx`` + ``<name>.onnx.json`` directly in a data dir or in
the download dir; any such pair counts (custom voices, named by the file stem). Catalogue
voices are downloaded from the hub repo rhasspy/piper-voices into the download dir in the same
flat layout. Voice names are checked before they become file names: no paths, no ``..``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import (
    NEVER_DOWNLOAD,
    OFFLINE_NOTE,
    WITHOUT_HUB,
    ModelNotFoundError,
    check_name,
    one_line,
    places,
    search_dirs,
)
from .voice_catalogue import (
    PIPER_VOICES_REPO,
    Catalogue,
    VoiceInfo,
    catalogue_key,
    check_hub,
    hub_download,
    load_voice_catalogue,
    voice_files,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceFiles:
    """A Piper voice on disk: its model and its config."""

    name: str
    onnx: Path
    config: Path


@dataclass(frozen=True)
class VoiceEntry:
    """A voice as Describe/Info shows it: catalogue voices and custom voices on disk."""

    name: str
    languages: list[str]
    speakers: list[str]
    quality: str | None
    installed: bool
    description: str


def check_voice_name(name: str) -> str:
    """Return ``name`` if it is a safe voice name, else raise ``ValueError``."""
    return check_name(name, "voice")


def _pair(directory: Path, name: str) -> VoiceFiles | None:
    onnx, config = directory / f"{name}.onnx", directory / f"{name}.onnx.json"
    if onnx.is_file() and config.is_file():
        return VoiceFiles(name, onnx, config)
    return None


def _from_path(spec: str) -> VoiceFiles:
    onnx = Path(spec).expanduser()
    config = onnx.with_name(onnx.name + ".json")
    missing = [str(path) for path in (onnx, config) if not path.is_file()]
    if missing:
        raise ModelNotFoundError(f"Piper voice {spec!r} not found: missing {', '.join(missing)}")
    return VoiceFiles(onnx.name.removesuffix(".onnx"), onnx.resolve(), config.resolve())


def download_voice(
    name: str, download_dir: Path, *, catalogue: Catalogue | None = None
) -> VoiceFiles:
    """Download catalogue voice ``name`` into ``download_dir`` as ``<key>.onnx(.json)``.

    Raises ``ModelNotFoundError`` for a name outside the catalogue and huggingface_hub's errors
    when the hub can't be reached.
    """
    download_dir = Path(download_dir)
    catalogue = catalogue if catalogue is not None else load_voice_catalogue(download_dir)
    key = catalogue_key(catalogue, check_voice_name(name))
    if key is None:
        raise ModelNotFoundError(f"Piper voice {name!r} is not in the voice catalogue")
    info = catalogue[key]
    onnx_file, config_file = voice_files(info)
    expected = int(info["files"][onnx_file].get("size_bytes", 0))
    _LOGGER.info(
        "Downloading voice %s (%.1f MB) from hub repo %s to %s",
        key,
        expected / 1e6,
        PIPER_VOICES_REPO,
        download_dir,
    )
    started = time.monotonic()
    check_hub(config_file)
    staged_config = hub_download(config_file, download_dir)
    staged_onnx = hub_download(onnx_file, download_dir)
    if expected and staged_onnx.stat().st_size != expected:
        _LOGGER.warning(
            "%s is %d bytes, the catalogue says %d; the catalogue may be stale",
            onnx_file,
            staged_onnx.stat().st_size,
            expected,
        )
    files = VoiceFiles(key, download_dir / f"{key}.onnx", download_dir / f"{key}.onnx.json")
    # The model first: until its config arrives too, the voice does not count as present.
    os.replace(staged_onnx, files.onnx)
    os.replace(staged_config, files.config)
    _LOGGER.info("Downloaded voice %s in %.1f s", key, time.monotonic() - started)
    return files


def resolve_voice(
    spec: str,
    *,
    data_dirs: Sequence[Path],
    download_dir: Path,
    local_files_only: bool,
    allow_path: bool = True,
) -> VoiceFiles:
    """Return the files of voice ``spec``, downloading a catalogue voice if allowed.

    ``spec`` is a voice name (catalogue name, alias or custom voice file stem) or, when
    ``allow_path`` (the command line; never for names a client sends), a path to an ``.onnx``.
    Raises ``ValueError`` for a name that could escape the data dirs.
    """
    if spec.endswith(".onnx"):
        as_path = Path(spec).expanduser()
        if allow_path and (as_path.name != spec or as_path.exists()):
            return _from_path(spec)
        spec = spec.removesuffix(".onnx")
    check_voice_name(spec)
    catalogue = load_voice_catalogue(download_dir)
    key = catalogue_key(catalogue, spec)
    names = list(dict.fromkeys(n for n in (key, spec) if n))
    dirs = search_dirs(data_dirs, download_dir)
    for directory in dirs:
        for name in names:
            if found := _pair(directory, name):
                return found

    missing = (
        f"Piper voice {spec!r} not found: no {names[0]}.onnx with its .onnx.json in {places(dirs)}"
    )
    if key is None:
        raise ModelNotFoundError(f"{missing}; it is not in the voice catalogue either")
    fix = (
        f"{WITHOUT_HUB}pass --tts-voice PATH.onnx (its .onnx.json beside it), or put "
        f"{key}.onnx and {key}.onnx.json in DIR and pass --data-dir DIR, {NEVER_DOWNLOAD}"
    )
    if local_files_only:
        raise ModelNotFoundError(f"{missing}; {OFFLINE_NOTE}", fix)
    try:
        return download_voice(key, download_dir, catalogue=catalogue)
    except Exception as error:  # the hub's errors are many; all mean "not available"
        raise ModelNotFoundError(
            f"{missing}; download from the hub failed: {one_line(error)}", fix
        ) from error


def _speakers(speaker_id_map: Any) -> list[str]:
    if not isinstance(speaker_id_map, dict) or len(speaker_id_map) < 2:
        return []
    return [name for name, _ in sorted(speaker_id_map.items(), key=lambda item: item[1])]


def _catalogue_entry(key: str, info: VoiceInfo, installed: bool) -> VoiceEntry:
    language = info.get("language", {})
    quality = info.get("quality")
    where = f"{language.get('name_english', '?')} ({language.get('country_english', '?')})"
    return VoiceEntry(
        name=key,
        languages=[language["code"]] if language.get("code") else [],
        speakers=_speakers(info.get("speaker_id_map")),
        quality=quality,
        installed=installed,
        description=f"{info.get('name', key)} ({quality}), {where}",
    )


def _custom_entry(name: str, files: VoiceFiles) -> VoiceEntry | None:
    try:
        config = json.loads(files.config.read_text("utf-8"))
        language = config.get("language") or {}
        code = language.get("code")
        quality = (config.get("audio") or {}).get("quality")
        speakers = _speakers(config.get("speaker_id_map"))
    except (OSError, ValueError, AttributeError) as error:
        _LOGGER.warning("Skipping voice %s: unreadable config (%s)", files.config, error)
        return None
    return VoiceEntry(
        name=name,
        languages=[code] if isinstance(code, str) and code else [],
        speakers=speakers,
        quality=quality if isinstance(quality, str) else None,
        installed=True,
        description=f"{name} (custom voice in {files.onnx.parent})",
    )


def local_voices(*, data_dirs: Sequence[Path], download_dir: Path) -> dict[str, VoiceFiles]:
    """Return every ``<name>.onnx`` + ``.onnx.json`` pair on disk by name; the first dir wins."""
    found: dict[str, VoiceFiles] = {}
    for directory in search_dirs(data_dirs, download_dir):
        for onnx in sorted(directory.glob("*.onnx")) if directory.is_dir() else ():
            name = onnx.name.removesuffix(".onnx")
            if name not in found and (pair := _pair(directory, name)):
                found[name] = pair
    return found


def list_voices(*, data_dirs: Sequence[Path], download_dir: Path) -> list[VoiceEntry]:
    """Return the catalogue voices (flagged if installed) and the custom voices, by name."""
    catalogue = load_voice_catalogue(download_dir)
    installed: set[str] = set()
    entries: list[VoiceEntry] = []
    for name, files in local_voices(data_dirs=data_dirs, download_dir=download_dir).items():
        key = catalogue_key(catalogue, name)
        if key is not None:
            installed.add(key)
        elif entry := _custom_entry(name, files):
            entries.append(entry)
    entries.extend(_catalogue_entry(key, info, key in installed) for key, info in catalogue.items())
    return sorted(entries, key=lambda entry: entry.name)
