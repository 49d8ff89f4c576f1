"""Turn raw samples into metrics, Chatterbox/peer ratios, goal checks and a text table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.client import ONESHOT, TTS_MODES
from bench.failover import DOWN, KILLED, NORMAL, STALLING
from bench.failover import LABELS as FAILOVER_LABELS
from bench.servers import CHATTERBOX, FASTER_WHISPER, FASTER_WHISPER_ENDPOINTING, LABELS, PIPER
from corpus.wer import wer

TRAILING_SILENCE = 0.8  # the STT goal is measured on clips with at least this much silence
PEERS_TOGETHER = "peers together"
PEER_PAIR = f"{FASTER_WHISPER} + {PIPER}"  # the pipeline pair that answers like Chatterbox
DESCRIBE_LIMIT_MS = 50.0
SHORT_PAUSE = 0.7  # s: Home Assistant's default silence; no pause shorter may cut a command
KINDS = ("hesitation", "afterthought")  # of pause: the words before it are no command, or one


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q``th percentile of ``values`` to 0.01, None when there are none."""
    return round(float(np.percentile(values, q)), 2) if values else None


def _stt_metrics(result: dict[str, Any]) -> dict[str, float | None]:
    """Return the STT metrics: per client level, then at 1 client without names and paused."""
    out: dict[str, float | None] = {}
    for clients, records in (result.get("stt") or {}).items():
        latencies = [r["latency_ms"] for r in records]
        silent = [r["latency_ms"] for r in records if r["trailing_silence"] >= TRAILING_SILENCE]
        out[f"stt_p50_ms@{clients}"] = percentile(latencies, 50)
        out[f"stt_p95_ms@{clients}"] = percentile(latencies, 95)
        out[f"stt_silence_p50_ms@{clients}"] = percentile(silent, 50)
        out[f"stt_wer@{clients}"] = mean_wer(records)
        ended = [r for r in records if r["trailing_silence"] >= TRAILING_SILENCE]
        ends = [r["speech_end_ms"] for r in ended if r.get("speech_end_ms") is not None]
        out[f"stt_end_p50_ms@{clients}"] = percentile(ends, 50)
        out[f"stt_early_share@{clients}"] = (
            round(sum(bool(r.get("early")) for r in ended) / len(ended), 3) if ended else None
        )
        out[f"stt_cuts@{clients}"] = _count_cuts(records)
        answered = [
            r["answer_first_audio_ms"] for r in ended if r.get("answer_first_audio_ms") is not None
        ]
        if answered:
            out[f"answer_first_audio_p50_ms@{clients}"] = percentile(answered, 50)
    one = (result.get("stt") or {}).get("1") or []
    if one:
        named = any(r.get("names") for r in one)
        out["stt_wer_names@1"] = mean_wer(one) if named else None
        unnamed = result.get("stt_no_names") or ([] if named else one)
        out["stt_wer_no_names@1"] = mean_wer(unnamed)
    if result.get("stt_paused"):
        paused = result["stt_paused"]
        out["stt_paused_wer@1"] = mean_wer(paused)
        out["stt_paused_cuts@1"] = _count_cuts(paused)
        for kind in KINDS:
            out[f"stt_paused_cuts_{kind}@1"] = _count_cuts(
                [r for r in paused if r.get("kind") == kind]
            )
    return out


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
    out.update(_stt_metrics(result))
    tts = result.get("tts") or {}
    for mode in TTS_MODES:
        if "tts" not in result.get("roles", []):
            continue
        levels = tts.get(mode)
        for clients, records in (levels or {}).items():
            first = [r["first_audio_ms"] for r in records]
            total = [r["total_ms"] for r in records]
            out[f"tts_{mode}_first_p50_ms@{clients}"] = percentile(first, 50)
            out[f"tts_{mode}_first_p95_ms@{clients}"] = percentile(first, 95)
            out[f"tts_{mode}_total_p50_ms@{clients}"] = percentile(total, 50)
        if levels is None:  # not supported: n/a
            for clients in tts.get(ONESHOT) or {}:
                for kind in ("first_p50", "first_p95", "total_p50"):
                    out[f"tts_{mode}_{kind}_ms@{clients}"] = None
    describe = result.get("describe") or {}
    out["describe_kb"] = (
        round(result["describe_bytes"] / 1024, 1) if "describe_bytes" in result else None
    )
    out["describe_idle_p50_ms"] = percentile(describe.get("idle_ms", []), 50)
    loaded = describe.get("loaded_ms", [])
    out["describe_loaded_p50_ms"] = percentile(loaded, 50)
    out["describe_loaded_p95_ms"] = percentile(loaded, 95)
    out["describe_loaded_max_ms"] = round(max(loaded), 2) if loaded else None
    return out


