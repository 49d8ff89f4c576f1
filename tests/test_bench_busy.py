"""scripts/bench --busy: busy neighbours, the loaded section end to end, its goals."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench.busy import Load, busy, parse_load
from bench.loaded import loaded_goals
from bench.servers import CHATTERBOX, FASTER_WHISPER
from tests.support.bench import run_bench


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def test_busy_processes_spin_at_their_nice_value_and_stop() -> None:
    with busy(Load(2, 10)) as pids:
        assert len(pids) == 2
        time.sleep(0.3)
        for pid in pids:
            fields = _stat(pid)
            assert int(fields[16]) == 10  # nice
            assert int(fields[11]) + int(fields[12]) > 0  # utime + stime: it spins
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _stat(pid)[0] == "Z"


def test_loads_parse_as_count_and_nice() -> None:
    assert parse_load("2@10") == Load(2, 10)
    assert parse_load("1") == Load(1, 0)
    assert Load(2, 10).name == "2 busy nice 10"
    assert Load(0).name == "idle"
    with pytest.raises(ValueError, match="not a load"):
        parse_load("1@30")


def _records(ends: list[float]) -> list[dict[str, Any]]:
    return [
        {
            "speech_end_ms": end,
            "pause": None,
            "reference": "turn on the light",
            "text": "turn on the light",
            "answer_first_audio_ms": end + 50,
        }
        for end in ends
    ]


def _level(busy_: int, nice: int, mine: list[float], peer: list[float], describe: float) -> Any:
    return {
        "load": {"busy": busy_, "nice": nice, "name": Load(busy_, nice).name},
        "records": {CHATTERBOX: _records(mine), FASTER_WHISPER: _records(peer)},
        "describe_ms": {CHATTERBOX: [describe] * 5, FASTER_WHISPER: [2.0] * 5},
        "speculative_decodes": [1, 2],
    }


def test_goals_judge_one_and_two_busy_processes_and_describe() -> None:
    document = {
        "models": {
            "base": {
                "levels": [
                    _level(1, 0, [700, 710, 1600], [1900, 2000, 2100], 3.0),  # max over 1.5 s
                    _level(2, 0, [800, 900, 1000], [2000, 2100, 900], 60.0),  # max under peer's
                ]
            }
        }
    }
    verdicts = {goal["goal"].split(": ", 1)[1]: goal["met"] for goal in loaded_goals(document)}
    assert verdicts["end p50 <= 800 ms"] is True
    assert verdicts["end max <= 1500 ms"] is False
    assert verdicts["end p50 <= 0.5 x peer"] is True
    assert verdicts["end_p50_ms <= peer's (2,000 ms)"] is True
    assert verdicts["end_max_ms <= peer's (2,100 ms)"] is True
    describes = [g["met"] for g in loaded_goals(document) if "Describe" in g["goal"]]
    assert describes == [True, False]


@pytest.mark.usefixtures("socket_enabled")
def test_busy_bench_runs_both_servers_at_each_load(
    peer_python: Path, test_models: Path, tmp_path: Path
) -> None:
    """With the generated test models: 1 command and 1 paused one, idle and 1 busy process."""
    result = run_bench(
        peer_python, test_models, tmp_path / "bench.json",
        *("--busy", "--quick", "--clips", "1", "--paused-clips", "1"),
        *("--busy-models", "base", "--busy-loads", "0", "1"),
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads((tmp_path / "busy.json").read_text())
    levels = document["models"]["base"]["levels"]
    assert [level["load"]["name"] for level in levels] == ["idle", "1 busy"]
    for level in levels:
        for name in (CHATTERBOX, FASTER_WHISPER):
            assert len(level["records"][name]) == 2
            assert all(r["speech_end_ms"] is not None for r in level["records"][name])
            assert level["describe_ms"][name]
        assert len(level["speculative_decodes"]) == 2  # one log line per command
    assert "base, 1 busy: end p50 <= 800 ms (measured " in result.stdout
