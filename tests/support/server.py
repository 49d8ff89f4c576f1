"""Run the real Chatterbox server as a subprocess on an ephemeral port.

Synchronous on purpose (``subprocess.Popen`` and polling): usable from plain pytest and from
Home Assistant's ``hass`` tests without leaving threads or asyncio tasks behind. Without an
explicit port the server binds port 0 and ``start`` reads the port it got from its "Ready" log
line (logged once the port accepts connections), so starting needs no socket in the test
process (pytest-socket blocks those outside ``socket_enabled``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType

import pytest
from wyoming.server import AsyncTcpServer

from chatterbox_server.__main__ import build_parser
from chatterbox_server.context import ServerContext, load
from chatterbox_server.handler import ChatterboxHandler
from chatterbox_server.server import bound_uri
from tests.support.ports import HOST

LOG_TAIL_LINES = 40
READY = re.compile(r"Ready: serving .* on tcp://[^:\s]+:(\d+)")
# What servers under test keep (a voice cut into stages), not the user's own data folder.
DOWNLOADS = (
    Path(os.environ.get("CHATTERBOX_CACHE", Path.home() / ".cache" / "chatterbox"))
    / "test-downloads"
)


def server_command(
    models: Path, port: int, *extra_args: str, voice: Path | None = None
) -> list[str]:
    """Return the command line that serves ``models`` on ``port``.

    The default voice is the generated test voice unless ``voice`` names another.
    """
    return [
        sys.executable,
        "-m",
        "chatterbox_server",
        "--uri",
        f"tcp://{HOST}:{port}",
        "--stt-model",
        str(models / "stt"),
        "--tts-voice",
        str(voice or models / "tts" / "en_US-test-medium.onnx"),
        "--data-dir",
        str(models / "tts"),
        "--download-dir",
        str(DOWNLOADS),
        "--local-files-only",
        *extra_args,
    ]


class ServerProcess:
    """The real server in a subprocess; ``start`` returns once its port accepts connections."""

    def __init__(
        self, models: Path, *extra_args: str, port: int | None = None, voice: Path | None = None
    ) -> None:
        self.host = HOST
        self.port = port if port is not None else 0  # known after start() when 0
        self.uri = f"tcp://{self.host}:{self.port}"
        self.command = server_command(models, self.port, *extra_args, voice=voice)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="chatterbox-server-")
        self.log_path = Path(self._log_dir.name) / "server.log"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running subprocess, if started."""
        return self._process

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until its port accepts connections (its Ready line)."""
        if self._process is not None:
            raise RuntimeError("server already started")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise RuntimeError(
                    f"server exited with code {code} before listening:\n{self.log_tail()}"
                )
            if match := READY.search(self.log()):
                self.port = int(match.group(1))
                self.uri = f"tcp://{self.host}:{self.port}"
                return
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"server did not listen on {self.uri} within {timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after a grace period)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        """Wait until a log line matches the regular expression ``pattern``; return the match."""
        deadline = time.monotonic() + timeout
        while True:
            matches = list(re.finditer(pattern, self.log()))
            if matches:
                return matches[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r}:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server log."""
        return "\n".join(self.log().splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never leave a server behind, even on errors
            self.stop()


@contextmanager
def real_model_server(models: Path) -> Iterator[ServerProcess]:
    """The server on real models laid out as scripts/fetch-models does (stt/, tts/*.onnx)."""
    voices = sorted((models / "tts").glob("*.onnx"))
    if not voices:
        pytest.skip(f"no Piper voice (*.onnx) in {models / 'tts'}")
    server = ServerProcess(models, voice=voices[0])
    server.start(timeout=300)  # real models take longer to load
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def serve_in_process(args: list[str]) -> AsyncIterator[tuple[str, ServerContext]]:
    """Run the server in this process (for tests that reach into its engines).

    Yields its URI (``tcp://127.0.0.1:0`` in ``args`` picks a free port) and its context; on
    exit the connections finish and the engines' threads stop.
    """
    parsed = build_parser().parse_args(args)
    context = load(parsed)
    server = AsyncTcpServer("127.0.0.1", 0)
    await server.start(partial(ChatterboxHandler, context))
    try:
        yield bound_uri(server, parsed.uri), context
    finally:
        await server.stop()
        while server._handlers:  # noqa: ASYNC110  # let the connections finish
            await asyncio.sleep(0.01)
        context.close()
