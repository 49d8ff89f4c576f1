"""Workloads: corpus playback, synthesis at 1..N parallel clients, Describe under load."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.client import describe, synthesize, transcribe
from tests.corpus import Clip

PROBE_INTERVAL = 0.1
LOAD_WARMUP = 0.5
LOAD_DRAIN = 15.0
ROOT = Path(__file__).resolve().parent.parent


async def _gather(calls: Sequence[Awaitable[Any]]) -> tuple[list[Any], list[str]]:
    """Run calls together; return the results and the errors as text."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
    return [o for o in outcomes if not isinstance(o, BaseException)], errors


async def stt_level(
    port: int, clips: Sequence[Clip], clients: int, pace: float, language: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Play each clip from ``clients`` satellites at once; one record per transcription."""
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    for clip in clips:
        pcm = clip.pcm()
        results, failed = await _gather(
            [transcribe(port, pcm, pace, language) for _ in range(clients)]
        )
        errors += failed
        records += [
            {"clip": clip.id, "trailing_silence": clip.trailing_silence, **asdict(result)}
            for result in results
        ]
    return records, errors


async def tts_level(
    port: int, text: str, clients: int, repeats: int, mode: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """``clients`` speakers each ask ``repeats`` syntheses in a row; one record per synthesis."""

    async def speaker() -> tuple[list[dict[str, Any]], list[str]]:
        records, errors = [], []
        for _ in range(repeats):
            try:
                records.append(asdict(await synthesize(port, text, mode)))
            except (OSError, TimeoutError, RuntimeError) as err:
                errors.append(f"{type(err).__name__}: {err}")
        return records, errors

    results, errors = await _gather([speaker() for _ in range(clients)])
    records = [record for done, _ in results for record in done]
    return records, errors + [error for _, failed in results for error in failed]


async def describe_idle(port: int, samples: int) -> list[float]:
    """Describe round trips (fresh connection each) with nothing else running."""
    times = []
    for _ in range(samples):
        times.append((await describe(port))[1])
        await asyncio.sleep(PROBE_INTERVAL / 2)
    return times


async def describe_loaded(
    port: int,
    roles: Sequence[str],
    clips: Sequence[Clip],
    text: str,
    *,
    seconds: float,
    pace: float,
    language: str | None,
    stt_clients: int = 4,
    tts_clients: int = 4,
) -> tuple[list[float], int, list[str]]:
    """Describe round trips while 4 satellites stream audio and 4 ask syntheses in a loop.

    The load runs in another process (bench.load). Returns the Describe times, how many load
    requests completed, and the load errors.
    """
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        ready, result_path = Path(scratch) / "ready", Path(scratch) / "result.json"
        spec = {
            "port": port,
            "clips": [clip.id for clip in clips],
            "text": text,
            "pace": pace,
            "language": language,
            "stt_clients": stt_clients if "stt" in roles else 0,
            "tts_clients": tts_clients if "tts" in roles else 0,
            "drain": LOAD_DRAIN,
            "ready": str(ready),
            "result": str(result_path),
        }
        spec_path = Path(scratch) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        load = subprocess.Popen(  # noqa: ASYNC220  # returns at once
            [sys.executable, "-m", "bench.load", str(spec_path)], cwd=ROOT
        )
        times: list[float] = []
        try:
            while not ready.exists():
                if load.poll() is not None:
                    raise RuntimeError(f"load process exited with {load.returncode}")
                await asyncio.sleep(PROBE_INTERVAL / 2)
            await asyncio.sleep(LOAD_WARMUP)
            end = asyncio.get_running_loop().time() + seconds
            while asyncio.get_running_loop().time() < end:
                times.append((await describe(port))[1])
                await asyncio.sleep(PROBE_INTERVAL)
        finally:
            load.send_signal(signal.SIGTERM)
            waited = 0.0
            while load.poll() is None and waited < LOAD_DRAIN + 10:
                await asyncio.sleep(PROBE_INTERVAL)
                waited += PROBE_INTERVAL
            if load.poll() is None:
                load.kill()
                load.wait()
        if not result_path.exists():
            return times, 0, [f"load process exited with {load.returncode} and no result"]
        result = json.loads(result_path.read_text())
        return times, result["completed"], result["errors"]
