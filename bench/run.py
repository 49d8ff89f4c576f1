"""Run the whole benchmark: each server alone for STT, Describe and memory; TTS in turns."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import measure
from bench.client import ONESHOT, TTS_MODES, synthesize, transcribe
from bench.report import summarize
from bench.servers import (
    FASTER_WHISPER_ENDPOINTING,
    ROLES,
    SERVERS,
    RunningServer,
    Settings,
    find_voice,
)
from tests.corpus import Clip

TTS_TEXT = (
    "The kitchen light is now on and the heating is set to twenty one degrees. "
    "Tomorrow will be sunny in the morning, with a light breeze from the west. "
    "Remember to take the bins out before you go to bed tonight."
)


@dataclass
class Config:
    """What to run; the defaults are the full benchmark."""

    models: Path
    peer_python: Path
    chatterbox: Path
    out_dir: Path
    clips: Sequence[Clip]
    paused: Sequence[Clip] = ()  # commands with a pause inside, played from 1 client
    voice: str | None = None
    servers: Sequence[str] = SERVERS
    clients: Sequence[int] = (1, 2, 4)
    pace: float = 1.0
    tts_text: str = TTS_TEXT
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
    sentence_silence: float = 0.2
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


async def _bench_stt(config: Config, server: RunningServer, result: dict[str, Any]) -> None:
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
        config.say(f"{server.name}: STT, {clients} client(s), {len(config.clips)} clips")
        records, errors = await measure.stt_level(
            server.port, config.clips, clients, config.pace, config.language, config.names
        )
        result["stt"][str(clients)] = records
        result["errors"] += errors


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
    """Start one server alone, measure its start-up, STT, Describe and memory, stop it."""
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
            await _bench_stt(config, server, result)
            result["stt_cpu_stolen"] = steal_share(ticks, cpu_ticks())
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


async def run(config: Config) -> dict[str, Any]:
    """Benchmark every configured server one after the other; return the results document."""
    voice = find_voice(config.models, config.voice)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="chatterbox-bench-") as scratch:
        settings = Settings(
            models=config.models,
            voice=voice,
            beam_size=config.beam_size,
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads,
            stt_workers=config.stt_workers,
            vad_filter=config.vad_filter,
            sentence_silence=config.sentence_silence,
            chatterbox=config.chatterbox,
            peer_python=config.peer_python,
            scratch=Path(scratch),
        )
        servers = {name: await bench_server(config, settings, name) for name in config.servers}
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
        "models": str(config.models),
        "voice": str(voice),
        "clips": [clip.id for clip in config.clips],
        "paused_clips": [clip.id for clip in config.paused],
        "clients": list(config.clients),
        "pace": config.pace,
        "tts_text": config.tts_text,
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
    }
    return {"meta": meta, "servers": servers, **summarize(servers)}
