"""Zeroconf: the server advertises _chatterbox._tcp with its port, version and modes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from chatterbox_server import __version__
from chatterbox_server.discovery import SERVICE_TYPE, default_name, service_info
from tests.support.server import ServerProcess

pytestmark = pytest.mark.usefixtures("socket_enabled")


def test_service_record() -> None:
    info = service_info("kitchen", "127.0.0.1", 10300, ["stt", "tts"])
    assert info.type == "_chatterbox._tcp.local."
    assert info.name == "kitchen._chatterbox._tcp.local."
    assert info.port == 10300
    assert info.properties == {b"version": __version__.encode(), b"modes": b"stt,tts"}
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert default_name().startswith("chatterbox-")


async def test_advertised_on_the_network(start_server: Callable[..., ServerProcess]) -> None:
    name = f"chatterbox-test-{uuid.uuid4().hex[:8]}"
    server = start_server("--mode", "tts", "--zeroconf", name)
    server.wait_for_log("Advertising")
    zeroconf = AsyncZeroconf(interfaces=InterfaceChoice.Default, ip_version=IPVersion.V4Only)
    try:
        info = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}")
        assert await info.async_request(zeroconf.zeroconf, 5000), server.log_tail()
    finally:
        await zeroconf.async_close()
    assert info.port == server.port
    assert info.properties[b"modes"] == b"tts"
    assert info.properties[b"version"] == __version__.encode()


def test_zeroconf_is_imported_only_to_advertise() -> None:
    """Without --zeroconf the server does not load the library (about 5 MB)."""
    code = (
        "import sys, chatterbox_server.__main__, chatterbox_server.server, "
        "chatterbox_server.context; print('zeroconf' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
