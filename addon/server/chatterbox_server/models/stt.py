"""Find or download a faster-whisper (CTranslate2) model.

Layout: a model is a directory holding ``model.bin`` and ``config.json``. For a spec that names
a hub repository ``owner/<repo>`` (directly, or through a catalogue name) the resolver looks for
``<dir>/<repo>/`` -- and for a catalogue name also ``<dir>/<name>/`` -- in every data dir and
then in the download dir; a bare name outside the catalogue is looked up as ``<dir>/<name>/``.
Each dir is also read as a Hugging Face cache (``<dir>/models--<owner>--<repo>/snapshots/...``,
the layout faster-whisper's own downloads and wyoming-faster-whisper's download dir use), so
models fetched by those are found offline too. Downloads go to ``<download dir>/<repo>/``
(``snapshot_download`` with ``local_dir``), so the next start finds them there without
touching the network.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

import huggingface_hub

from .common import (
    NEVER_DOWNLOAD,
    OFFLINE_NOTE,
    WITHOUT_HUB,
    LogProgress,
    ModelNotFoundError,
    check_name,
    one_line,
    places,
    search_dirs,
)

_LOGGER = logging.getLogger(__name__)

# Catalogue names -> CTranslate2 model repositories on the hub. The plain sizes are the
# repositories faster-whisper itself uses; the "-int8" ones are the int8 re-uploads that
# wyoming-faster-whisper uses (smaller and faster on CPU).
STT_CATALOGUE: dict[str, str] = {
    "tiny": "Systran/faster-whisper-tiny",
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "tiny-int8": "rhasspy/faster-whisper-tiny-int8",
    "base": "Systran/faster-whisper-base",
    "base.en": "Systran/faster-whisper-base.en",
    "base-int8": "rhasspy/faster-whisper-base-int8",
    "small": "Systran/faster-whisper-small",
    "small.en": "Systran/faster-whisper-small.en",
    "small-int8": "rhasspy/faster-whisper-small-int8",
    "medium": "Systran/faster-whisper-medium",
    "medium.en": "Systran/faster-whisper-medium.en",
    "medium-int8": "rhasspy/faster-whisper-medium-int8",
    "large-v1": "Systran/faster-whisper-large-v1",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large": "Systran/faster-whisper-large-v3",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}

# The files faster-whisper reads from a model repository.
STT_MODEL_FILES = [
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
]

_REPO_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*")


def is_model_dir(path: Path) -> bool:
    """Return whether ``path`` is a CTranslate2 model directory faster-whisper can load."""
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def _from_hub_cache(cache_dir: Path, repo_id: str) -> Path | None:
    """Return ``repo_id``'s snapshot in the Hugging Face cache ``cache_dir``; never goes online."""
    cached = huggingface_hub.try_to_load_from_cache(repo_id, "model.bin", cache_dir=cache_dir)
    if isinstance(cached, str) and is_model_dir(Path(cached).parent):
        return Path(cached).parent
    return None


def stt_repo_id(spec: str) -> str | None:
    """Return the hub repository a catalogue name or ``owner/name`` spec stands for, else None."""
    if spec in STT_CATALOGUE:
        return STT_CATALOGUE[spec]
    if _REPO_ID.fullmatch(spec) and ".." not in spec:
        return spec
    return None


def _looks_like_path(spec: str) -> bool:
    return (
        Path(spec).is_absolute()
        or spec.startswith(("./", "../", "~"))
        or spec.endswith("/")
        or spec.count("/") > 1
        or spec in {".", ".."}
    )


def download_stt_model(repo_id: str, local_dir: Path, *, local_files_only: bool = False) -> Path:
    """Download the faster-whisper files of hub repo ``repo_id`` into ``local_dir``.

    Raises whatever huggingface_hub raises when the hub can't be reached or has no such repo.
    """
    _LOGGER.info("Downloading STT model %s to %s", repo_id, local_dir)
    started = time.monotonic()
    path = huggingface_hub.snapshot_download(
        repo_id,
        local_dir=local_dir,
        allow_patterns=STT_MODEL_FILES,
        local_files_only=local_files_only,
        tqdm_class=LogProgress,
    )
    _LOGGER.info("Downloaded %s in %.1f s", repo_id, time.monotonic() - started)
    return Path(path)


def _given_dir(spec: str) -> Path | None:
    """Return ``spec`` as a model directory if it names one; raise if it names a bad path."""
    given = Path(spec).expanduser()
    if given.is_dir():
        if is_model_dir(given):
            return given.resolve()
        raise ModelNotFoundError(
            f"STT model directory {given} has no model.bin and config.json "
            "(expected a CTranslate2 faster-whisper model)"
        )
    if _looks_like_path(spec):
        raise ModelNotFoundError(f"STT model directory {given} does not exist")
    return None


def _find_local(
    spec: str, repo_id: str | None, dirs: Sequence[Path], looked: list[Path]
) -> Path | None:
    """Look for the model in every dir, noting each place in ``looked``."""
    names = [spec] if repo_id is None or spec in STT_CATALOGUE else []
    if repo_id is not None:
        names.insert(0, repo_id.split("/", 1)[1])
    for directory in dirs:
        for name in dict.fromkeys(names):
            looked.append(directory / name)
            if is_model_dir(directory / name):
                return directory / name
        if repo_id is not None:
            looked.append(directory / f"models--{repo_id.replace('/', '--')}")
            if cached := _from_hub_cache(directory, repo_id):
                return cached
    return None


def resolve_stt_model(
    spec: str, *, data_dirs: Sequence[Path], download_dir: Path, local_files_only: bool
) -> Path:
    """Return the directory of the faster-whisper model ``spec``, downloading it if allowed.

    ``spec`` is a catalogue name (see ``STT_CATALOGUE``), a hub repo id ``owner/name``, a model
    directory, or the name of a model directory inside a data dir.
    """
    if given := _given_dir(spec):
        return given
    repo_id = stt_repo_id(spec)
    if repo_id is None:
        check_name(spec, "STT model")
    looked: list[Path] = []
    if found := _find_local(spec, repo_id, search_dirs(data_dirs, download_dir), looked):
        _LOGGER.debug("STT model %s found at %s", spec, found)
        return found

    what = f"STT model {spec!r}" + (f" (hub repo {repo_id})" if repo_id and repo_id != spec else "")
    missing = f"{what} not found; looked in {places(looked)}"
    if repo_id is None:
        raise ModelNotFoundError(
            f"{missing}; it is not a local directory, a hub repo id or a catalogue name "
            f"({', '.join(STT_CATALOGUE)})"
        )
    folder = repo_id.split("/", 1)[1]
    fix = (
        f"{WITHOUT_HUB}copy the model (model.bin, config.json, ...) to a folder and pass "
        f"--stt-model DIR, or put it in DIR/{folder}/ and pass --data-dir DIR (or "
        f"--download-dir DIR), {NEVER_DOWNLOAD}"
    )
    if local_files_only:
        raise ModelNotFoundError(f"{missing}; {OFFLINE_NOTE}", fix)

    target = Path(download_dir) / folder
    try:
        path = download_stt_model(repo_id, target)
    except Exception as error:  # the hub's errors are many; all mean "not available"
        raise ModelNotFoundError(
            f"{missing}; download from the hub failed: {one_line(error)}", fix
        ) from error
    if not is_model_dir(path):
        raise ModelNotFoundError(
            f"{missing}; hub repo {repo_id} has no model.bin and config.json "
            "(not a CTranslate2 faster-whisper model)"
        )
    return path
