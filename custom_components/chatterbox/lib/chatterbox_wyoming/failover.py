"""Several servers for one client: each request goes to the first that works, exactly once.

A :class:`ServerList` holds Wyoming servers in the order they are preferred and sends each
request to the first one that is not resting after a failure (those that are come last: better a
late try than none). When a server refuses the connection, misses a deadline, answers garbage,
sends an Error or closes before its answer, the request goes to the next one:

- **Speech to text**: the utterance's audio is kept while it streams (:class:`Replay`, at most
  ``MAX_REPLAY_SECONDS``), so the next server gets all of it at once and then the rest as it
  comes. The caller's audio is read by one task of its own, so a request that fails never
  cancels the caller's stream. One Transcript per request.
- **Text to speech**: the request goes to the next server as long as no audio was passed on;
  once audio has gone out, a failure ends the answer where it is (what was said stays said).
  Text that streams in is kept the same way, and a server that does not synthesize streamed
  text gets all of it in one request when it has come.

A failed server rests for a back-off (``BACKOFF_FIRST_SECONDS`` doubling to
``BACKOFF_MAX_SECONDS``, with jitter so that many clients do not come back at once) and
:meth:`ServerList.watch` probes it with Describe when the rest is over; it is used again as soon
as it answers. A server that answered with an Error still answers: it is not rested.
``FAILOVER_TIMEOUTS`` are the deadlines that decide "down": short enough that trying a dead
server costs well under a second, with a Describe handshake opening every request so that a
server that accepts but never answers is found out as quickly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event
from wyoming.info import Info
from wyoming.tts import SynthesizeVoice

from .client import Timings, Transcription, WyomingClient, host_port
from .connection import Timeouts
from .errors import ServerError, WyomingError
from .protocol import PCM16K

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

FAILOVER_TIMEOUTS = Timeouts(connect=0.5, handshake=0.5)
"""Deadlines of a server that has another behind it: connecting (a sleeping host never answers
its SYN) and the opening Describe. Loopback and LAN take milliseconds for either."""
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 300.0
BACKOFF_JITTER = 0.2
"""Each rest is drawn within this share either side of its nominal length."""
MAX_REPLAY_SECONDS = 30.0
"""Audio kept for a replay (16 kHz mono 16-bit: 960 kB); past it an utterance is not replayed."""

VoiceFor = Callable[["Server"], SynthesizeVoice | None]
"""The voice to ask a given server for (servers have different voices)."""


@dataclass
class Health:
    """What is known of one server: whether it answers, its last error, how fast it is."""

    up: bool | None = None
    """True: answered last; False: failed last (resting); None: not asked yet."""
    failures: int = 0
    """Failures in a row."""
    retry_at: float = 0.0
    """``time.monotonic()`` when its rest ends."""
    down_since: float | None = None
    """``time.time()`` when it went down (None while up)."""
    error: WyomingError | None = None
    """The last failure."""
    last_error_at: float | None = None
    """``time.time()`` of ``error``."""
    latency_ms: float | None = None
    """The last Describe's round trip."""
    info: Info | None = None
    """The last Info it gave."""

    @property
    def last_error(self) -> str | None:
        """The last failure as text (its kind and message)."""
        return None if self.error is None else f"{type(self.error).__name__}: {self.error}"


@dataclass(eq=False)
class Server:
    """One server of the list and its health."""

    client: WyomingClient
    health: Health = field(default_factory=Health)

    @property
    def name(self) -> str:
        """``host:port``."""
        return host_port(self.client.host, self.client.port)

    @property
    def streams_text(self) -> bool:
        """False when its last Info says it cannot synthesize text that arrives in pieces."""
        info = self.health.info
        return info is None or any(
            tts.installed and tts.supports_synthesize_streaming for tts in info.tts
        )


class AllFailed(WyomingError):
    """Every server failed; ``errors`` has each one's failure, in the order they were tried."""

    def __init__(self, errors: Sequence[tuple[Server, WyomingError]]) -> None:
        super().__init__("; ".join(f"{server.name}: {err}" for server, err in errors))
        self.errors = list(errors)


