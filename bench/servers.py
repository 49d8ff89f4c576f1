"""The servers under test: their command lines, start-up, readiness and peak memory."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wyoming.info import Info

from bench.client import HOST, describe

CHATTERBOX = "chatterbox"
FASTER_WHISPER = "wyoming-faster-whisper"
FASTER_WHISPER_ENDPOINTING = "wyoming-faster-whisper+endpointing"
ENDPOINTING_SECONDS = "0.5"  # the peer answers after this much VAD silence (--vad-endpointing)
PIPER = "wyoming-piper"
SERVERS = (CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING, PIPER)
LABELS = {
    FASTER_WHISPER: "the peer as Home Assistant runs it: the whole clip with its tail of "
    "silence, then AudioStop",
    FASTER_WHISPER_ENDPOINTING: f"the peer with --vad-endpointing {ENDPOINTING_SECONDS}",
}
# Home Assistant's VAD sensitivities (Transcribe.vad_sensitivity): Chatterbox's default run
# sends none (the server's default); the others run as variants named by variant().
DEFAULT_SENSITIVITY = "default"
SENSITIVITIES = (DEFAULT_SENSITIVITY, "aggressive", "relaxed")
ROLES = {
    CHATTERBOX: ("stt", "tts"),
    FASTER_WHISPER: ("stt",),
    FASTER_WHISPER_ENDPOINTING: ("stt",),
    PIPER: ("tts",),
}
READY_TIMEOUT = 180.0


def variant(sensitivity: str) -> str:
    """Name Chatterbox's results at ``sensitivity`` (``chatterbox`` at the default)."""
    return CHATTERBOX if sensitivity == DEFAULT_SENSITIVITY else f"{CHATTERBOX}-{sensitivity}"


@dataclass(frozen=True)
class Settings:
    """What every server is given alike: model files, decoding and threads."""

    models: Path
    voice: Path
    beam_size: int
    compute_type: str
    cpu_threads: int
    stt_workers: int  # Chatterbox only: the peer transcribes one request at a time
    vad_filter: bool
    sentence_silence: float
    chatterbox: Path
    peer_python: Path
    scratch: Path

    @functools.cached_property
    def libraries(self) -> tuple[Path, ...]:
        """The servers' shared libraries (their venvs' and the standard library's), found once."""
        venvs = (self.chatterbox.parent.parent, self.peer_python.parent.parent)
        found = [venv for venv in venvs if (venv / "pyvenv.cfg").is_file()]
        return library_files((*found, Path(os.__file__).parent))


def find_voice(models: Path, name: str | None) -> Path:
    """Find the voice ``models/tts/NAME.onnx``, else the test voice, else the first one there."""
    tts = models / "tts"
    if name:
        path = tts / (name if name.endswith(".onnx") else f"{name}.onnx")
        if not path.is_file():
            raise FileNotFoundError(f"no voice {path}")
        return path
    preferred = tts / "en_US-test-medium.onnx"
    if preferred.is_file():
        return preferred
    voices = sorted(tts.glob("*.onnx"))
    if not voices:
        raise FileNotFoundError(f"no .onnx voice in {tts}")
    return voices[0]


def command(name: str, settings: Settings, port: int) -> list[str]:
    """Build the command line that serves ``name`` on ``port`` with the shared settings."""
    uri = f"tcp://{HOST}:{port}"
    beam, threads = str(settings.beam_size), str(settings.cpu_threads)
    compute = ("--compute-type", settings.compute_type)
    silence = str(settings.sentence_silence)
    if name == CHATTERBOX:
        return [
            str(settings.chatterbox),
            *("--uri", uri, "--stt-model", str(settings.models / "stt")),
            *("--tts-voice", str(settings.voice), "--data-dir", str(settings.voice.parent)),
            *("--local-files-only", "--beam-size", beam, "--cpu-threads", threads),
            *compute,
            *("--stt-workers", str(settings.stt_workers)),
            "--vad-filter" if settings.vad_filter else "--no-vad-filter",
            *("--sentence-silence", silence),
        ]
    if name in (FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING):
        endpointing = name == FASTER_WHISPER_ENDPOINTING
        data = settings.scratch / "faster-whisper-data"
        data.mkdir(parents=True, exist_ok=True)
        return [
            str(settings.peer_python),
            *("-m", "wyoming_faster_whisper", "--uri", uri),
            *("--model", str(settings.models / "stt"), "--stt-library", "faster-whisper"),
            *("--data-dir", str(data), "--local-files-only"),
            *("--beam-size", beam, "--cpu-threads", threads),
            *compute,
            *(["--vad-filter"] if settings.vad_filter else []),
            *(["--vad-endpointing", ENDPOINTING_SECONDS] if endpointing else []),
        ]
    if name == PIPER:
        return [
            str(settings.peer_python),
            *("-m", "wyoming_piper", "--uri", uri),
            *("--voice", settings.voice.stem, "--data-dir", str(settings.voice.parent)),
            *("--local-files-only", "--sentence-silence", silence),
        ]
    raise ValueError(f"unknown server {name!r}")


