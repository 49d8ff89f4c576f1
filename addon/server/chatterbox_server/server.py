"""Serve: open the port once everything is loaded, advertise, stop cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from functools import partial
from urllib.parse import urlparse

from wyoming.server import AsyncServer, AsyncStdioServer, AsyncTcpServer

from .context import ServerContext
from .discovery import Advertiser
from .handler import ChatterboxHandler

_LOGGER = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)


def bound_uri(server: AsyncServer, uri: str) -> str:
    """Return ``uri`` with the port actually bound (``tcp://HOST:0`` picks a free one)."""
    listening = getattr(server, "_server", None)  # wyoming keeps the asyncio server private
    sockets = getattr(listening, "sockets", None)
    if isinstance(server, AsyncTcpServer) and sockets:
        return f"tcp://{server.host}:{sockets[0].getsockname()[1]}"
    return uri


async def serve(args: argparse.Namespace, context: ServerContext) -> None:
    """Open the port (models are loaded already) and serve until SIGTERM/SIGINT."""
    server = AsyncServer.from_uri(args.uri)
    if args.zeroconf and not isinstance(server, AsyncTcpServer):
        raise ValueError("--zeroconf needs a tcp:// --uri")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if isinstance(server, AsyncStdioServer):  # one client: stdin/stdout, until EOF
        _LOGGER.info("Ready: serving %s on stdio://", " and ".join(context.modes))
        await server.run(partial(ChatterboxHandler, context))
        return
    await server.start(partial(ChatterboxHandler, context))
    uri = bound_uri(server, args.uri)
    _LOGGER.info("Ready: serving %s on %s", " and ".join(context.modes), uri)
    advertiser: Advertiser | None = None
    try:
        if args.zeroconf:
            parsed = urlparse(uri)
            advertiser = Advertiser(
                args.zeroconf, parsed.hostname or "", parsed.port or 0, context.modes
            )
            await advertiser.start()
        await stop.wait()
        _LOGGER.info("Stopping")
    finally:
        if advertiser is not None:
            await advertiser.stop()
        await server.stop()


def run_server(args: argparse.Namespace, context: ServerContext) -> None:
    """Serve until SIGTERM or Ctrl-C, then release the engines."""
    # Worker threads run Python code between model calls; a shorter GIL switch interval lets
    # the event loop (Describe, audio I/O) get the GIL sooner while they are busy.
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        asyncio.run(serve(args, context))
    except KeyboardInterrupt:
        _LOGGER.info("Interrupted")
    finally:
        context.close()
        _LOGGER.info("Stopped")
