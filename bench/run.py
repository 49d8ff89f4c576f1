"""Run the whole benchmark: each server alone for STT, Describe and memory; TTS in turns."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import measure
from bench.client import ONESHOT, TTS_MODES, synthesize, transcribe
from bench.failover import bench_failover
from bench.report import summarize
from bench.servers import (
    CHATTERBOX,
    DEFAULT_SENSITIVITY,
    FASTER_WHISPER,
    FASTER_WHISPER_ENDPOINTING,
    PIPER,
    ROLES,
    SERVERS,
    RunningServer,
    Settings,
    find_voice,
    variant,
)
from corpus import Clip

TTS_TEXT = (
    "The kitchen light is now on and the heating is set to twenty one degrees. "
    "Tomorrow will be sunny in the morning, with a light breeze from the west. "
    "Remember to take the bins out before you go to bed tonight."
)
ANSWER_TEXT = "Turned on the lights in the office."
"""The short answer spoken right after each transcript, for end of speech -> first audio."""
ANSWERING = {CHATTERBOX: CHATTERBOX, FASTER_WHISPER: PIPER}
"""Each STT server's TTS in the pipeline pair that speaks the answer."""


@dataclass
class Config:
    """What to run; the defaults are the full benchmark."""

    models: Path
    peer_python: Path
    chatterbox: Path
    out_dir: Path
    clips: Sequence[Clip]  # complete commands (said at once)
    paused: Sequence[Clip] = ()  # commands with a pause inside, played from 1 client
    split: str = "sample"  # which corpus half the clips are: test, dev or the CI sample
    sensitivities: Sequence[str] = (DEFAULT_SENSITIVITY,)  # Chatterbox's, besides the default
    voice: str | None = None
    servers: Sequence[str] = SERVERS
    clients: Sequence[int] = (1, 2, 4)
    pace: float = 1.0
    tts_text: str = TTS_TEXT
    answer_text: str = ANSWER_TEXT
    answers: bool = True  # end of speech -> first audio of the answer (1 client, pairs)
    tts_repeats: int = 30
    tts_gap: float = 0.05
    describe_samples: int = 20
    load_seconds: float = 10.0
    beam_size: int = 1
    compute_type: str = "int8"
    cpu_threads: int = 2
    stt_workers: int = 1
    vad_filter: bool = True
    language: str | None = "en"
    names: tuple[str, ...] = ()  # the home's names, sent with every transcription
    no_names_pass: bool = True  # the complete commands again without names (unpaced), for WER
    sentence_silence: float = 0.2
    failover_clips: int = 8  # complete commands played to each failover case (0: no failover)
    failover_kills: int = 4  # of those, played to a preferred Chatterbox killed mid-utterance
    failover_tts: int = 8  # rounds of the answer's synthesis to each failover case
    quick: bool = False
    log: Any = field(default=sys.stderr)

    def say(self, text: str) -> None:
        """Progress line on the log stream."""
        print(f"[bench] {text}", file=self.log, flush=True)


def machine() -> dict[str, Any]:
    """Where the numbers were taken."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def cpu_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """Return the busy and stolen CPU ticks since boot (Linux), None where unknown.

    Stolen: time a virtual machine wanted to run while its host ran something else.
    """
    try:
        fields = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    except (OSError, ValueError):
        return None
    return user + nice + system + irq + softirq, steal


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Return the share of the CPU time wanted between two ``cpu_ticks`` the host kept."""
    if before is None or after is None:
        return None
    busy, stolen = after[0] - before[0], after[1] - before[1]
    return round(stolen / (busy + stolen), 3) if busy + stolen > 0 else None


@contextlib.asynccontextmanager
async def answering(
    config: Config, settings: Settings, server: RunningServer, clients: int
) -> AsyncIterator[int | None]:
    """Yield the port of the TTS that answers ``server``'s transcripts, None for no answers.

    Answers are timed from 1 client only. Chatterbox answers itself; wyoming-faster-whisper's
    pair is a wyoming-piper started alongside for this phase only (stopped on leaving), as Home
    Assistant runs the two.
    """
    tts = ANSWERING.get(server.name) if config.answers and clients == 1 else None
    if tts is None or tts not in config.servers:
        yield None
        return
    if tts == server.name:
        await synthesize(server.port, config.answer_text)  # the voice loaded, as at home
        yield server.port
        return
    partner = RunningServer(tts, settings, config.out_dir / "logs" / "answers")
    try:
        config.say(f"{server.name}: starting {tts} alongside to speak the answers")
        await partner.start()
        await synthesize(partner.port, config.answer_text)
        yield partner.port
    finally:
        partner.stop()


