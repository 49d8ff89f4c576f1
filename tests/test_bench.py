"""scripts/bench end to end in a reduced form: real Chatterbox and real peers, every metric."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.assist_pipeline.default_pipeline import STREAM_RESPONSE_CHARS
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize

from bench.cli import config_from, parser
from bench.client import (
    HA_FIRST_CHUNK_CHARS,
    ONESHOT,
    STREAMING,
    STREAMING_WORDS,
    TTS_MODES,
    stream_chunks,
)
from bench.measure import tts_level
from bench.report import GOALS, PEERS_TOGETHER
from bench.run import TTS_TEXT, cpu_ticks, steal_share
from bench.servers import (
    CHATTERBOX,
    FASTER_WHISPER,
    FASTER_WHISPER_ENDPOINTING,
    PIPER,
    drop_cached_libraries,
    library_files,
)
from chatterbox_server.server import bound_uri
from tests.corpus import paused_clips
from tests.support.bench import run_bench

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("socket_enabled")

COMMON = ("start_to_ready_s", "peak_rss_mb", "describe_idle_p50_ms", "describe_loaded_p95_ms")
STT = ("stt_p50_ms@{n}", "stt_p95_ms@{n}", "stt_silence_p50_ms@{n}", "stt_end_p50_ms@{n}",
       "stt_early_share@{n}")  # fmt: skip
END = ("stt_end_p50_ms@1", "stt_early_share@1", "stt_paused_wer@1")
TTS = tuple(
    f"tts_{mode}_{kind}_ms@{{n}}"
    for mode in TTS_MODES
    for kind in ("first_p50", "first_p95", "total_p50")
)
EXPECTED = {CHATTERBOX: STT + TTS, FASTER_WHISPER: STT, PIPER: TTS}


def test_quick_bench_reports_every_metric_and_ratio(
    test_models: Path, peer_python: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    result = run_bench(
        peer_python,
        test_models,
        out,
        *("--quick", "--clips", "2", "--clients", "1", "2"),
        *("--pace", "4", "--tts-repeats", "2", "--load-seconds", "1"),
        timeout=240,
    )
    print(result.stdout)  # the numbers, for -s; performance is reported, not asserted
    document = json.loads(out.read_text())
    assert result.returncode == 0, (
        result.stderr[-2000:],
        {name: r["errors"] for name, r in document["servers"].items()},
    )

    metrics = document["metrics"]
    assert set(metrics) == {CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING, PIPER}
    for name in (CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING):
        missing = [m for m in END if metrics[name].get(m) is None]
        assert not missing, f"{name} lacks {missing}"
    assert len(document["servers"][FASTER_WHISPER_ENDPOINTING]["stt"]["1"]) == 2  # 1 client only
    assert len(document["servers"][CHATTERBOX]["stt_paused"]) == 2
    for name, per_load in EXPECTED.items():
        names = [*COMMON, *(m.format(n=n) for m in per_load for n in (1, 2))]
        missing = [m for m in names if metrics[name].get(m) is None]
        assert not missing, f"{name} lacks {missing}"
        assert metrics[name]["peak_rss_mb"] > 10
        server = document["servers"][name]
        assert server["start_to_ready_s"] > 0
        assert len(server["describe"]["loaded_ms"]) >= 3
        assert server["describe"]["load_requests"] > 0
    stt = document["servers"][CHATTERBOX]["stt"]
    assert [len(stt[n]) for n in ("1", "2")] == [2, 4]  # 2 clips, each from 1 then 2 clients
    assert all(r["text"].strip() for r in stt["1"])

    comparisons = {(c["metric"], c["peer"]): c for c in document["comparisons"]}
    for name, per_load in ((FASTER_WHISPER, STT), (PIPER, TTS)):
        for metric in [*COMMON, *(m.format(n=n) for m in per_load for n in (1, 2))]:
            row = comparisons[metric, name]
            if row["peer_value"]:  # (no transcript before AudioStop from the peer: share 0)
                assert row["ratio"] == round(row["chatterbox"] / row["peer_value"], 3)
    ended = comparisons["stt_end_p50_ms@1", FASTER_WHISPER_ENDPOINTING]
    assert ended["ratio"] == round(ended["chatterbox"] / ended["peer_value"], 3)
    together = comparisons["peak_rss_mb", PEERS_TOGETHER]
    assert together["peer_value"] == pytest.approx(
        metrics[FASTER_WHISPER]["peak_rss_mb"] + metrics[PIPER]["peak_rss_mb"]
    )
    assert len(document["goals"]) == len(GOALS) + 4  # and WER, early, paused WER, Describe
    assert all(goal["met"] in (True, False) for goal in document["goals"])
    assert document["transcripts_agree"][1] == 2

    for name in (CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING):
        stolen = document["servers"][name]["stt_cpu_stolen"]
        assert stolen is not None  # (Linux: /proc/stat has steal)
        assert 0 <= stolen <= 1
    assert "CPU time the host kept (steal) during each server's STT: chatterbox" in result.stdout
    for name in (FASTER_WHISPER, PIPER, PEERS_TOGETHER):
        assert name in result.stdout
    assert out.with_suffix(".png").stat().st_size > 10_000


def test_cpu_steal_share(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 10 20 5000 7 1 2 30 0 0\ncpu0 50 5 10 2500 3 0 1 15 0 0\n")
    before = cpu_ticks(stat)
    assert before == (100 + 10 + 20 + 1 + 2, 30)
    stat.write_text("cpu  160 10 40 5100 7 1 2 50 0 0\n")
    assert steal_share(before, cpu_ticks(stat)) == round(20 / (80 + 20), 3)
    assert steal_share(before, before) is None  # nothing ran
    stat.write_text("cpu  1 2 3\n")
    assert cpu_ticks(stat) is None
    assert cpu_ticks(tmp_path / "missing") is None
    assert steal_share(None, before) is None


@pytest.mark.parametrize(
    ("flags", "clients", "paused"),
    [
        ((), (1, 2, 4), 10),
        (("--clips", "3"), (1, 2, 4), 3),
        (("--quick",), (1,), 2),
        (("--quick", "--clients", "1", "2", "--paused-clips", "5"), (1, 2), 5),
        (("--paused-clips", "0"), (1, 2, 4), 0),
    ],
)
def test_run_configuration(flags: tuple[str, ...], clients: tuple[int, ...], paused: int) -> None:
    """The full run plays every paused command; --quick two from one client; 0 plays none."""
    config = config_from(parser().parse_args(["--peer-python", "python", *flags]))
    assert tuple(config.clients) == clients
    assert [clip.id for clip in config.paused] == [clip.id for clip in paused_clips()[:paused]]


def test_streams_text_as_home_assistant_does() -> None:
    """HA's pipeline sends the answer's first > 60 characters as the stream's first chunk."""
    assert HA_FIRST_CHUNK_CHARS == STREAM_RESPONSE_CHARS
    chunks = stream_chunks(TTS_TEXT, STREAMING)
    assert "".join(chunks) == TTS_TEXT
    assert len(chunks[0]) > STREAM_RESPONSE_CHARS >= len(chunks[0].rstrip().rsplit(" ", 1)[0])
    assert all(chunk.startswith(" ") for chunk in chunks[1:])  # then word by word, as tokens
    assert all(chunk.strip().count(" ") == 0 for chunk in chunks[1:])
    words = stream_chunks(TTS_TEXT, STREAMING_WORDS)
    assert "".join(words) == TTS_TEXT
    assert len(words) == len(TTS_TEXT.split(" "))


