"""Fixtures for the integration's tests: the real server, a recording proxy, entries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.chatterbox import client as client_module
from custom_components.chatterbox.const import DOMAIN
from tests.support.ha import auto_enable_custom_integrations, tts_cache_dir  # noqa: F401
from tests.support.server import ServerProcess

from .proxy import WyomingProxy

FAST_TIMEOUTS = client_module.Timeouts(connect=0.5, describe=0.5, transcript=0.5, audio=0.5)

type SetupEntry = Callable[..., Awaitable[MockConfigEntry]]


@contextmanager
def _sockets_allowed() -> Iterator[None]:
    """Let a session fixture poll the server's port while the HA plugin blocks sockets."""
    blocked = socket.socket is not pytest_socket._true_socket
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        if blocked:
            pytest_socket.disable_socket(allow_unix_socket=True)


def start_server(models: Path, *args: str, port: int | None = None) -> ServerProcess:
    """Start the real server (sockets allowed while waiting for its port)."""
    server = ServerProcess(models, *args, port=port)
    with _sockets_allowed():
        server.start()
    return server


@pytest.fixture(scope="session")
def shared_server(test_models: Path) -> Iterator[ServerProcess]:
    """One real server (STT and TTS) for tests that do not stop it."""
    server = start_server(test_models)
    yield server
    server.stop()


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> client_module.Timeouts:
    """Half-second deadlines so fault tests finish quickly."""
    monkeypatch.setattr(client_module, "DEFAULT_TIMEOUTS", FAST_TIMEOUTS)
    return FAST_TIMEOUTS


@pytest.fixture
async def proxy(socket_enabled: None, shared_server: ServerProcess) -> AsyncIterator[WyomingProxy]:
    """A recording, fault-injecting proxy in front of the shared server."""
    wyoming_proxy = WyomingProxy(shared_server.host, shared_server.port)
    await wyoming_proxy.start()
    yield wyoming_proxy
    await wyoming_proxy.stop()


@pytest.fixture
async def core(hass: HomeAssistant) -> None:
    """Home Assistant's core integration (exposure settings), which every real HA runs."""
    assert await async_setup_component(hass, "homeassistant", {})


@pytest.fixture
async def setup_entry(hass: HomeAssistant, core: None) -> SetupEntry:
    """Add a config entry for a server at host/port and set it up."""

    async def _setup(
        host: str, port: int, options: dict[str, Any] | None = None, *, expect: bool = True
    ) -> MockConfigEntry:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Chatterbox",
            data={CONF_HOST: host, CONF_PORT: port},
            options=options or {},
            unique_id=f"{host}:{port}",
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id) is expect
        await hass.async_block_till_done()
        return entry

    return _setup


@pytest.fixture
async def proxied_entry(setup_entry: SetupEntry, proxy: WyomingProxy) -> MockConfigEntry:
    """An entry loaded through the proxy in front of the shared server."""
    return await setup_entry(proxy.host, proxy.port)
