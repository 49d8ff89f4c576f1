"""Draw latency distributions from a bench JSON: python bench/plot.py BENCH.json OUT.png.

Run with a Python that has matplotlib (the bench venv); needs nothing else from the repo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLOURS = {
    "chatterbox": "#8fd19e",
    "wyoming-faster-whisper": "#9ecae1",
    "wyoming-piper": "#fdae6b",
}


MODE_LABELS = {"oneshot": "one-shot", "streaming": "HA stream", "streaming_words": "words"}
Box = tuple[str, str, list[float]]  # server, label, samples


def _panels(servers: dict[str, Any]) -> list[tuple[str, list[Box]]]:
    """(title, [(server, label, samples)]) for each panel that has data.

    TTS boxes stand side by side per mode and client count, as the servers took turns.
    """
    stt: list[Box] = []
    describe: list[Box] = []
    tts: dict[tuple[str, str], list[tuple[str, list[dict[str, float]]]]] = {}
    for name, result in servers.items():
        for clients, records in (result.get("stt") or {}).items():
            ends = [r["speech_end_ms"] for r in records if r.get("speech_end_ms") is not None]
            stt.append((name, f"{clients} cl", ends))
        for mode, levels in (result.get("tts") or {}).items():
            for clients, records in (levels or {}).items():
                tts.setdefault((mode, clients), []).append((name, records))
        samples = result.get("describe") or {}
        describe.append((name, "idle", samples.get("idle_ms", [])))
        describe.append((name, "loaded", samples.get("loaded_ms", [])))
    first: list[Box] = []
    total: list[Box] = []
    for (mode, clients), runs in tts.items():
        label = f"{MODE_LABELS.get(mode, mode)}\n{clients} cl"
        for name, records in runs:
            first.append((name, label, [r["first_audio_ms"] for r in records]))
            total.append((name, label, [r["total_ms"] for r in records]))
    panels = [
        ("STT: end of speech to Transcript (ms)", stt),
        ("TTS: time to first audio (ms)", first),
        ("TTS: total time (ms)", total),
        ("Describe round trip (ms)", describe),
    ]
    return [(title, [box for box in data if box[2]]) for title, data in panels if data]


def draw(document: dict[str, Any], out: Path) -> None:
    """Box plots (log scale) of every latency distribution in ``document``."""
    import matplotlib as mpl  # noqa: PLC0415  # only in the bench venv

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    panels = _panels(document["servers"])
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 3.6 * len(panels)), squeeze=False)
    for ax, (title, data) in zip(axes[:, 0], panels, strict=True):
        boxes = ax.boxplot(
            [s for _, _, s in data], showfliers=True, whis=(5, 95), patch_artist=True
        )
        for box, (name, _, _) in zip(boxes["boxes"], data, strict=True):
            box.set_facecolor(COLOURS.get(name, "lightgrey"))
        ax.set_xticks(range(1, len(data) + 1), [label for _, label, _ in data], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    shown = dict.fromkeys(name for _, data in panels for name, _, _ in data)
    legend = [Patch(facecolor=COLOURS.get(name, "lightgrey"), label=name) for name in shown]
    axes[0, 0].legend(handles=legend, fontsize=8, loc="upper left")
    meta = document["meta"]
    fig.suptitle(
        f"Chatterbox bench {meta['date']} ({meta['machine']['cores']} cores, "
        f"{'quick' if meta['quick'] else 'full'}, models {Path(meta['models']).name})"
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    """Entry point; exit 3 when matplotlib is missing."""
    if len(argv) != 2:
        print("usage: plot.py BENCH.json OUT.png", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        print("matplotlib is not installed: no PNG", file=sys.stderr)
        return 3
    draw(json.loads(Path(argv[0]).read_text()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
