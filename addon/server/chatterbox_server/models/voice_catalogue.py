"""Piper's voice catalogue (``voices.json`` of the hub repo rhasspy/piper-voices).

A copy ships in ``chatterbox_server/data/voices.json``. ``refresh_voice_catalogue`` fetches the
current one into ``<download dir>/voices.json``; when that copy is present and valid it is used
instead of the shipped one.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import huggingface_hub

from .common import LogProgress

_LOGGER = logging.getLogger(__name__)

PIPER_VOICES_REPO = "rhasspy/piper-voices"
CATALOGUE_FILE = "voices.json"
# Where hub downloads land before they are moved to their final, flat place.
STAGING_DIR = ".hub-staging"

VoiceInfo = dict[str, Any]
Catalogue = dict[str, VoiceInfo]


@cache
def shipped_catalogue() -> Catalogue:
    """Return the catalogue shipped with the package."""
    text = resources.files("chatterbox_server").joinpath("data", CATALOGUE_FILE).read_text("utf-8")
    return _parse(text)


def _parse(text: str) -> Catalogue:
    data = json.loads(text)
    if not isinstance(data, dict) or not all(
        isinstance(info, dict) and isinstance(info.get("files"), dict) for info in data.values()
    ):
        raise ValueError("not a Piper voices.json: expected {name: {..., files: {...}}}")
    return data


@lru_cache(maxsize=4)
def _load_file(path: Path, _mtime_ns: int, _size: int) -> Catalogue:
    return _parse(path.read_text("utf-8"))


def load_voice_catalogue(download_dir: Path) -> Catalogue:
    """Return the refreshed catalogue in ``download_dir`` if usable, else the shipped one."""
    path = Path(download_dir) / CATALOGUE_FILE
    try:
        stat = path.stat()
    except OSError:
        return shipped_catalogue()
    try:
        return _load_file(path, stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError) as error:
        _LOGGER.warning("Ignoring %s (%s); using the shipped voice catalogue", path, error)
        return shipped_catalogue()


def catalogue_key(catalogue: Catalogue, name: str) -> str | None:
    """Return the catalogue key for ``name`` or one of its aliases, else None."""
    if name in catalogue:
        return name
    for key, info in catalogue.items():
        if name in info.get("aliases", ()):
            return key
    return None


def voice_files(info: VoiceInfo) -> tuple[str, str]:
    """Return the hub paths of a catalogue voice's ``.onnx`` and ``.onnx.json`` files."""
    files = list(info["files"])
    onnx = next(f for f in files if f.endswith(".onnx"))
    config = next(f for f in files if f.endswith(".onnx.json"))
    return onnx, config


def check_hub(filename: str) -> None:
    """Ask the hub about ``filename`` once, without retries; raise if it can't be reached.

    A download of a file not on disk yet retries a failed request five times (about 25 s)
    before it gives up, also when no host resolves: this one request fails at once instead
    (within huggingface_hub's HF_HUB_ETAG_TIMEOUT when the hub does not answer).
    """
    huggingface_hub.get_hf_file_metadata(
        huggingface_hub.hf_hub_url(PIPER_VOICES_REPO, filename),
        timeout=huggingface_hub.constants.HF_HUB_ETAG_TIMEOUT,
    )


def hub_download(filename: str, download_dir: Path) -> Path:
    """Download ``filename`` from the piper-voices repo into the staging dir; return its path."""
    path = huggingface_hub.hf_hub_download(
        PIPER_VOICES_REPO,
        filename,
        local_dir=Path(download_dir) / STAGING_DIR,
        tqdm_class=LogProgress,
    )
    return Path(path)


def refresh_voice_catalogue(download_dir: Path) -> Path:
    """Fetch the current ``voices.json`` from the hub into ``download_dir``; return its path.

    The file is checked before it replaces an earlier copy. Raises huggingface_hub's errors
    when the hub can't be reached, ``ValueError`` when the file isn't a voice catalogue.
    """
    _LOGGER.info("Refreshing the voice catalogue from hub repo %s", PIPER_VOICES_REPO)
    staged = hub_download(CATALOGUE_FILE, download_dir)
    catalogue = _parse(staged.read_text("utf-8"))
    target = Path(download_dir) / CATALOGUE_FILE
    os.replace(staged, target)
    _LOGGER.info("Voice catalogue refreshed: %d voices in %s", len(catalogue), target)
    return target
