"""The time a failover adds: Chatterbox behind a preferred server that is down, stalls or dies.

Issue 29's server list (the client core's :class:`ServerList`) sends each request to the first
server that works, replaying the audio of one that failed to the next. Each request here goes
through a fresh list (a failed server would rest and be tried last), to Chatterbox alone or
behind a preferred server (:data:`STT_CASES`):

- ``normal``: Chatterbox alone, a list of one (no handshake): the path without failover;
- ``handshake``: [chatterbox, chatterbox]: what the opening Describe of a list costs;
- ``down``: [a port nobody listens on, chatterbox];
- ``stalling``: [a server that accepts and reads but never answers, chatterbox];
- ``killed``: [a second Chatterbox, started as the bench's own, chatterbox]: the second is
  SIGKILLed once half the speech's audio went to it (STT only; half the clip may be in the
  silence after the speech).

STT plays each clip to every case in turn (the machine's drift weighs on each alike), paced as
a microphone, and times the end of speech to the transcript; TTS asks the short answer one-shot
and times the request to its first audio. Raw records only: :func:`bench.report.failover`
turns them into the numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wyoming.audio import AudioChunk

from bench.client import CHUNK_BYTES, HOST, RATE, TIMEOUT, WIDTH, paced, synthesize
from bench.servers import CHATTERBOX, RunningServer, Settings, free_port
from chatterbox_wyoming import Timeouts, Timings, WyomingError
from chatterbox_wyoming.failover import ServerList
from corpus import Clip

if TYPE_CHECKING:
    from bench.run import Config

NORMAL, HANDSHAKE, DOWN, STALLING, KILLED = "normal", "handshake", "down", "stalling", "killed"
STT_CASES = (NORMAL, HANDSHAKE, DOWN, STALLING, KILLED)
TTS_CASES = (NORMAL, HANDSHAKE, DOWN, STALLING)
LABELS = {
    NORMAL: "chatterbox alone",
    HANDSHAKE: "behind a healthy chatterbox (handshake)",
    DOWN: "preferred down (port closed)",
    STALLING: "preferred stalling (never answers)",
    KILLED: "preferred killed mid-utterance",
}
GAP = 0.1
"""Seconds of quiet between two requests."""


class Microphone:
    """A clip in 20 ms chunks, each once it would have been recorded (``bench.client.paced``).

    ``midway`` is called as the chunk past half the speech is recorded (before it is handed
    on).
    """

    def __init__(
        self,
        pcm: bytes,
        pace: float,
        speech_end: float,
        midway: Callable[[], None] | None = None,
    ) -> None:
        self.pcm = pcm
        self.pace = pace
        self.speech_end = speech_end
        self.midway = midway
        self.speech_ended: float | None = None
        """``time.perf_counter()`` when the chunk with the speech's end was handed on."""
        self.midway_s: float | None = None
        """Seconds of audio handed on when ``midway`` was called."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield the chunks, paced at ``pace`` x real time (0: unpaced)."""
        async for offset, chunk in paced(self.pcm, self.pace, time.perf_counter()):
            start = offset / (RATE * WIDTH)
            if self.midway is not None and start >= self.speech_end / 2:
                self.midway()
                self.midway = None
                self.midway_s = round(start, 3)
            end = min(offset + CHUNK_BYTES, len(self.pcm)) / (RATE * WIDTH)
            if self.speech_ended is None and end >= self.speech_end:
                self.speech_ended = time.perf_counter()
            yield chunk


def _servers(ports: Sequence[int]) -> ServerList:
    """Make a fresh list of the servers on ``ports``, with the bench's long request deadlines."""
    return ServerList.of([(HOST, port) for port in ports], Timeouts(*(TIMEOUT,) * 4))


def _outcome(servers: ServerList) -> dict[str, Any]:
    """Which server answered (its index; None: none) and what each one before it failed with."""
    answered = next(
        (i for i, server in enumerate(servers.servers) if server.health.up is True), None
    )
    return {
        "answered_by": answered,
        "failed": [server.health.last_error for server in servers.servers[:answered]],
    }


