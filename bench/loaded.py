"""A busy box: Chatterbox and the peers side by side with busy processes beside them.

For each Whisper model (``--busy-models``: base, tiny.en) Chatterbox, wyoming-faster-whisper
(as Home Assistant runs it) and wyoming-piper (the peer's voice) start once; then, at each load
(:data:`bench.busy.LOADS`: idle, 1 and 2 busy processes at nice 0, 2 at nice 10), every command
is played at real-time pace to Chatterbox and to the peer in turn (the order flips each
command, so the machine's drift weighs on both alike), each transcript answered by its pair's
voice, while a probe asks both servers Describe every 0.1 s. Chatterbox's log tells how many
speculative decodes each command cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import measure
from bench.busy import LOADS, Load, busy
from bench.client import describe, synthesize
from bench.report import aligned, goal_lines, goal_record, mean_wer, percentile
from bench.run import Config, machine, settings_for
from bench.servers import CHATTERBOX, FASTER_WHISPER, PIPER, RunningServer, Settings
from corpus import Clip

MODELS = ("base", "tiny.en")
"""The Whisper models measured (``DIR/stt-NAME`` beside ``DIR/stt``, as fetch-models lays out)."""
PROBE_INTERVAL = 0.1
SETTLE_SECONDS = 1.0  # after the busy processes start, before the first command
DECODES = re.compile(r"speculative decodes (\d+)")


def model_dir(models: Path, name: str, scratch: Path) -> Path:
    """Return a models folder whose ``stt`` is ``models/stt-NAME`` (``models`` if absent).

    The folder is made in ``scratch``: its ``stt`` and ``tts`` link to the real ones, so every
    server is given the same files.
    """
    source = models / f"stt-{name}"
    if not source.is_dir():
        return models
    target = scratch / "models" / name
    target.mkdir(parents=True, exist_ok=True)
    for link, points in (("stt", source), ("tts", models / "tts")):
        (target / link).unlink(missing_ok=True)  # (a model named twice)
        (target / link).symlink_to(points.resolve(), target_is_directory=True)
    return target


@contextlib.asynccontextmanager
async def _servers(settings: Settings, log_dir: Path) -> AsyncIterator[dict[str, RunningServer]]:
    servers = {
        name: RunningServer(name, settings, log_dir) for name in (CHATTERBOX, FASTER_WHISPER, PIPER)
    }
    try:
        for server in servers.values():
            await server.start()
        await synthesize(servers[CHATTERBOX].port, "Ready.")  # voices loaded, as at home
        await synthesize(servers[PIPER].port, "Ready.")
        yield servers
    finally:
        for server in servers.values():
            server.stop()


async def _probe(ports: dict[str, int], times: dict[str, list[float]]) -> None:
    """Ask each server Describe every :data:`PROBE_INTERVAL` until cancelled."""
    while True:
        for name, port in ports.items():
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):
                times[name].append((await describe(port))[1])
        await asyncio.sleep(PROBE_INTERVAL)


def _decodes(log: Path, offset: int) -> tuple[list[int], int]:
    """Return the speculative decodes per command logged after ``offset``, and the new end."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
        return [int(found) for found in DECODES.findall(text)], file.tell()


async def _level(
    config: Config, servers: dict[str, RunningServer], clips: Sequence[Clip], load: Load
) -> dict[str, Any]:
    """Play every command to Chatterbox and the peer at one load; return their records."""
    stt = {CHATTERBOX: CHATTERBOX, FASTER_WHISPER: PIPER}  # who answers whose transcripts
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in stt}
    describes: dict[str, list[float]] = {name: [] for name in stt}
    errors: list[str] = []
    log = servers[CHATTERBOX].log_path
    _, offset = _decodes(log, 0)
    started = time.perf_counter()
    with busy(load):
        await asyncio.sleep(SETTLE_SECONDS if load.busy else 0)
        probe = asyncio.create_task(_probe({n: servers[n].port for n in stt}, describes))
        try:
            for index, clip in enumerate(clips):
                order = list(stt) if index % 2 == 0 else list(stt)[::-1]
                for name in order:
                    answer = (servers[stt[name]].port, config.answer_text)
                    got, failed = await measure.stt_level(
                        servers[name].port,
                        [clip],
                        1,
                        config.pace,
                        config.language,
                        config.names,
                        answer=answer,
                    )
                    records[name] += got
                    errors += [f"{name}: {error}" for error in failed]
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
    decodes, _ = _decodes(log, offset)
    return {
        "load": {"busy": load.busy, "nice": load.nice, "name": load.name},
        "seconds": round(time.perf_counter() - started, 1),
        "records": records,
        "describe_ms": describes,
        "speculative_decodes": decodes,
        "errors": errors,
    }


async def bench_loaded(
    config: Config,
    settings: Settings,
    clips: Sequence[Clip],
    models: Sequence[str] = MODELS,
    loads: Sequence[Load] = LOADS,
) -> dict[str, Any]:
    """Measure each model at each load; return ``{model: [level, ...]}`` and the errors."""
    out: dict[str, Any] = {"models": {}, "errors": []}
    for name in models:
        folder = model_dir(settings.models, name, settings.scratch)
        model_settings = replace(settings, models=folder)
        config.say(f"busy box, {name}: starting {CHATTERBOX}, {FASTER_WHISPER} and {PIPER}")
        async with _servers(model_settings, config.out_dir / "logs" / "busy" / name) as servers:
            levels = []
            for load in loads:
                config.say(f"busy box, {name}, {load.name}: {len(clips)} commands to each")
                level = await _level(config, servers, clips, load)
                out["errors"] += level["errors"]
                levels.append(level)
        out["models"][name] = {"stt": str(folder / "stt"), "levels": levels}
    return out