async def _bench_stt(
    config: Config, settings: Settings, server: RunningServer, result: dict[str, Any]
) -> None:
    cold = await transcribe(server.port, config.clips[0].pcm(), 0, config.language)
    result["first_stt_ms"] = cold.latency_ms
    result["stt"] = {}
    if config.paused:
        config.say(
            f"{server.name}: STT, 1 client, {len(config.paused)} commands with a pause inside"
        )
        records, errors = await measure.stt_level(
            server.port, config.paused, 1, config.pace, config.language, config.names
        )
        result["stt_paused"] = records
        result["errors"] += errors
    if server.name == FASTER_WHISPER_ENDPOINTING:  # for the end of speech only: 1 client
        clients_levels: Sequence[int] = (1,)
    else:
        clients_levels = config.clients
    for clients in clients_levels:
        async with answering(config, settings, server, clients) as answer_port:
            answer = (answer_port, config.answer_text) if answer_port is not None else None
            config.say(
                f"{server.name}: STT, {clients} client(s), {len(config.clips)} clips"
                + (", each answered" if answer else "")
            )
            records, errors = await measure.stt_level(
                server.port,
                config.clips,
                clients,
                config.pace,
                config.language,
                config.names,
                answer=answer,
            )
        result["stt"][str(clients)] = records
        result["errors"] += errors
    if config.no_names_pass and config.names and server.name in (CHATTERBOX, FASTER_WHISPER):
        config.say(f"{server.name}: STT without names, unpaced, {len(config.clips)} clips")
        records, errors = await measure.stt_level(server.port, config.clips, 1, 0, config.language)
        result["stt_no_names"] = records
        result["errors"] += errors


