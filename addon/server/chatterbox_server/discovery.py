"""Zeroconf (mDNS) advertisement so the Chatterbox integration can find this server.

zeroconf is imported only when advertising (``--zeroconf``): a server without it does not
carry the library (about 5 MB).
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_chatterbox._tcp.local."
MDNS_GROUP = "224.0.0.251"


def default_name() -> str:
    """Return the default instance name, ``chatterbox-<hostname>``."""
    return f"chatterbox-{socket.gethostname().split('.')[0]}"


def local_address(host: str) -> str:
    """Return the address to advertise: ``host`` unless it is a wildcard, else the LAN one."""
    if host not in ("", "0.0.0.0", "::"):
        return socket.gethostbyname(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((MDNS_GROUP, 5353))  # no packet is sent; picks the outgoing interface
        address: str = sock.getsockname()[0]
        return address


def service_info(name: str, host: str, port: int, modes: list[str]) -> AsyncServiceInfo:
    """Build the service record: type ``_chatterbox._tcp``, TXT ``version`` and ``modes``."""
    from zeroconf.asyncio import AsyncServiceInfo  # noqa: PLC0415  # only when advertising

    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(local_address(host))],
        port=port,
        properties={"version": __version__, "modes": ",".join(modes)},
        server=f"{socket.gethostname().split('.')[0]}.local.",
    )


class Advertiser:
    """Register the service while the server runs."""

    def __init__(self, name: str, host: str, port: int, modes: list[str]) -> None:
        self.info = service_info(name, host, port, modes)
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Register the service on the local network."""
        from zeroconf import IPVersion  # noqa: PLC0415  # only when advertising
        from zeroconf.asyncio import AsyncZeroconf  # noqa: PLC0415

        self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        await self._zeroconf.async_register_service(self.info, allow_name_change=True)
        _LOGGER.info("Advertising %s on port %d via zeroconf", self.info.name, self.info.port)

    async def stop(self) -> None:
        """Unregister the service and close zeroconf."""
        if self._zeroconf is not None:
            await self._zeroconf.async_unregister_service(self.info)
            await self._zeroconf.async_close()
            self._zeroconf = None
