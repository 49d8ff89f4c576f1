"""Background load in its own process: satellites streaming audio and clients asking speech.

``python -m bench.load SPEC.json``: plays the spec's ``clips`` (WAV paths) until SIGTERM, then
writes ``{"completed", "errors"}`` to the spec's ``result`` path. It touches the spec's
``ready`` path once every loop is running.
Kept out of the measuring process so the Describe probe does not queue behind the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import wave
from pathlib import Path
from typing import Any

from bench.client import synthesize, transcribe

RETRY_PAUSE = 0.1


def _pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Loop ``stt_clients`` transcriptions and ``tts_clients`` one-shot syntheses until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    port, pace, language, text = spec["port"], spec["pace"], spec["language"], spec["text"]
    audio = [_pcm(Path(path)) for path in spec["clips"]]
    completed = 0
    errors: list[str] = []

    async def loop(offset: int, stt: bool) -> None:
        nonlocal completed
        turn = offset
        while not stop.is_set():
            try:
                if stt:
                    await transcribe(port, audio[turn % len(audio)], pace, language)
                else:
                    await synthesize(port, text)
                completed += 1
            except (OSError, TimeoutError, RuntimeError) as err:
                errors.append(f"{type(err).__name__}: {err}")
                await asyncio.sleep(RETRY_PAUSE)
            turn += 1

    workers = [asyncio.create_task(loop(i, stt=True)) for i in range(spec["stt_clients"])]
    workers += [asyncio.create_task(loop(i, stt=False)) for i in range(spec["tts_clients"])]
    Path(spec["ready"]).touch()
    await stop.wait()
    _, pending = await asyncio.wait(workers, timeout=spec["drain"])
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return {"completed": completed, "errors": errors}


def main(argv: list[str]) -> int:
    """Entry point: one argument, the spec JSON path."""
    spec = json.loads(Path(argv[0]).read_text())
    result = asyncio.run(run_load(spec))
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