async def _bench_sensitivities(
    config: Config, server: RunningServer, result: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Chatterbox at the other sensitivities: paused and complete commands, 1 client, STT only.

    Each is a result of its own (``chatterbox-aggressive``...), measured on the running server.
    """
    variants: dict[str, dict[str, Any]] = {}
    for sensitivity in config.sensitivities:
        if sensitivity == DEFAULT_SENSITIVITY:
            continue
        name = variant(sensitivity)
        config.say(
            f"{name}: STT, 1 client, {len(config.paused)} paused and {len(config.clips)} "
            "complete commands"
        )
        out: dict[str, Any] = {
            "roles": ["stt"],
            "sensitivity": sensitivity,
            "command": result["command"],
            "errors": [],
        }
        if config.paused:
            out["stt_paused"], errors = await measure.stt_level(
                server.port,
                config.paused,
                1,
                config.pace,
                config.language,
                config.names,
                sensitivity=sensitivity,
            )
            out["errors"] += errors
        records, errors = await measure.stt_level(
            server.port,
            config.clips,
            1,
            config.pace,
            config.language,
            config.names,
            sensitivity=sensitivity,
        )
        out["stt"] = {"1": records}
        out["errors"] += errors
        variants[name] = out
    return variants


async def bench_tts(
    config: Config, settings: Settings, names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Run the TTS servers side by side and measure them in turns, request by request.

    Taking turns (see :func:`measure.tts_level`) rather than one server after the other keeps
    the machine's drift out of the ratios. Returns, per server, what this phase adds to its
    result: first request, TTS records, errors, peak RSS and log.
    """
    servers = [RunningServer(name, settings, config.out_dir / "logs" / "tts") for name in names]
    results: dict[str, dict[str, Any]] = {
        server.name: {"errors": [], "tts": dict.fromkeys(TTS_MODES)} for server in servers
    }
    watchers: list[asyncio.Task[None]] = []
    try:
        for server in servers:
            config.say(f"{server.name}: starting for TTS")
            await server.start()
            watchers.append(asyncio.create_task(server.watch_memory()))
            cold = await synthesize(server.port, config.tts_text)  # may load the voice
            results[server.name]["first_tts_ms"] = cold.first_audio_ms
        for mode in TTS_MODES:
            ports = {s.name: s.port for s in servers if mode == ONESHOT or s.supports_streaming()}
            for clients in config.clients:
                config.say(f"TTS {mode}, {clients} client(s), in turns: {', '.join(ports)}")
                level = await measure.tts_level(
                    ports, config.tts_text, clients, config.tts_repeats, mode, config.tts_gap
                )
                for name, (records, errors) in level.items():
                    tts = results[name]["tts"]
                    tts[mode] = {**(tts[mode] or {}), str(clients): records}
                    results[name]["errors"] += errors
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for server in servers:
            server.stop()
            results[server.name].update(
                peak_rss_mb=server.peak_rss_mb, tts_log=str(server.log_path)
            )
    return results


async def bench_server(config: Config, settings: Settings, name: str) -> dict[str, Any]:
    """Start one server alone, measure its start-up, STT, Describe and memory, stop it.

    Chatterbox's result holds its runs at the other sensitivities under ``variants`` and what
    a failover to it adds under ``failover`` (see :mod:`bench.failover`).
    """
    roles = ROLES[name]
    server = RunningServer(name, settings, config.out_dir / "logs")
    result: dict[str, Any] = {
        "roles": list(roles),
        "command": server.command,
        "load_before": os.getloadavg(),
        "errors": [],
    }
    watcher: asyncio.Task[None] | None = None
    try:
        config.say(f"{name}: starting")
        result["start_to_ready_s"] = await server.start()
        result["version"] = server.version()
        result["describe_bytes"] = server.info_bytes()
        result["streaming_tts"] = server.supports_streaming() if "tts" in roles else None
        config.say(f"{name}: ready in {result['start_to_ready_s']:.2f} s")
        watcher = asyncio.create_task(server.watch_memory())
        result["describe"] = {
            "idle_ms": await measure.describe_idle(server.port, config.describe_samples)
        }
        if "stt" in roles:
            ticks = cpu_ticks()
            await _bench_stt(config, settings, server, result)
            result["stt_cpu_stolen"] = steal_share(ticks, cpu_ticks())
        if name == CHATTERBOX:
            result["variants"] = await _bench_sensitivities(config, server, result)
            if config.failover_clips > 0:
                result["failover"] = await bench_failover(config, settings, server.port)
                result["errors"] += result["failover"]["errors"]
        if name == FASTER_WHISPER_ENDPOINTING:
            return result  # Describe and memory: as the peer's without endpointing
        config.say(f"{name}: Describe under load for {config.load_seconds:g} s")
        loaded, completed, errors = await measure.describe_loaded(
            server.port,
            roles,
            config.clips,
            config.tts_text,
            seconds=config.load_seconds,
            pace=config.pace,
            language=config.language,
        )
        result["describe"].update(loaded_ms=loaded, load_requests=completed)
        result["errors"] += errors
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        server.stop()
        result["peak_rss_mb"] = server.peak_rss_mb
        result["load_after"] = os.getloadavg()
        result["log"] = str(server.log_path)
    return result


def settings_for(config: Config, scratch: Path) -> Settings:
    """Return what every server is given alike; ``scratch`` holds their spare files."""
    return Settings(
        models=config.models,
        voice=find_voice(config.models, config.voice),
        beam_size=config.beam_size,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        stt_workers=config.stt_workers,
        vad_filter=config.vad_filter,
        sentence_silence=config.sentence_silence,
        chatterbox=config.chatterbox,
        peer_python=config.peer_python,
        scratch=scratch,
    )


async def run(config: Config) -> dict[str, Any]:
    """Benchmark every configured server one after the other; return the results document."""
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="chatterbox-bench-") as scratch:
        settings = settings_for(config, Path(scratch))
        servers: dict[str, dict[str, Any]] = {}
        for name in config.servers:
            servers[name] = await bench_server(config, settings, name)
            servers.update(servers[name].pop("variants", {}))
        speakers = [name for name in config.servers if "tts" in ROLES[name]]
        for name, tts in (await bench_tts(config, settings, speakers)).items():
            result = servers[name]
            result["errors"] += tts.pop("errors")
            result["tts_phase_peak_rss_mb"] = tts.pop("peak_rss_mb")
            result["peak_rss_mb"] = max(result["peak_rss_mb"], result["tts_phase_peak_rss_mb"])
            result.update(tts)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": machine(),
        "quick": config.quick,
        "split": config.split,
        "sensitivities": list(config.sensitivities),
        "models": str(config.models),
        "voice": str(settings.voice),
        "clips": [clip.id for clip in config.clips],
        "paused_clips": [clip.id for clip in config.paused],
        "clients": list(config.clients),
        "pace": config.pace,
        "tts_text": config.tts_text,
        "answer_text": config.answer_text if config.answers else None,
        "tts_repeats": config.tts_repeats,
        "tts_gap": config.tts_gap,
        "load_seconds": config.load_seconds,
        "beam_size": config.beam_size,
        "compute_type": config.compute_type,
        "cpu_threads": config.cpu_threads,
        "chatterbox_stt_workers": config.stt_workers,
        "vad_filter": config.vad_filter,
        "language": config.language,
        "names": list(config.names),
        "sentence_silence": config.sentence_silence,
        "failover_clips": config.failover_clips,
        "failover_kills": config.failover_kills,
        "failover_tts": config.failover_tts,
    }
    return {"meta": meta, "servers": servers, **summarize(servers)}
