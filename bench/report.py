"""Turn raw samples into metrics, Chatterbox/peer ratios, goal checks and a text table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.client import ONESHOT, TTS_MODES
from bench.servers import CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING, PIPER
from tests.corpus import clips, paused_clips
from tests.support.wer import wer

TRAILING_SILENCE = 0.8  # the STT goal is measured on clips with at least this much silence
PEERS_TOGETHER = "peers together"
DESCRIBE_LIMIT_MS = 50.0


def _pct(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def server_metrics(result: dict[str, Any]) -> dict[str, float | None]:
    """Flat metrics of one server: ``name@clients`` for per-load numbers, all times in ms."""
    out: dict[str, float | None] = {
        "start_to_ready_s": result.get("start_to_ready_s"),
        "peak_rss_mb": round(result["peak_rss_mb"], 1) if result.get("peak_rss_mb") else None,
    }
    if "stt" in result.get("roles", []):
        out["stt_first_request_ms"] = result.get("first_stt_ms")
    if "tts" in result.get("roles", []):
        out["tts_first_request_first_audio_ms"] = result.get("first_tts_ms")
    for clients, records in (result.get("stt") or {}).items():
        latencies = [r["latency_ms"] for r in records]
        silent = [r["latency_ms"] for r in records if r["trailing_silence"] >= TRAILING_SILENCE]
        out[f"stt_p50_ms@{clients}"] = _pct(latencies, 50)
        out[f"stt_p95_ms@{clients}"] = _pct(latencies, 95)
        out[f"stt_silence_p50_ms@{clients}"] = _pct(silent, 50)
        out[f"stt_wer@{clients}"] = mean_wer(records)
        ended = [r for r in records if r["trailing_silence"] >= TRAILING_SILENCE]
        ends = [r["speech_end_ms"] for r in ended if r.get("speech_end_ms") is not None]
        out[f"stt_end_p50_ms@{clients}"] = _pct(ends, 50)
        out[f"stt_early_share@{clients}"] = (
            round(sum(bool(r.get("early")) for r in ended) / len(ended), 3) if ended else None
        )
    if result.get("stt_paused"):
        out["stt_paused_wer@1"] = mean_wer(result["stt_paused"])
    tts = result.get("tts") or {}
    for mode in TTS_MODES:
        if "tts" not in result.get("roles", []):
            continue
        levels = tts.get(mode)
        for clients, records in (levels or {}).items():
            first = [r["first_audio_ms"] for r in records]
            total = [r["total_ms"] for r in records]
            out[f"tts_{mode}_first_p50_ms@{clients}"] = _pct(first, 50)
            out[f"tts_{mode}_first_p95_ms@{clients}"] = _pct(first, 95)
            out[f"tts_{mode}_total_p50_ms@{clients}"] = _pct(total, 50)
        if levels is None:  # not supported: n/a
            for clients in tts.get(ONESHOT) or {}:
                for kind in ("first_p50", "first_p95", "total_p50"):
                    out[f"tts_{mode}_{kind}_ms@{clients}"] = None
    describe = result.get("describe") or {}
    out["describe_kb"] = (
        round(result["describe_bytes"] / 1024, 1) if "describe_bytes" in result else None
    )
    out["describe_idle_p50_ms"] = _pct(describe.get("idle_ms", []), 50)
    loaded = describe.get("loaded_ms", [])
    out["describe_loaded_p50_ms"] = _pct(loaded, 50)
    out["describe_loaded_p95_ms"] = _pct(loaded, 95)
    out["describe_loaded_max_ms"] = round(max(loaded), 2) if loaded else None
    return out


def mean_wer(records: Sequence[dict[str, Any]]) -> float | None:
    """Mean normalized word error rate of transcripts against the corpus (jiwer, Whisper's)."""
    references = {clip.id: clip.text for clip in (*clips(), *paused_clips())}
    rates = [wer(references[r["clip"]], r["text"]) for r in records if r["clip"] in references]
    return round(float(np.mean(rates)), 3) if rates else None


def _peer_for(metric: str) -> list[str]:
    if metric.startswith(("stt_end_", "stt_early_", "stt_paused_")):
        return [FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING]
    if metric.startswith("stt_"):
        return [FASTER_WHISPER]
    if metric.startswith("tts_"):
        return [PIPER]
    return [FASTER_WHISPER, PIPER]


def _ratio(mine: float | None, theirs: float | None) -> float | None:
    if mine is None or theirs is None or theirs == 0:
        return None
    return round(mine / theirs, 3)


def summarize(servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Metrics per server, Chatterbox/peer comparisons and the goals of the issue."""
    metrics = {name: server_metrics(result) for name, result in servers.items()}
    mine = metrics.get(CHATTERBOX, {})
    comparisons = []
    for metric, value in mine.items():
        for peer in _peer_for(metric):
            if peer in metrics and metric in metrics[peer]:
                theirs = metrics[peer][metric]
                comparisons.append(
                    {
                        "metric": metric,
                        "chatterbox": value,
                        "peer": peer,
                        "peer_value": theirs,
                        "ratio": _ratio(value, theirs),
                    }
                )
    if FASTER_WHISPER in metrics and PIPER in metrics:
        peers = [metrics[p]["peak_rss_mb"] for p in (FASTER_WHISPER, PIPER)]
        together = sum(p for p in peers if p is not None) if None not in peers else None
        comparisons.append(
            {
                "metric": "peak_rss_mb",
                "chatterbox": mine.get("peak_rss_mb"),
                "peer": PEERS_TOGETHER,
                "peer_value": together,
                "ratio": _ratio(mine.get("peak_rss_mb"), together),
            }
        )
    return {
        "metrics": metrics,
        "comparisons": comparisons,
        "goals": goals(comparisons, mine),
        "transcripts_agree": transcripts_agree(servers),
    }


def transcripts_agree(servers: dict[str, dict[str, Any]]) -> list[int] | None:
    """Count clips (1 client) where Chatterbox and wyoming-faster-whisper wrote the same text."""
    if CHATTERBOX not in servers or FASTER_WHISPER not in servers:
        return None
    texts = [
        {r["clip"]: r["text"].strip() for r in (servers[name].get("stt") or {}).get("1", [])}
        for name in (CHATTERBOX, FASTER_WHISPER)
    ]
    shared = texts[0].keys() & texts[1].keys()
    return [sum(texts[0][clip] == texts[1][clip] for clip in shared), len(shared)]


PAUSED_WER_LIMIT = 0.30
EARLY_SHARE = 0.8  # of complete commands (>= 0.8 s silence after) answered before AudioStop
GOALS = (
    ("stt_end_p50_ms@1", FASTER_WHISPER_ENDPOINTING, 0.5, "STT end of speech -> transcript p50"),
    ("tts_oneshot_first_p50_ms@1", PIPER, 0.35, "TTS first audio p50, one-shot"),
    ("tts_streaming_first_p50_ms@1", PIPER, 0.45, "TTS first audio p50, streaming as HA does"),
    ("peak_rss_mb", PEERS_TOGETHER, 0.8, "Peak RSS vs both peers together"),
)


def goals(comparisons: list[dict[str, Any]], mine: dict[str, float | None]) -> list[dict[str, Any]]:
    """Check the issue's goals: measured value and whether it is met (None: not measured)."""
    found = {(c["metric"], c["peer"]): c["ratio"] for c in comparisons}
    found_values = {(c["metric"], c["peer"]): c["peer_value"] for c in comparisons}
    out: list[dict[str, Any]] = [
        {
            "goal": f"{label}: ratio <= {limit}",
            "value": found.get((metric, peer)),
            "met": None if found.get((metric, peer)) is None else found[metric, peer] <= limit,
        }
        for metric, peer, limit, label in GOALS
    ]
    wer_mine, wer_peer = mine.get("stt_wer@1"), found_values.get(("stt_wer@1", FASTER_WHISPER))
    out.append(
        {
            "goal": f"STT mean WER (1 client) at most {FASTER_WHISPER}'s ({_fmt(wer_peer)})",
            "value": wer_mine,
            "met": None if wer_mine is None or wer_peer is None else wer_mine <= wer_peer,
        }
    )
    early = mine.get("stt_early_share@1")
    out.append(
        {
            "goal": f"STT transcript before AudioStop on >= {EARLY_SHARE:g} of complete commands",
            "value": early,
            "met": None if early is None else early >= EARLY_SHARE,
        }
    )
    paused_mine = mine.get("stt_paused_wer@1")
    paused_peer = found_values.get(("stt_paused_wer@1", FASTER_WHISPER))
    out.append(
        {
            "goal": f"STT WER on commands with a pause <= {PAUSED_WER_LIMIT:g} and at most "
            f"{FASTER_WHISPER}'s ({_fmt(paused_peer)})",
            "value": paused_mine,
            "met": None
            if paused_mine is None or paused_peer is None
            else paused_mine <= min(PAUSED_WER_LIMIT, paused_peer),
        }
    )
    worst = mine.get("describe_loaded_p95_ms")
    out.append(
        {
            "goal": f"Describe p95 under load (4 STT + 4 TTS) < {DESCRIBE_LIMIT_MS:g} ms",
            "value": worst,
            "met": None if worst is None else worst < DESCRIBE_LIMIT_MS,
        }
    )
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.0f}"


def header(document: dict[str, Any]) -> list[str]:
    """Describe where and how the numbers were taken, and how busy the machine was."""
    meta = document["meta"]
    loads = ", ".join(
        f"{name} {r['load_before'][0]:.1f}->{r['load_after'][0]:.1f}"
        for name, r in document["servers"].items()
        if "load_before" in r and "load_after" in r
    )
    stolen = ", ".join(
        f"{name} {r['stt_cpu_stolen']:.0%}"
        for name, r in document["servers"].items()
        if r.get("stt_cpu_stolen") is not None
    )
    return [
        f"{meta['date']}  {meta['machine']['cpu']} ({meta['machine']['cores']} cores)  "
        f"{'quick' if meta['quick'] else 'full'} run, {meta['duration_s']:g} s",
        f"models {meta['models']}  voice {Path(meta['voice']).name}",
        f"{len(meta['clips'])} clips at {meta['pace']:g}x real time, clients {meta['clients']}, "
        f"beam {meta['beam_size']}, {meta.get('compute_type', 'default')}, "
        f"{meta['cpu_threads']} threads, "
        f"Chatterbox STT workers {meta.get('chatterbox_stt_workers', '?')}, "
        f"VAD filter {'on' if meta['vad_filter'] else 'off'}, language {meta['language']}, "
        f"{len(meta.get('names', []))} home names sent",
        f"TTS: servers side by side, in turns, {meta.get('tts_gap', 0) * 1000:g} ms apart, "
        f"{meta['tts_repeats']} syntheses per client, level and mode",
        f"1-min load average before->after each server (other work on the machine): {loads}",
        *([f"CPU time the host kept (steal) during each server's STT: {stolen}"] if stolen else []),
        "",
    ]


def table(document: dict[str, Any]) -> str:
    """Format the comparisons and the goals as aligned text."""
    rows = [("metric", "chatterbox", "peer", "peer value", "ratio")]
    rows += [
        (c["metric"], _fmt(c["chatterbox"]), c["peer"], _fmt(c["peer_value"]), _fmt(c["ratio"]))
        for c in document["comparisons"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines[:0] = header(document)
    lines.append("")
    for goal in document["goals"]:
        verdict = {True: "MET", False: "NOT MET", None: "n/a"}[goal["met"]]
        lines.append(f"{verdict:8} {goal['goal']} (measured {_fmt(goal['value'])})")
    agree = document.get("transcripts_agree")
    if agree:
        lines.append(f"same transcript as {FASTER_WHISPER} (1 client): {agree[0]}/{agree[1]} clips")
    errors = {name: len(r["errors"]) for name, r in document["servers"].items() if r["errors"]}
    if errors:
        lines.append(f"request errors: {errors} (see JSON)")
    return "\n".join(lines)