def mean_wer(records: Sequence[dict[str, Any]]) -> float | None:
    """Mean normalized word error rate of transcripts against the clips' text (jiwer, Whisper's)."""
    rates = [wer(r["reference"], r["text"]) for r in records]
    return round(float(np.mean(rates)), 3) if rates else None


def is_cut(record: dict[str, Any]) -> bool | None:
    """Whether the transcript came before the last word was sent (None: not measurable).

    Only paced at real time or faster does the audio sent tell what the speaker had said.
    """
    if record.get("pace", 0) < 1 or record.get("heard_s") is None:
        return None
    return bool(record["heard_s"] < record["speech_end_s"])


def _tally(records: Sequence[dict[str, Any]]) -> list[int]:
    """[cut, judged] of ``records`` (see :func:`is_cut`)."""
    judged = [cut for cut in map(is_cut, records) if cut is not None]
    return [sum(judged), len(judged)]


def _count_cuts(records: Sequence[dict[str, Any]]) -> float | None:
    cut, judged = _tally(records)
    return float(cut) if judged else None


def cuts(result: dict[str, Any]) -> dict[str, Any] | None:
    """Count one STT server's cuts at 1 client, and list the clips cut with their transcripts.

    Each count is [cut, judged]: paused commands, by kind of pause, those whose pause is
    shorter than Home Assistant's default silence (and by kind), and complete commands.
    """
    paused = result.get("stt_paused") or []
    complete = (result.get("stt") or {}).get("1") or []
    if not paused and not complete:
        return None
    short = [r for r in paused if r.get("pause") is not None and r["pause"] < SHORT_PAUSE]
    return {
        "paused": _tally(paused),
        "paused_by_kind": {
            kind: _tally([r for r in paused if r.get("kind") == kind]) for kind in KINDS
        },
        "short_pause": _tally(short),
        "short_pause_by_kind": {
            kind: _tally([r for r in short if r.get("kind") == kind]) for kind in KINDS
        },
        "complete": _tally(complete),
        "clips": [
            {
                "clip": r["clip"],
                "set": name,
                "kind": r.get("kind"),
                "pause": r.get("pause"),
                "heard_s": r["heard_s"],
                "speech_end_s": r["speech_end_s"],
                "text": r["text"],
                "reference": r["reference"],
            }
            for name, records in (("paused", paused), ("complete", complete))
            for r in records
            if is_cut(r)
        ],
    }


def _peer_for(metric: str) -> list[tuple[str, str]]:
    """Return the peers a Chatterbox metric is compared with: (label, server measured)."""
    if metric.startswith("answer_"):
        return [(PEER_PAIR, FASTER_WHISPER)]
    if metric.startswith(("stt_end_", "stt_early_", "stt_paused_")):
        return [(FASTER_WHISPER, FASTER_WHISPER), (FASTER_WHISPER_ENDPOINTING,) * 2]
    if metric.startswith("stt_"):
        return [(FASTER_WHISPER, FASTER_WHISPER)]
    if metric.startswith("tts_"):
        return [(PIPER, PIPER)]
    return [(FASTER_WHISPER, FASTER_WHISPER), (PIPER, PIPER)]


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
        if "_cuts" in metric:  # counts, shown per server with the end of speech
            continue
        for peer, source in _peer_for(metric):
            if source in metrics and metric in metrics[source]:
                theirs = metrics[source][metric]
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
    cut = {name: c for name, result in servers.items() if (c := cuts(result)) is not None}
    failed_over = failover(servers.get(CHATTERBOX, {}).get("failover"))
    return {
        "metrics": metrics,
        "comparisons": comparisons,
        "cuts": cut,
        "failover": failed_over,
        "goals": goals(comparisons, mine, cut.get(CHATTERBOX), failed_over),
        "transcripts_agree": transcripts_agree(servers),
    }


