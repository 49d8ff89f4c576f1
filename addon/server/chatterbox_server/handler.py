"""The Wyoming event handler: one instance per connection, all heavy work on worker threads.

It reads events (through the guarded reader), answers Describe and Ping itself, and hands
speech-to-text events to :class:`~.listening.Listening` and text-to-speech events to
:class:`~.speaking.Speaking`. Anything a client gets wrong becomes an Error event for that client.
A well-formed event of a type this server does not handle (``select-program``, a newer
protocol's event) is dropped without a reply, as the Wyoming package expects of servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import cast

from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from .context import ServerContext
from .limits import ClientError, GuardedReader
from .listening import Listening
from .speaking import Speaking

_LOGGER = logging.getLogger(__name__)

LINGER_SECONDS = 2.0  # after refusing a well-framed event: read (and drop) the rest this long


class _Encoded:
    """Stands in for the stream writer while wyoming encodes events: keeps their bytes.

    wyoming writes an event's header, data and payload separately, and each write to an idle
    socket is a system call the client may wake up for. Collected, events leave in one write.
    """

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def writelines(self, data: Iterable[bytes]) -> None:
        self.parts.extend(data)

    async def drain(self) -> None:
        return


class ChatterboxHandler(AsyncEventHandler):
    """Answer Describe, Transcribe/audio and Synthesize (one-shot and streaming) events."""

    def __init__(
        self, context: ServerContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.context = context
        self.guard = GuardedReader(reader)
        peer = writer.get_extra_info("peername")
        self.client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "client")
        self.listening = Listening(context.stt, self) if context.stt is not None else None
        self.speaking = Speaking(context.voices, self) if context.voices is not None else None
        self._linger = False

    async def run(self) -> None:
        """Read events through the guarded reader until EOF, idle timeout or a bad event."""
        try:
            while True:
                try:
                    event = await asyncio.wait_for(
                        async_read_event(cast(asyncio.StreamReader, self.guard)),
                        self.context.idle_timeout,
                    )
                except TimeoutError:
                    _LOGGER.info(
                        "%s: idle for %g s, closing", self.client, self.context.idle_timeout
                    )
                    break
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except Exception as err:  # a header wyoming could not decode
                    await self.fail("bad-event", f"malformed event: {type(err).__name__}: {err}")
                    break
                if event is None:
                    if not self.guard.eof:
                        code = "too-large" if self.guard.violation else "bad-event"
                        text = self.guard.violation or "malformed event (not a Wyoming JSON header)"
                        await self.fail(code, text)
                    break
                if not await self.handle_event(event):
                    if self._linger:
                        await self._drain()
                    break
        finally:
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        """Handle one event; False closes the connection (after an Error event)."""
        kind: object = event.type  # decoded from client JSON: could be anything
        data: object = event.data
        if not isinstance(kind, str) or not isinstance(data, dict):
            await self.fail("bad-event", "event type must be a string and data an object")
            return False
        _LOGGER.debug("%s -> %s", self.client, event.type)
        try:
            return await self._dispatch(event)
        except ClientError as err:
            self._linger = True
            await self.fail(err.code, err.text)
        except (KeyError, TypeError, AttributeError) as err:
            self._linger = True
            await self.fail("bad-event", f"bad {event.type} event: {type(err).__name__}: {err}")
        except ConnectionError:
            pass
        except Exception:
            _LOGGER.exception("%s: failed to handle %s", self.client, event.type)
            await self.fail("internal", f"internal error handling {event.type}")
        return False

    async def _dispatch(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self.write_event(self.context.info.event)
            return True
        if Ping.is_type(kind):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
            return True
        if Transcribe.is_type(kind):
            self._stt().transcribe(Transcribe.from_event(event))
        elif AudioStart.is_type(kind):
            self._stt().audio_start(AudioStart.from_event(event))
        elif AudioChunk.is_type(kind):
            self._stt().audio_chunk(AudioChunk.from_event(event))
        elif AudioStop.is_type(kind):
            await self._stt().audio_stop()
        elif Synthesize.is_type(kind):
            await self._tts().synthesize(Synthesize.from_event(event))
        elif SynthesizeStart.is_type(kind):
            await self._tts().start_stream(SynthesizeStart.from_event(event))
        elif SynthesizeChunk.is_type(kind):
            return await self._tts().stream_text(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(kind):
            return await self._tts().stop_stream()
        else:
            # Not ours: dropped, as Wyoming peers do (an Error here made clients that send
            # e.g. select-program before a request fail the request that follows).
            _LOGGER.debug("%s: ignoring %s event (not handled here)", self.client, kind)
        return True

    def _stt(self) -> Listening:
        if self.listening is None:
            raise ClientError("stt-disabled", "speech-to-text is off on this server (--mode)")
        return self.listening

    def _tts(self) -> Speaking:
        if self.speaking is None:
            raise ClientError("tts-disabled", "text-to-speech is off on this server (--mode)")
        return self.speaking

    # --- connection -----------------------------------------------------------------------

    async def write_event(self, event: Event) -> None:
        """Send an event unless the connection is closing (see :meth:`write_events`)."""
        await self.write_events((event,))

    async def write_events(self, events: Sequence[Event]) -> None:
        """Send events in one write to the socket unless the connection is closing.

        Writing to a closing transport is not just useless: ``writelines`` on a transport that
        lost its connection registers the socket with the event loop again after it was closed,
        and a later connection reusing that file descriptor then never gets read. So a gone
        client is an error here.
        """
        if self.writer.is_closing():
            raise ConnectionResetError("client disconnected")
        encoded = _Encoded()
        for event in events:
            await async_write_event(event, cast(asyncio.StreamWriter, encoded))
        self.writer.writelines(encoded.parts)
        try:
            async with asyncio.timeout(self.context.idle_timeout):
                await self.writer.drain()
        except TimeoutError:
            _LOGGER.info(
                "%s: not reading for %g s, closing", self.client, self.context.idle_timeout
            )
            self.writer.close()
            raise ConnectionResetError("client stopped reading") from None

    async def _drain(self) -> None:
        """Read and drop what the client still sends, briefly, so it can read our Error.

        Closing while the client is still writing (audio, usually) resets the connection, and
        the client may lose the Error event it has not read yet.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        with contextlib.suppress(Exception):
            while (remaining := deadline - loop.time()) > 0:
                reader = cast(asyncio.StreamReader, self.guard)
                if await asyncio.wait_for(async_read_event(reader), remaining) is None:
                    break

    async def fail(self, code: str, text: str) -> None:
        """End the connection's work (a stream still speaking, speculation), then send Error.

        Nothing follows the Error: the connection closes after it.
        """
        await self.disconnect()
        await self.error(code, text)

    async def error(self, code: str, text: str) -> None:
        """Send an Error event (best effort) and log it."""
        _LOGGER.warning("%s: %s: %s", self.client, code, text)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.write_event(Error(text=text, code=code).event())

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()

    async def disconnect(self) -> None:
        """Stop a stream still being spoken, and speculation, when the client goes away."""
        for session in (self.listening, self.speaking):
            if session is not None:
                await session.close()