class Replay(Generic[T]):
    """Keeps what a caller streams so that each server tried can be given all of it.

    One task reads the caller's stream (:meth:`start`); :meth:`stream` gives everything kept so
    far and then each new item as it comes. Past ``limit`` units (``size`` of each item) nothing
    more is kept, and a stream started after that fails with :class:`ReplayLost`.
    """

    def __init__(
        self, source: AsyncIterable[T], limit: int, size: Callable[[T], int] = lambda _: 1
    ) -> None:
        self._source = source
        self._limit = limit
        self._size = size
        self.items: list[T] = []
        self.kept = 0
        self.complete = True
        """False once something was not kept: only the first stream can go on."""
        self.ended = False
        self._error: BaseException | None = None
        self._grown = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._tail: list[T] = []  # (items past the limit, for the stream that reads them)
        self._streams = 0

    def start(self) -> None:
        """Start reading the caller's stream."""
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for item in self._source:
                if self.complete and self.kept + self._size(item) <= self._limit:
                    self.items.append(item)
                    self.kept += self._size(item)
                else:
                    self.complete = False
                    self._tail.append(item)
                self._wake()
        except Exception as err:  # (passed on to the stream reading it)
            self._error = err
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        self._grown.set()
        self._grown = asyncio.Event()

    async def stream(self) -> AsyncGenerator[T]:
        """Everything kept, then the rest as it comes; ends when the caller's stream does."""
        if self._streams and not self.complete:
            raise ReplayLost  # (the stream before this one had more than was kept)
        self._streams += 1
        index = 0
        while True:
            while index < len(self.items):
                index += 1
                yield self.items[index - 1]
            while self._tail:
                yield self._tail.pop(0)
            if self.ended:
                if self._error is not None:
                    raise self._error
                return
            await self._grown.wait()

    async def all(self) -> list[T]:
        """Wait for the caller's stream to end and return all of it (kept or not)."""
        while not self.ended:
            await self._grown.wait()
        if self._error is not None:
            raise self._error
        return [*self.items, *self._tail]

    async def close(self) -> None:
        """Stop reading the caller's stream."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader


class ReplayLost(WyomingError):
    """More was streamed than is kept for a replay: the next server cannot be given all of it."""

    def __init__(self) -> None:
        super().__init__(f"more than {MAX_REPLAY_SECONDS:g} s streamed: cannot replay it")


class ServerList:
    """Wyoming servers in the order they are preferred, with their health."""

    def __init__(
        self,
        clients: Sequence[WyomingClient],
        *,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not clients:
            raise ValueError("a server list needs a server")
        self.servers = [Server(client) for client in clients]
        self.on_change = on_change
        """Called when a server goes up or down or fails a request."""
        self._clock = clock
        self._jitter = jitter
        self._failed = asyncio.Event()

    @classmethod
    def of(
        cls,
        addresses: Sequence[tuple[str, int]],
        timeouts: Timeouts | None = None,
        **kwargs: Any,
    ) -> ServerList:
        """Make a list of clients for ``addresses``.

        With more than one, each request opens with a handshake, and connecting and the
        handshake have FAILOVER_TIMEOUTS' deadlines (the other deadlines are ``timeouts``').
        """
        if len(addresses) > 1:
            base = timeouts or Timeouts()
            timeouts = replace(
                base,
                connect=min(base.connect, FAILOVER_TIMEOUTS.connect),
                handshake=min(base.handshake, FAILOVER_TIMEOUTS.handshake),
            )
        clients = [
            WyomingClient(host, port, timeouts, handshake=len(addresses) > 1)
            for host, port in addresses
        ]
        return cls(clients, **kwargs)

    def order(self) -> list[Server]:
        """Return the servers in the order to try them now: those resting after the others."""
        now = self._clock()
        ready = [server for server in self.servers if server.health.retry_at <= now]
        return ready + [server for server in self.servers if server not in ready]

    def succeeded(
        self, server: Server, info: Info | None = None, latency_ms: float | None = None
    ) -> None:
        """Note that ``server`` answered."""
        health = server.health
        changed = health.up is not True
        health.up, health.failures, health.retry_at, health.down_since = True, 0, 0.0, None
        if info is not None:
            health.info = info
        if latency_ms is not None:
            health.latency_ms = latency_ms
        if changed:
            _LOGGER.info("%s answers", server.name)
            self._changed()

    def failed(self, server: Server, err: WyomingError) -> None:
        """Note that ``server`` failed; unless it answered with an Error, it rests."""
        health = server.health
        health.error, health.last_error_at = err, time.time()
        if isinstance(err, ServerError):
            self._changed()
            return
        health.failures += 1
        rest = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (health.failures - 1))
        rest *= 1 + BACKOFF_JITTER * (2 * self._jitter() - 1)
        health.retry_at = self._clock() + rest
        if health.up is not False:
            health.down_since = time.time()
            _LOGGER.warning("%s failed (%s); trying it again in %.0f s", server.name, err, rest)
        health.up = False
        self._failed.set()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def describe(self, server: Server) -> Info | None:
        """Describe ``server`` and note the outcome; None when it failed."""
        started = time.perf_counter()
        try:
            info = await server.client.describe()
        except WyomingError as err:
            self.failed(server, err)
            return None
        self.succeeded(server, info, round((time.perf_counter() - started) * 1000, 1))
        return info

    async def describe_all(self) -> list[Info | None]:
        """Describe every server, all at once (resting ones too); None where one failed."""
        return list(await asyncio.gather(*(self.describe(server) for server in self.servers)))

    async def watch(self) -> None:
        """Forever: probe each resting server with Describe once its rest is over."""
        while True:
            now = self._clock()
            due = [s for s in self.servers if s.health.up is False and s.health.retry_at <= now]
            if due:
                await asyncio.gather(*(self.describe(server) for server in due))
                continue
            rests = [s.health.retry_at - now for s in self.servers if s.health.up is False]
            self._failed.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(min(rests) if rests else None):
                    await self._failed.wait()

    async def transcribe(
        self, audio: AsyncIterable[bytes], *, timings: Timings | None = None, **options: Any
    ) -> tuple[Transcription, Server]:
        """Transcribe ``audio`` on the first server that answers; raise AllFailed if none did.

        ``options`` are :meth:`WyomingClient.transcribe`'s; ``timings`` are the last try's.
        """
        replay: Replay[bytes] = Replay(
            audio, round(MAX_REPLAY_SECONDS * PCM16K.bytes_per_second), len
        )
        replay.start()
        errors: list[tuple[Server, WyomingError]] = []
        try:
            for server in self.order():
                if not replay.complete:
                    break
                try:
                    result = await server.client.transcribe(
                        replay.stream(), timings=_reset(timings), **options
                    )
                except WyomingError as err:
                    self.failed(server, err)
                    errors.append((server, err))
                    continue
                self.succeeded(server)
                if errors:
                    _LOGGER.info("Transcribed on %s after %d failed", server.name, len(errors))
                return result, server
        finally:
            await replay.close()
        raise AllFailed(errors)

    async def synthesize(
        self, text: str, *, voice: VoiceFor, timings: Timings | None = None, **options: Any
    ) -> AsyncGenerator[Event]:
        """Speak ``text`` on the first server that answers; yield its answer's events."""

        def request(server: Server) -> AsyncGenerator[Event]:
            return server.client.synthesize(
                text, voice=voice(server), timings=_reset(timings), **options
            )

        async with aclosing(self._speak(request)) as events:
            async for event in events:
                yield event

    async def synthesize_stream(
        self,
        text: AsyncIterable[str],
        *,
        voice: VoiceFor,
        timings: Timings | None = None,
        **options: Any,
    ) -> AsyncGenerator[Event]:
        """Speak text as it comes on the first server that answers; yield its events.

        A server that does not synthesize streamed text is sent all of it once it has come.
        """
        replay: Replay[str] = Replay(text, 1 << 20, len)  # (answers are short; 1 M characters)
        replay.start()

        def request(server: Server) -> AsyncGenerator[Event]:
            if server.streams_text:
                return server.client.synthesize_stream(
                    replay.stream(), voice=voice(server), timings=_reset(timings), **options
                )
            return self._whole_text(server, replay, voice(server), timings, options)

        try:
            async with aclosing(self._speak(request)) as events:
                async for event in events:
                    yield event
        finally:
            await replay.close()

    @staticmethod
    async def _whole_text(
        server: Server,
        replay: Replay[str],
        voice: SynthesizeVoice | None,
        timings: Timings | None,
        options: dict[str, Any],
    ) -> AsyncGenerator[Event]:
        options = {k: v for k, v in options.items() if k != "full_text"}
        whole = "".join(await replay.all())
        events = server.client.synthesize(whole, voice=voice, timings=_reset(timings), **options)
        async with aclosing(events):
            async for event in events:
                yield event

    async def _speak(
        self, request: Callable[[Server], AsyncGenerator[Event]]
    ) -> AsyncGenerator[Event]:
        """Yield one server's answer: the next server's while none of it was yielded."""
        errors: list[tuple[Server, WyomingError]] = []
        for server in self.order():
            spoke = False
            try:
                async with aclosing(request(server)) as events:
                    async for event in events:
                        spoke = (
                            spoke
                            or AudioStart.is_type(event.type)
                            or AudioChunk.is_type(event.type)
                        )
                        yield event
            except ReplayLost as err:
                errors.append((server, err))
                break
            except WyomingError as err:
                self.failed(server, err)
                if spoke:
                    _LOGGER.warning("%s failed mid-answer (%s): it ends", server.name, err)
                    return
                errors.append((server, err))
                continue
            self.succeeded(server)
            return
        raise AllFailed(errors)


def _reset(timings: Timings | None) -> Timings | None:
    """Start ``timings`` over for the next try (the caller's object, so it sees the last)."""
    if timings is not None:
        fresh = Timings()
        for item in fields(Timings):
            setattr(timings, item.name, getattr(fresh, item.name))
    return timings
