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
from corpus import Clip

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
    port: int,
    clips: Sequence[Clip],
    clients: int,
    pace: float,
    language: str | None,
    names: Sequence[str] = (),
    *,
    sensitivity: str | None = None,
    answer: tuple[int, str] | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Play each clip from ``clients`` satellites at once; one record per transcription.

    Every request carries ``names`` (the home's names), whichever clip it is, and
    ``sensitivity`` as its ``vad_sensitivity``. With ``answer`` (port, text) each client then
    asks that TTS server to speak ``text`` (see :func:`bench.client.transcribe`). A record
    holds what the report needs without the corpus: the clip's text, where its speech ends,
    its pause and kind.
    """
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    for clip in clips:
        pcm = clip.pcm()
        results, failed = await _gather(
            [
                transcribe(
                    port,
                    pcm,
                    pace,
                    language,
                    names,
                    clip.speech_end,
                    sensitivity=sensitivity,
                    answer=answer,
                )
                for _ in range(clients)
            ]
        )
        errors += failed
        records += [
            {
                "clip": clip.id,
                "reference": clip.text,
                "trailing_silence": clip.trailing_silence,
                "speech_end_s": round(clip.speech_end, 3),
                "pause": clip.pause,
                "kind": clip.kind,
                "pace": pace,
                "names": len(names),
                **asdict(result),
            }
            for result in results
        ]
    return records, errors


async def tts_level(
    ports: dict[str, int], text: str, clients: int, repeats: int, mode: str, gap: float
) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
    """Ask each server in turn for ``clients`` syntheses at once, ``repeats`` rounds.

    The servers take turns request by request (the order flips every round), so what the
    machine does meanwhile (other load, frequency, caches) weighs on each alike. ``gap``
    seconds of quiet follow each turn: a satellite asks now and then, not back to back, and
    one server's threads still busy after its answer should not slow the next one down
    (wyoming-piper's onnxruntime threads spin for about 20 ms after each request).
    Returns, per server, one record per synthesis and the errors as text.
    """
    out: dict[str, tuple[list[dict[str, Any]], list[str]]] = {name: ([], []) for name in ports}
    names = list(ports)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else names[::-1]:
            results, errors = await _gather(
                [synthesize(ports[name], text, mode) for _ in range(clients)]
            )
            out[name][0].extend(asdict(result) for result in results)
            out[name][1].extend(errors)
            await asyncio.sleep(gap)
    return out


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
            "clips": [str(clip.path) for clip in clips],
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