async def run_busy(
    config: Config, models: Sequence[str] = MODELS, loads: Sequence[Load] = LOADS
) -> dict[str, Any]:
    """Run the loaded section on the complete and then the paused commands; the document."""
    started = time.time()
    clips = [*config.clips, *config.paused]
    with tempfile.TemporaryDirectory(prefix="chatterbox-busy-") as scratch:
        result = await bench_loaded(
            config, settings_for(config, Path(scratch)), clips, models, loads
        )
    result["meta"] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": machine(),
        "split": config.split,
        "clips": [clip.id for clip in clips],
        "models": list(models),
        "loads": [load.name for load in loads],
        "beam_size": config.beam_size,
        "compute_type": config.compute_type,
        "cpu_threads": config.cpu_threads,
        "names": list(config.names),
    }
    result["goals"] = loaded_goals(result)
    return result


END_LIMIT_MS = 800.0  # 1 busy process, base: end of speech -> transcript p50
END_MAX_MS = 1500.0  # ... and its worst command
PEER_SHARE = 0.5  # ... at most this share of the peer's p50
DESCRIBE_LIMIT_MS = 50.0  # Describe p95, every model and load


def level_metrics(level: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per server: end of speech -> transcript p50/p95/max, first answer audio, Describe, WER."""
    out: dict[str, dict[str, float | None]] = {}
    for name, records in level["records"].items():
        ends = [r["speech_end_ms"] for r in records if r.get("speech_end_ms") is not None]
        complete = [r["speech_end_ms"] for r in records if not r.get("pause")]
        paused = [r["speech_end_ms"] for r in records if r.get("pause")]
        answers = [r["answer_first_audio_ms"] for r in records if r.get("answer_first_audio_ms")]
        out[name] = {
            "end_p50_ms": percentile(ends, 50),
            "end_p95_ms": percentile(ends, 95),
            "end_max_ms": round(max(ends), 1) if ends else None,
            "end_complete_p50_ms": percentile(complete, 50),
            "end_paused_p50_ms": percentile(paused, 50),
            "answer_p50_ms": percentile(answers, 50),
            "describe_p95_ms": percentile(level["describe_ms"].get(name, []), 95),
            "wer": mean_wer(records),
        }
    decodes = level.get("speculative_decodes") or []
    out[CHATTERBOX]["decodes_mean"] = round(float(np.mean(decodes)), 2) if decodes else None
    out[CHATTERBOX]["decodes_max"] = float(max(decodes)) if decodes else None
    return out


def loaded_goals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the busy-box goals: 1 busy process (base), 2 busy ones (every model), Describe."""
    goals: list[dict[str, Any]] = []
    for model, measured in result["models"].items():
        for level in measured["levels"]:
            load, metrics = level["load"], level_metrics(level)
            mine, peer = metrics[CHATTERBOX], metrics[FASTER_WHISPER]
            where = f"{model}, {load['name']}"
            p50, top, peer_p50 = mine["end_p50_ms"], mine["end_max_ms"], peer["end_p50_ms"]
            if model == "base" and (load["busy"], load["nice"]) == (1, 0):
                share = None if p50 is None or not peer_p50 else round(p50 / peer_p50, 3)
                goals += [
                    goal_record(f"{where}: end p50 <= {END_LIMIT_MS:g} ms", p50,
                                p50 is not None and p50 <= END_LIMIT_MS),
                    goal_record(f"{where}: end max <= {END_MAX_MS:g} ms", top,
                                top is not None and top <= END_MAX_MS),
                    goal_record(f"{where}: end p50 <= {PEER_SHARE:g} x peer", share,
                                share is not None and share <= PEER_SHARE),
                ]  # fmt: skip
            if (load["busy"], load["nice"]) == (2, 0):
                for stat in ("end_p50_ms", "end_max_ms"):
                    value, theirs = mine[stat], peer[stat]
                    met = None if theirs is None else value is not None and value <= theirs
                    text = f"{where}: {stat} <= peer's ({_ms(theirs)} ms)"
                    goals.append(goal_record(text, value, met))
            describe_p95 = mine["describe_p95_ms"]
            goals.append(
                goal_record(
                    f"{where}: Describe p95 < {DESCRIBE_LIMIT_MS:g} ms",
                    describe_p95,
                    describe_p95 is not None and describe_p95 < DESCRIBE_LIMIT_MS,
                )
            )
    return goals


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def loaded_table(result: dict[str, Any]) -> str:
    """Format the loaded section: one row per model, load and server, then the goals."""
    rows = [
        (
            "model",
            "load",
            "server",
            "end p50",
            "p95",
            "max",
            "complete p50",
            "paused p50",
            "answer p50",
            "Describe p95",
            "WER",
            "spec. decodes mean/max",
        )
    ]
    for model, measured in result["models"].items():
        for level in measured["levels"]:
            for name, m in level_metrics(level).items():
                decodes = (
                    f"{m['decodes_mean']}/{m['decodes_max']:.0f}"
                    if m.get("decodes_mean") is not None
                    else ""
                )
                rows.append(
                    (
                        model,
                        level["load"]["name"],
                        name,
                        _ms(m["end_p50_ms"]),
                        _ms(m["end_p95_ms"]),
                        _ms(m["end_max_ms"]),
                        _ms(m["end_complete_p50_ms"]),
                        _ms(m["end_paused_p50_ms"]),
                        _ms(m["answer_p50_ms"]),
                        f"{m['describe_p95_ms'] or 0:.1f}",
                        "-" if m["wer"] is None else f"{m['wer']:.3f}",
                        decodes,
                    )
                )
    lines = ["Busy box: end of speech -> transcript and first answer audio (ms), 1 client"]
    lines += [*aligned(rows), *goal_lines(loaded_goals(result))]
    return "\n".join(lines)