async def transcribe(
    ports: Sequence[int],
    clip: Clip,
    pace: float,
    language: str | None,
    names: Sequence[str] = (),
    midway: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Play ``clip`` to the first of ``ports`` that works; one record (end of speech, text).

    ``midway`` is called once half the speech was recorded (``midway_s`` in the record).
    """
    pcm = clip.pcm()
    microphone = Microphone(pcm, pace, clip.speech_end, midway)
    servers = _servers(ports)
    timings = Timings()
    async with asyncio.timeout(TIMEOUT + len(pcm) / (RATE * WIDTH)):
        result, _ = await servers.transcribe(
            microphone.chunks(),
            language=language,
            names=list(names) or None,
            stop_after_transcript=False,
            timings=timings,
        )
    arrived = timings.transcript if timings.transcript is not None else time.perf_counter()
    ended = microphone.speech_ended
    return {
        "clip": clip.id,
        "text": result.text,
        "speech_end_ms": None if ended is None else round((arrived - ended) * 1000, 2),
        "early": result.early,
        **_outcome(servers),
        **({} if midway is None else {"midway_s": microphone.midway_s}),
    }


async def speak(ports: Sequence[int], text: str) -> dict[str, Any]:
    """Ask the first of ``ports`` that works to speak ``text`` one-shot; time its first audio.

    From the request's start (before connecting: trying the preferred server is the cost).
    """
    servers = _servers(ports)
    started = time.perf_counter()
    first: float | None = None
    async with asyncio.timeout(TIMEOUT):
        events = servers.synthesize(text, voice=lambda _: None)
        async with contextlib.aclosing(events):
            async for event in events:
                if first is None and AudioChunk.is_type(event.type):
                    first = time.perf_counter()
    if first is None:
        raise WyomingError("no audio")
    return {
        "first_audio_ms": round((first - started) * 1000, 2),
        "total_ms": round((time.perf_counter() - started) * 1000, 2),
        **_outcome(servers),
    }


@contextlib.asynccontextmanager
async def stalling_server() -> AsyncIterator[int]:
    """Yield the port of a server that accepts connections, reads them and never answers."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(1 << 16):
                pass
        writer.close()

    server = await asyncio.start_server(swallow, HOST, 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()


class Victim(RunningServer):
    """A second Chatterbox with the bench's command line on its own port, to be SIGKILLed."""

    def __init__(self, settings: Settings, log_dir: Path, number: int) -> None:
        super().__init__(CHATTERBOX, settings, log_dir)
        self.log_path = log_dir / f"{CHATTERBOX}-killed-{number}.log"

    def kill(self) -> None:
        """SIGKILL the server (no goodbye: its connections are reset by the kernel)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()


@dataclass
class _Log:
    """Records per case and the errors, as the result's ``failover`` holds them."""

    stt: dict[str, list[dict[str, Any]]]
    tts: dict[str, list[dict[str, Any]]]
    errors: list[str]

    async def run(
        self, kind: str, case: str, request: Awaitable[dict[str, Any]], **extra: Any
    ) -> None:
        """Await ``request``; keep its record (with ``extra``), or its error as text."""
        records = self.stt if kind == "stt" else self.tts
        try:
            records[case].append({**await request, **extra})
        except (WyomingError, OSError, TimeoutError, RuntimeError) as err:
            self.errors.append(f"failover {kind} {case}: {type(err).__name__}: {err}")
        await asyncio.sleep(GAP)


async def bench_failover(config: Config, settings: Settings, port: int) -> dict[str, Any]:
    """Measure every case against the Chatterbox on ``port``; return the raw records.

    ``config.failover_clips`` clips to each STT case (the first ``config.failover_kills`` of
    them to ``killed``, each with a Chatterbox of its own started for it), then
    ``config.failover_tts`` rounds of the answer's synthesis to each TTS case.
    """
    chosen = list(config.clips[: config.failover_clips])
    kills = min(config.failover_kills, len(chosen))
    log = _Log({case: [] for case in STT_CASES}, {case: [] for case in TTS_CASES}, [])
    closed = free_port()
    log_dir = config.out_dir / "logs" / "failover"
    async with stalling_server() as stalling:
        lists = {
            NORMAL: [port],
            HANDSHAKE: [port, port],
            DOWN: [closed, port],
            STALLING: [stalling, port],
        }
        config.say(
            f"{CHATTERBOX}: failover, {len(chosen)} clips to each of {', '.join(lists)}, "
            f"{kills} of them to a Chatterbox killed mid-utterance"
        )
        for number, clip in enumerate(chosen):
            for case, ports in lists.items():
                await log.run("stt", case, transcribe(ports, clip, *_stt_options(config)))
            if number >= kills:
                continue
            victim = Victim(settings, log_dir, number)
            try:
                await victim.start()
                request = transcribe(
                    [victim.port, port], clip, *_stt_options(config), midway=victim.kill
                )
                await log.run("stt", KILLED, request)
            except (OSError, RuntimeError, TimeoutError) as err:  # (it did not start)
                log.errors.append(f"failover stt {KILLED}: {type(err).__name__}: {err}")
            finally:
                victim.stop()
        config.say(f"{CHATTERBOX}: failover, TTS first audio, {config.failover_tts} rounds")
        if config.failover_tts:
            await synthesize(port, config.answer_text)  # (the voice loaded)
        for round_ in range(config.failover_tts):
            for case, ports in lists.items():
                await log.run("tts", case, speak(ports, config.answer_text), round=round_)
    return {
        "clips": [clip.id for clip in chosen],
        "killed_clips": [clip.id for clip in chosen[:kills]],
        "pace": config.pace,
        "tts_text": config.answer_text,
        "stt": log.stt,
        "tts": log.tts,
        "errors": log.errors,
    }


def _stt_options(config: Config) -> tuple[float, str | None, Sequence[str]]:
    return config.pace, config.language, config.names
