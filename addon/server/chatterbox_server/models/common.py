"""What the STT and voice resolvers share: the error, name checks, download progress logs."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

_LOGGER = logging.getLogger(__name__)

# A name that may become part of a file name: letters, digits, "_", "." and "-", no "..".
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

OFFLINE_NOTE = "downloads are off (--local-files-only)"
WITHOUT_HUB = "without the hub: "
NEVER_DOWNLOAD = "and add --local-files-only to never try downloading"


class ModelNotFoundError(RuntimeError):
    """A model or voice is neither on disk nor downloadable; the message is one line.

    ``fix``, when set, is one more line that says how to do without the hub (the command line
    prints it last).
    """

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


def check_name(name: str, what: str) -> str:
    """Return ``name`` if it is safe to use as a file name, else raise ``ValueError``."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"invalid {what} name {name!r}: use only letters, digits, '_', '.' and '-' "
            "(no '/', no '..', no absolute paths)"
        )
    return name


def one_line(error: BaseException) -> str:
    """Describe ``error`` in one line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    first = text[0].strip() if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def places(paths: Iterable[Path]) -> str:
    """Join paths for an error message, each once, in order."""
    return ", ".join(dict.fromkeys(str(path) for path in paths)) or "(no directories given)"


def search_dirs(data_dirs: Sequence[Path], download_dir: Path) -> list[Path]:
    """Return the data dirs, then the download dir, each once."""
    return list(dict.fromkeys([*(Path(d) for d in data_dirs), Path(download_dir)]))


class _NullWriter:
    """A file that discards what tqdm writes, so only the log sees progress."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""


class LogProgress(hf_tqdm):
    """A huggingface_hub progress bar that logs at most every few seconds instead of drawing."""

    log_interval = 5.0
    monitor_interval = 0  # no tqdm monitor thread

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["file"] = _NullWriter()
        kwargs["disable"] = False  # the hub disables bars on non-terminals; logs are wanted
        kwargs["mininterval"] = self.log_interval
        self._last_log = 0.0
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Log the progress instead of drawing it."""
        now = time.monotonic()
        values = self.format_dict
        done, total = values.get("n") or 0, values.get("total")
        finished = bool(total) and done >= total
        if now - self._last_log < self.log_interval and not finished:
            return True
        self._last_log = now
        desc = values.get("prefix") or "download"
        if values.get("unit") == "B":
            size = f"{done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else "")
        else:
            size = f"{done:g}" + (f" of {total:g}" if total else "")
        _LOGGER.info("%s: %s", desc, size)
        return True
