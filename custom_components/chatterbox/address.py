"""Where a server listens, and the ordered list of an entry's servers (preferred first)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT

from .const import CONF_FALLBACKS, DEFAULT_PORT, LOGGER
from .lib.chatterbox_wyoming import host_port


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """A Wyoming server's host and port."""

    host: str
    port: int

    @property
    def key(self) -> str:
        """``host:port`` (an IPv6 host in brackets), as stored in the fallbacks option."""
        return host_port(self.host, self.port)

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        """Read ``host``, ``host:port`` or ``[v6 host]:port``; raise ValueError if it is not."""
        text = text.strip()
        # urlsplit drops tabs and newlines and keeps spaces inside a host; an address has
        # neither. A colon with nothing after it is a port left out, not the default port.
        if any(char.isspace() for char in text) or text.endswith(":"):
            raise ValueError(f"not a host:port address: {text!r}")
        try:
            parts = urlsplit(f"//{text}")
            port = parts.port
        except ValueError as err:
            raise ValueError(f"not a host:port address: {text!r}") from err
        if not parts.hostname or parts.path or parts.query or parts.fragment or "@" in text:
            raise ValueError(f"not a host:port address: {text!r}")
        if port == 0:
            raise ValueError(f"port 0 in {text!r}")
        return cls(parts.hostname, port if port is not None else DEFAULT_PORT)


def entry_servers(entry: ConfigEntry) -> list[ServerAddress]:
    """Return the entry's servers in the order they are tried: its own, then its fallbacks."""
    servers = [ServerAddress(entry.data[CONF_HOST], entry.data[CONF_PORT])]
    for text in entry.options.get(CONF_FALLBACKS, []):
        try:
            address = ServerAddress.parse(text)
        except ValueError:
            LOGGER.warning("Fallback %r of %s is not host:port; left out", text, entry.title)
            continue
        if address not in servers:
            servers.append(address)
    return servers
