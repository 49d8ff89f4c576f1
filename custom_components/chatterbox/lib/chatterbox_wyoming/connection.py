"""One Wyoming connection: a deadline on connecting, on every write and on every read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event

from .errors import CannotConnect, ConnectionClosed, MalformedReply, ServerError, Timeout

T = TypeVar("T")

ANSWER_GRACE = 0.2
"""Seconds a request the server cut off waits for what the server sent before it closed."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait at each stage of a request."""

    connect: float = 5.0
    """Opening the TCP connection, and each write to it."""
    describe: float = 5.0
    """From Describe to Info."""
    transcript: float = 30.0
    """From the end of the upload to the Transcript, and between events until it."""
    audio: float = 30.0
    """From the request to the first audio, and between audio events after it."""
    handshake: float = 1.0
    """From a request's opening Describe to Info, for a client made with ``handshake``."""


def parse(parse_event: Callable[[Event], T], event: Event) -> T:
    """Parse a Wyoming event, turning a malformed one into MalformedReply."""
    try:
        return parse_event(event)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise MalformedReply(f"malformed {event.type} event") from err


class Connection:
    """An open Wyoming connection; :meth:`open` makes one."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeouts: Timeouts
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.timeouts = timeouts

    @classmethod
    async def open(cls, host: str, port: int, timeouts: Timeouts) -> Connection:
        """Connect within ``timeouts.connect``."""
        try:
            async with asyncio.timeout(timeouts.connect):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError as err:
            raise Timeout("connect") from err
        except OSError as err:
            raise CannotConnect(host, port) from err
        return cls(reader, writer, timeouts)

    async def write(self, event: Event) -> None:
        """Send ``event`` within ``timeouts.connect``."""
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await async_write_event(event, self._writer)
        except TimeoutError as err:
            raise Timeout("write") from err
        except OSError as err:
            raise ConnectionClosed() from err

    async def read(self, seconds: float | None, stage: str) -> Event:
        """Return the next event within ``seconds``; raise on an Error event or a close."""
        try:
            async with asyncio.timeout(seconds):
                event = await async_read_event(self._reader)
        except TimeoutError as err:
            raise Timeout(stage) from err
        except (OSError, asyncio.IncompleteReadError) as err:
            raise ConnectionClosed() from err
        except (KeyError, TypeError, AttributeError) as err:
            raise MalformedReply("unreadable event") from err
        if event is None:
            raise ConnectionClosed()
        if Error.is_type(event.type):
            error = parse(Error.from_event, event)
            raise ServerError(error.code, error.text)
        return event

    async def events_while(
        self, send: Coroutine[Any, Any, None], seconds: float, stage: str
    ) -> AsyncGenerator[Event, None]:
        """Yield the events read while ``send`` writes the request, and after it.

        No deadline while ``send`` runs (the server may be waiting for more of the request);
        once it is done, each event must come within ``seconds``. When ``send`` fails, so does
        the iteration, at once; but if the server closed the connection, what it sent before
        (within ANSWER_GRACE) comes first: its Error or answer says more than the broken pipe.
        Ending the iteration (break, aclose) stops ``send``. The iteration never ends by itself.
        """
        sender = asyncio.ensure_future(send)
        reading: asyncio.Task[Event] | None = None
        try:
            while True:
                if reading is None:
                    reading = asyncio.ensure_future(self.read(None, stage))
                if not sender.done():
                    await asyncio.wait({reading, sender}, return_when=asyncio.FIRST_COMPLETED)
                error = sender.exception() if sender.done() else None
                if error is not None and not reading.done():
                    if not isinstance(error, ConnectionClosed):
                        raise error
                    await asyncio.wait({reading}, timeout=ANSWER_GRACE)
                    if not reading.done() or isinstance(reading.exception(), ConnectionClosed):
                        raise error
                if not reading.done():
                    await asyncio.wait({reading}, timeout=seconds)
                    if not reading.done():
                        raise Timeout(stage)
                event = reading.result()
                reading = None
                yield event
        finally:
            pending = [task for task in (sender, reading) if task is not None]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        """Close the connection (a reset on the way out does not matter)."""
        self._writer.close()
        with suppress(OSError):
            await self._writer.wait_closed()