class _Recorder(AsyncEventHandler):
    """A stand-in TTS server that notes when each request arrives and answers one chunk."""

    def __init__(self, name: str, arrivals: list[tuple[str, float]], *args: Any) -> None:
        super().__init__(*args)
        self.name = name
        self.arrivals = arrivals

    async def handle_event(self, event: Event) -> bool:
        if not Synthesize.is_type(event.type):
            return True
        self.arrivals.append((self.name, time.perf_counter()))
        await self.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        chunk = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(320))
        await self.write_event(chunk.event())
        await self.write_event(AudioStop().event())
        return False


async def test_tts_servers_take_turns_with_a_quiet_gap() -> None:
    """Each round every client asks one server, then the other; the order flips each round."""
    arrivals: list[tuple[str, float]] = []
    servers = {name: AsyncTcpServer("127.0.0.1", 0) for name in ("a", "b")}
    for name, server in servers.items():
        await server.start(partial(_Recorder, name, arrivals))
    try:
        ports = {
            name: int(bound_uri(server, "").rsplit(":", 1)[1]) for name, server in servers.items()
        }
        gap = 0.05
        level = await tts_level(ports, "Hello there.", 2, 4, ONESHOT, gap)
    finally:
        for server in servers.values():
            await server.stop()

    assert {name: (len(records), errors) for name, (records, errors) in level.items()} == {
        "a": (8, []),
        "b": (8, []),
    }
    assert "".join(name for name, _ in arrivals) == "aabbbbaaaabbbbaa"
    turns = [arrivals[i : i + 2] for i in range(0, len(arrivals), 2)]
    for before, after in itertools.pairwise(turns):
        assert after[0][1] - before[-1][1] >= gap


def _cached_bytes(path: Path) -> int:
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not shutil.which("fincore"), reason="needs util-linux's fincore")
def test_libraries_start_out_of_the_page_cache() -> None:
    """Shared libraries under the roots leave the page cache; other files stay."""
    cache = ROOT / ".cache"  # the venvs' file system (a tmpfs would keep its pages)
    cache.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        library, other = Path(scratch, "libdemo.so.1"), Path(scratch, "demo.txt")
        for path in (library, other):
            path.write_bytes(os.urandom(1 << 20))  # just written: in the page cache
        assert _cached_bytes(library) == _cached_bytes(other) == 1 << 20

        assert drop_cached_libraries(library_files((Path(scratch),))) == 1

        assert _cached_bytes(library) == 0
        assert _cached_bytes(other) == 1 << 20