def library_files(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    """Return the shared libraries (``*.so*`` regular files) under ``roots``."""
    found = (path for root in dict.fromkeys(roots) for path in root.rglob("*.so*"))
    return tuple(path for path in found if not path.is_symlink() and path.is_file())


def drop_cached_libraries(libraries: tuple[Path, ...]) -> int:
    """Drop the page cache of ``libraries``; return how many files it was dropped for.

    How much of a library a process maps, and so its RSS, depends on how the library's pages
    came into the page cache: just written by pip (a fresh clone's new venv) they are mapped
    in larger runs than once read back from disk, which put 20-35 MB on one server's peak RSS
    and not on another's. Dropped before each start, every server begins as after a reboot.
    Only clean pages no process maps are dropped; no privilege is needed.
    """
    dropped = 0
    for path in libraries:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fdatasync(fd)  # pages still being written back would stay
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            dropped += 1
        finally:
            os.close(fd)
    return dropped


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc/PID/task/*/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of one process in KiB, 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RunningServer:
    """One server subprocess: start, wait for Describe, sample peak RSS, stop."""

    def __init__(self, name: str, settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.libraries = settings.libraries
        self.port = free_port()
        self.command = command(name, settings, self.port)
        self.log_path = log_dir / f"{name}.log"
        self.info: Info | None = None
        self.ready_s: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._peaks: dict[int, int] = {}
        self._pid: int | None = None

    async def start(self) -> float:
        """Start the process (its libraries read from disk) and return seconds until Describe.

        See :func:`drop_cached_libraries`.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        drop_cached_libraries(self.libraries)
        self._log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
        started = time.perf_counter()
        self._process = subprocess.Popen(  # noqa: ASYNC220  # returns at once
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        self._pid = self._process.pid
        while time.perf_counter() - started < READY_TIMEOUT:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            try:
                self.info, _ = await describe(self.port, limit=1.0)
            except (OSError, TimeoutError, ConnectionError):
                await asyncio.sleep(0.05)
                continue
            self.ready_s = time.perf_counter() - started
            self.sample_memory()
            return self.ready_s
        raise TimeoutError(f"{self.name} not ready in {READY_TIMEOUT:g} s:\n{self.log_tail()}")

    def sample_memory(self) -> None:
        """Remember the peak RSS of every process in the server's tree."""
        if self._pid is None or self._process is None or self._process.poll() is not None:
            return
        for pid in _process_tree(self._pid):
            self._peaks[pid] = max(self._peaks.get(pid, 0), _vm_hwm_kib(pid))

    @property
    def peak_rss_mb(self) -> float:
        """Peak RSS of the server and its children (sum of each process's peak), in MiB."""
        return sum(self._peaks.values()) / 1024

    async def watch_memory(self, interval: float = 0.25) -> None:
        """Sample memory until cancelled."""
        while True:
            self.sample_memory()
            await asyncio.sleep(interval)

    def supports_streaming(self) -> bool:
        """Whether the server announced streaming synthesis in its Describe answer."""
        return bool(self.info and any(t.supports_synthesize_streaming for t in self.info.tts))

    def info_bytes(self) -> int:
        """Return the size of the Describe answer's JSON data."""
        return len(json.dumps(self.info.event().data)) if self.info else 0

    def version(self) -> str | None:
        """Return the program version the server announced."""
        programs = [*(self.info.asr if self.info else []), *(self.info.tts if self.info else [])]
        return programs[0].version if programs else None

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server's log."""
        if self._log is not None:
            self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Take a last memory sample, then SIGTERM (SIGKILL after 10 s)."""
        self.sample_memory()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