def failover(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per case of :mod:`bench.failover`: p50s and what the case adds to the normal path.

    STT: end of speech -> transcript, and the p50 of its difference to the normal path's on
    the same clip ("adds"); how many transcripts equal the normal path's for the same clip;
    how many the next server (not the preferred) answered. TTS: request -> first audio, its
    difference paired by round.
    """
    if not raw:
        return None
    out: dict[str, Any] = {"stt": {}, "tts": {}}
    for kind, key, value in (("stt", "clip", "speech_end_ms"), ("tts", "round", "first_audio_ms")):
        cases = raw.get(kind) or {}
        normal = {r[key]: r for r in cases.get(NORMAL, [])}
        for case, records in cases.items():
            timed = [r for r in records if r.get(value) is not None]
            paired = [r for r in timed if normal.get(r[key], {}).get(value) is not None]
            summary: dict[str, Any] = {
                "n": len(records),
                "p50_ms": percentile([r[value] for r in timed], 50),
                "adds_ms": percentile([r[value] - normal[r[key]][value] for r in paired], 50),
                "by_next": [sum(bool(r.get("answered_by")) for r in records), len(records)],
            }
            if kind == "stt":
                alike = [r for r in records if r[key] in normal]
                same = [r["text"].strip() == normal[r[key]]["text"].strip() for r in alike]
                summary["same_text"] = [sum(same), len(same)]
                summary["early"] = [sum(bool(r.get("early")) for r in records), len(records)]
            out[kind][case] = summary
    out["errors"] = len(raw.get("errors") or [])
    return out


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


EARLY_SHARE = 0.8  # of complete commands (>= 0.8 s silence after) answered before AudioStop
END_LIMIT_MS = 800.0  # end of speech -> transcript: 0.1 s after HA's default 0.7 s silence
FAILOVER_LIMIT_MS = 1000.0  # issue 29: trying a server that is down costs well under a second
FAILED_OVER = (DOWN, STALLING, KILLED)  # the failover cases of the goal (not the handshake)
GOALS = (
    ("stt_end_p50_ms@1", FASTER_WHISPER, 0.5, "STT end of speech -> transcript p50 vs the peer "
     "as HA runs it"),
    ("answer_first_audio_p50_ms@1", PEER_PAIR, 0.5, "End of speech -> first audio of the "
     "answer p50"),
    ("tts_oneshot_first_p50_ms@1", PIPER, 0.35, "TTS first audio p50, one-shot"),
    ("tts_streaming_first_p50_ms@1", PIPER, 0.45, "TTS first audio p50, streaming as HA does"),
    ("peak_rss_mb", PEERS_TOGETHER, 0.8, "Peak RSS vs both peers together"),
)  # fmt: skip


def goal_record(goal: str, value: float | None, met: bool | None) -> dict[str, Any]:
    """Return one goal's record; with no ``value`` it is neither met nor missed."""
    return {"goal": goal, "value": value, "met": None if value is None else met}


def goals(
    comparisons: list[dict[str, Any]],
    mine: dict[str, float | None],
    cut: dict[str, Any] | None = None,
    failed_over: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Check issue 26's goals and 29's: measured value and whether it is met (None: not measured).

    ``cut`` is Chatterbox's :func:`cuts` at the default sensitivity, ``failed_over`` its
    :func:`failover`.
    """
    found = {(c["metric"], c["peer"]): c["ratio"] for c in comparisons}
    peer_values = {(c["metric"], c["peer"]): c["peer_value"] for c in comparisons}
    short = (cut or {}).get("short_pause") or [0, 0]
    kinds = ((cut or {}).get("short_pause_by_kind") or {}).items()
    by_kind = "".join(f", {kind} {n}/{of}" for kind, (n, of) in kinds if of)
    out = [
        goal_record(
            f"No cut at the default sensitivity on paused commands with a pause < {SHORT_PAUSE:g} "
            f"s (cut {short[0]}/{short[1]}{by_kind})",
            short[0] if short[1] else None,
            short[0] == 0,
        )
    ]
    for metric, label in (("stt_wer_no_names@1", "no names"), ("stt_wer_names@1", "names")):
        value, theirs = mine.get(metric), peer_values.get((metric, FASTER_WHISPER))
        out.append(
            goal_record(
                f"STT WER on complete commands with {label} sent at most {FASTER_WHISPER}'s "
                f"({_fmt(theirs)})",
                value,
                theirs is not None and value is not None and value <= theirs,
            )
        )
    end = mine.get("stt_end_p50_ms@1")
    out.append(
        goal_record(
            f"STT end of speech -> transcript p50 <= {END_LIMIT_MS:g} ms",
            end,
            end is not None and end <= END_LIMIT_MS,
        )
    )
    early = mine.get("stt_early_share@1")
    out.append(
        goal_record(
            f"STT transcript before AudioStop on >= {EARLY_SHARE:g} of complete commands",
            early,
            early is not None and early >= EARLY_SHARE,
        )
    )
    for metric, peer, limit, label in GOALS:
        ratio = found.get((metric, peer))
        out.append(
            goal_record(f"{label}: ratio <= {limit}", ratio, ratio is not None and ratio <= limit)
        )
    worst = mine.get("describe_loaded_p95_ms")
    out.append(
        goal_record(
            f"Describe p95 under load (4 STT + 4 TTS) < {DESCRIBE_LIMIT_MS:g} ms",
            worst,
            worst is not None and worst < DESCRIBE_LIMIT_MS,
        )
    )
    out.append(_failover_goal(failed_over))
    return out


def _failover_goal(failed_over: dict[str, Any] | None) -> dict[str, Any]:
    """Judge the most a failover (preferred down, stalling, killed) adds to STT's or TTS's p50."""
    cases = [
        summary
        for kind in ("stt", "tts")
        for case, summary in ((failed_over or {}).get(kind) or {}).items()
        if case in FAILED_OVER
    ]
    adds = [c["adds_ms"] for c in cases if c["adds_ms"] is not None]
    same = [c["same_text"] for c in cases if "same_text" in c]
    texts = (
        f", same transcripts {sum(s[0] for s in same)}/{sum(s[1] for s in same)}" if same else ""
    )
    worst = round(max(adds), 2) if adds else None
    return goal_record(
        f"A failover (preferred down, stalling, killed) adds < {FAILOVER_LIMIT_MS:g} ms to end "
        f"of speech -> transcript and TTS first audio p50{texts}",
        worst,
        worst is not None and worst < FAILOVER_LIMIT_MS,
    )


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
    peers = [f"{name}: {label}" for name, label in LABELS.items() if name in document["servers"]]
    return [
        f"{meta['date']}  {meta['machine']['cpu']} ({meta['machine']['cores']} cores)  "
        f"{'quick' if meta['quick'] else 'full'} run, {meta['duration_s']:g} s",
        f"models {meta['models']}  voice {Path(meta['voice']).name}",
        f"corpus split {meta.get('split', '?')}: {len(meta['clips'])} complete and "
        f"{len(meta.get('paused_clips', []))} paused commands at {meta['pace']:g}x real time, "
        f"{len(meta.get('names', []))} home names sent; "
        f"Chatterbox sensitivities {', '.join(meta.get('sensitivities', ['default']))}",
        f"clients {meta['clients']}, beam {meta['beam_size']}, "
        f"{meta.get('compute_type', 'default')}, {meta['cpu_threads']} threads, "
        f"Chatterbox STT workers {meta.get('chatterbox_stt_workers', '?')}, "
        f"VAD filter {'on' if meta['vad_filter'] else 'off'}, language {meta['language']}",
        *peers,
        f"TTS: servers side by side, in turns, {meta.get('tts_gap', 0) * 1000:g} ms apart, "
        f"{meta['tts_repeats']} syntheses per client, level and mode",
        *(
            [f"answer after each transcript (1 client): {meta['answer_text']!r}"]
            if meta.get("answer_text")
            else []
        ),
        f"1-min load average before->after each server (other work on the machine): {loads}",
        *([f"CPU time the host kept (steal) during each server's STT: {stolen}"] if stolen else []),
        "",
    ]


def aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Return ``rows`` (the first the header) as columns, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{_fmt(value)} ms"


def _share(tally: list[int] | None) -> str:
    return f"{tally[0]}/{tally[1]}" if tally and tally[1] else "n/a"


def speech_table(document: dict[str, Any]) -> list[str]:
    """One row per STT server (and sensitivity): end of speech, cuts and WER at 1 client."""
    rows: list[tuple[str, ...]] = [
        ("end of speech, 1 client", "->transcript p50", "early", "->answer audio p50",
         "paused cuts", "by kind (" + "/".join(KINDS) + ")", "complete cuts", "WER names",
         "WER no names", "paused WER"),
    ]  # fmt: skip
    metrics, cut = document["metrics"], document.get("cuts") or {}
    for name, values in metrics.items():
        if "stt" not in document["servers"][name].get("roles", []):
            continue
        mine = cut.get(name) or {}
        by_kind = mine.get("paused_by_kind") or {}
        rows.append(
            (
                name,
                _ms(values.get("stt_end_p50_ms@1")),
                _fmt(values.get("stt_early_share@1")),
                _ms(values.get("answer_first_audio_p50_ms@1")),
                _share(mine.get("paused")),
                " ".join(_share(by_kind.get(kind)) for kind in KINDS),
                _share(mine.get("complete")),
                _fmt(values.get("stt_wer_names@1")),
                _fmt(values.get("stt_wer_no_names@1")),
                _fmt(values.get("stt_paused_wer@1")),
            )
        )
    lines = aligned(rows)
    for name, found in cut.items():
        for c in found["clips"]:
            what = f"{c['kind'] or 'paused'}, pause {c['pause']:g} s" if c["pause"] else c["set"]
            lines.append(
                f"cut  {name}: {c['clip']} ({what}): heard {c['heard_s']:.2f} of "
                f"{c['speech_end_s']:.2f} s -> {c['text'].strip()!r}"
            )
    return lines


def _adds(value: float | None) -> str:
    return "n/a" if value is None else f"{'+' if value >= 0 else ''}{_fmt(value)} ms"


def failover_table(document: dict[str, Any]) -> list[str]:
    """One row per failover case: STT end of speech and TTS first audio, what each adds."""
    found = document.get("failover")
    if not found:
        return []
    rows: list[tuple[str, ...]] = [
        ("failover (1 client)", "STT n", "->transcript p50", "adds", "same text", "TTS n",
         "first audio p50", "adds", "next answered (STT TTS)"),
    ]  # fmt: skip
    stt, tts = found.get("stt") or {}, found.get("tts") or {}
    for case in dict.fromkeys([*stt, *tts]):
        heard, spoke = stt.get(case) or {}, tts.get(case) or {}
        rows.append(
            (
                FAILOVER_LABELS.get(case, case),
                str(heard["n"]) if heard else "",
                _ms(heard.get("p50_ms")) if heard else "",
                _adds(heard.get("adds_ms")) if case != NORMAL and heard else "",
                _share(heard.get("same_text")) if case != NORMAL and heard else "",
                str(spoke["n"]) if spoke else "",
                _ms(spoke.get("p50_ms")) if spoke else "",
                _adds(spoke.get("adds_ms")) if case != NORMAL and spoke else "",
                f"{_share(heard.get('by_next'))} {_share(spoke.get('by_next')) if spoke else '-'}",
            )
        )
    return [
        *aligned(rows),
        "each request through a fresh server list; stalling: accepts and reads, never answers; "
        "killed: a second Chatterbox SIGKILLed once half the speech went to it; adds: p50 of the "
        "difference to Chatterbox alone on the same clip (TTS: the same round)",
        "",
    ]


def goal_lines(goals: Sequence[dict[str, Any]]) -> list[str]:
    """Return one line per goal: its verdict, what it asks and the value measured."""
    verdicts = {True: "MET", False: "NOT MET", None: "n/a"}
    return [
        f"{verdicts[goal['met']]:8} {goal['goal']} (measured {_fmt(goal['value'])})"
        for goal in goals
    ]


def table(document: dict[str, Any]) -> str:
    """Format the comparisons, the end of speech per server and the goals as aligned text."""
    rows = [("metric", "chatterbox", "peer", "peer value", "ratio")]
    rows += [
        (c["metric"], _fmt(c["chatterbox"]), c["peer"], _fmt(c["peer_value"]), _fmt(c["ratio"]))
        for c in document["comparisons"]
    ]
    lines = [*header(document), *aligned(rows), "", *speech_table(document), ""]
    lines += failover_table(document)
    lines += goal_lines(document["goals"])
    agree = document.get("transcripts_agree")
    if agree:
        lines.append(f"same transcript as {FASTER_WHISPER} (1 client): {agree[0]}/{agree[1]} clips")
    errors = {name: len(r["errors"]) for name, r in document["servers"].items() if r["errors"]}
    if errors:
        lines.append(f"request errors: {errors} (see JSON)")
    return "\n".join(lines)
