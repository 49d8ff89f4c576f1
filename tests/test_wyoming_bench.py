"""The third-party wyoming-bench (pinned in scripts/bench) against the real server.

wyoming-bench picks each advertised program with a ``select-program`` event before every
request, as a multi-program client does; a server that answered it with an Error failed every
measurement. Here every measurement of every mode the server advertises must succeed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from corpus import clips
from tests.conftest import BENCH_VENV
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(600)

WYOMING_BENCH = BENCH_VENV / "bin" / "wyoming-bench"
VERSION = "2026.10.0"
MODE_LINE = re.compile(r"^\[(non_streaming|streaming)\] ok=(\d+) fail=(\d+)$", re.MULTILINE)
NOT_ADVERTISED = re.compile(
    r"\[streaming\] NOT SUPPORTED by \S+ \(not advertised by server\); skipping streaming mode"
)


@pytest.fixture
def wyoming_bench() -> Path:
    """The pinned wyoming-bench in the bench venv, or a skip saying how to get it."""
    if not WYOMING_BENCH.exists():
        pytest.skip(
            f"wyoming-bench not installed in {BENCH_VENV}: run `scripts/bench --setup-only`"
        )
    version = subprocess.run(
        [str(WYOMING_BENCH), "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert VERSION in version, f"scripts/bench pins wyoming-bench=={VERSION}, found: {version}"
    return WYOMING_BENCH


def run_bench(bench: Path, *args: str) -> str:
    result = subprocess.run(
        [str(bench), *args], capture_output=True, text=True, timeout=500, check=False
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output
    assert "FAIL" not in output, output
    assert "[unreachable]" not in output, output
    return output


def modes(output: str) -> dict[str, tuple[int, int]]:
    """Each mode's ``ok`` and ``fail`` counts from wyoming-bench's per-server report."""
    found = {mode: (int(ok), int(fail)) for mode, ok, fail in MODE_LINE.findall(output)}
    assert len(MODE_LINE.findall(output)) == len(found), output  # one program each
    return found


def test_wyoming_bench_stt_and_tts_all_programs(
    wyoming_bench: Path, server: ServerProcess, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for clip in clips()[:3]:
        shutil.copy(clip.path, corpus / f"{clip.id}.wav")
        (corpus / f"{clip.id}.txt").write_text(clip.text + "\n")
    target = f"{server.host}:{server.port}"
    common = ["--programs", "all", "--mode", "both", "--rounds", "1", "--warmup", "1", "-v"]
    stt = run_bench(wyoming_bench, "stt", target, "--corpus", str(corpus), *common)
    tts = run_bench(
        wyoming_bench,
        "tts",
        target,
        "--texts",
        "Turn on the kitchen light.",
        "The living room is twenty one degrees. The front door is locked.",
        *common,
    )
    # Speech-to-text: every request answered. The server sends one transcript per command
    # (its Info says supports_transcript_streaming=False), so wyoming-bench skips its
    # streaming-transcript mode for that reason, and for no other (not a failed probe).
    assert modes(stt) == {"non_streaming": (3, 0)}, stt
    assert NOT_ADVERTISED.search(stt), stt
    # Text-to-speech: one-shot and streaming synthesis, every request answered.
    assert modes(tts) == {"non_streaming": (2, 0), "streaming": (2, 0)}, tts
    assert "NOT SUPPORTED" not in tts, tts
    assert "unknown-event" not in server.log(), server.log_tail()
