"""`chatterbox-describe`, the add-on's health check and discovery gate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.ports import free_port
from tests.support.server import ServerProcess


def describe(uri: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatterbox_server.describe", "--uri", uri, "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.usefixtures("socket_enabled")
def test_ready_server_answers(server: ServerProcess) -> None:
    """Exit 0 and the server's Info as JSON."""
    result = describe(server.uri)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["asr"][0]["name"] == "faster-whisper"
    assert info["tts"][0]["name"] == "piper"


@pytest.mark.usefixtures("socket_enabled")
def test_nothing_listening_fails() -> None:
    """Exit 1 with one line naming the address when no server answers."""
    uri = f"tcp://127.0.0.1:{free_port()}"
    result = describe(uri)
    assert result.returncode == 1
    assert uri in result.stderr
    assert result.stdout == ""
