"""Server addresses: parsing what a user types, the stored key, an entry's servers in order."""

from __future__ import annotations

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.chatterbox.address import ServerAddress, entry_servers
from custom_components.chatterbox.const import CONF_FALLBACKS, DEFAULT_PORT, DOMAIN


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("box", "box", DEFAULT_PORT),
        ("box:10301", "box", 10301),
        ("  box.local:1  ", "box.local", 1),
        ("Box.LAN:65535", "box.lan", 65535),
        ("192.168.1.20:10300", "192.168.1.20", 10300),
        ("[::1]:10300", "::1", 10300),
        ("[fd00::20]", "fd00::20", DEFAULT_PORT),
    ],
)
def test_parse(text: str, host: str, port: int) -> None:
    """Host, host:port and a bracketed IPv6 host; the port defaults to Wyoming's 10300."""
    address = ServerAddress.parse(text)
    assert address == ServerAddress(host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ":10300",
        "box:port",
        "box:0",
        "box:65536",
        "box:-1",
        "box:",
        "box: 10300",
        "box:\t10300",
        "my box:10300",
        "::1",
        "[::1",
        "[not-ip]:10300",
        "box/path",
        "box:10300/",
        "tcp://box:10300",
        "box?x=1",
        "box#x",
        "user@box:10300",
    ],
)
def test_parse_refuses(text: str) -> None:
    """Anything but host[:port]: no address, a ValueError."""
    with pytest.raises(ValueError, match=r"address|port"):
        ServerAddress.parse(text)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        (ServerAddress("box", 10300), "box:10300"),
        (ServerAddress("192.168.1.20", 1), "192.168.1.20:1"),
        (ServerAddress("::1", 10300), "[::1]:10300"),
    ],
)
def test_key_round_trips(address: ServerAddress, key: str) -> None:
    """The key brackets an IPv6 host and parses back to the same address."""
    assert address.key == key
    assert ServerAddress.parse(key) == address


def _entry(host: str, port: int, fallbacks: list[str] | None = None) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        data={CONF_HOST: host, CONF_PORT: port},
        options={CONF_FALLBACKS: fallbacks} if fallbacks is not None else {},
    )


def test_entry_servers_in_order() -> None:
    """The entry's own server first, then its fallbacks in the stored order."""
    entry = _entry("workstation", 10300, ["[::1]:10301", "addon"])
    assert entry_servers(entry) == [
        ServerAddress("workstation", 10300),
        ServerAddress("::1", 10301),
        ServerAddress("addon", DEFAULT_PORT),
    ]


def test_entry_servers_once_each() -> None:
    """The own server repeated, or a fallback listed twice, is tried once."""
    entry = _entry("box", 10300, ["other:1", "box", "other:1", "box:10301"])
    assert entry_servers(entry) == [
        ServerAddress("box", 10300),
        ServerAddress("other", 1),
        ServerAddress("box", 10301),
    ]
    assert entry_servers(_entry("box", 10300)) == [ServerAddress("box", 10300)]


def test_entry_servers_leave_out_what_is_not_an_address(caplog: pytest.LogCaptureFixture) -> None:
    """A hand-edited fallback that is not host:port is left out (with a warning), not fatal."""
    entry = _entry("box", 10300, ["not an address", "other:1"])
    assert entry_servers(entry) == [ServerAddress("box", 10300), ServerAddress("other", 1)]
    assert "'not an address'" in caplog.text
