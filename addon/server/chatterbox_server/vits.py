"""A Piper voice's graph cut in three stages, so a sentence's audio comes out chunk by chunk.

A Piper voice is one VITS graph. The front (text encoder, durations) works per phoneme; the flow
and the decoder work per audio frame, and each output frame depends only on nearby frames. Cut
at the flow and the decoder, the front runs once per sentence and the other two run on a few
frames at a time, each chunk with enough neighbouring frames (``FLOW_PAD``, ``DECODER_PAD``)
that its audio is the whole sentence's audio for those frames. The first audio is then ready
after the front and ``FIRST_FRAMES`` frames (about a quarter of a second of speech), not after
the whole sentence.

The cut is made by ``onnx`` in a child process (``python -m chatterbox_server.vits``; parsing a
graph with ``onnx`` costs more memory than the voice itself) and kept on disk beside the voice's
downloads. It needs the node names that Piper's exporter writes (``/flow/…``, ``/dec/…``). At
load the chunked audio of a probe sentence is checked against the same stages run whole; a voice
that cannot be cut, or whose chunks differ, is run whole, one piece per sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime

if TYPE_CHECKING:
    import onnx

_LOGGER = logging.getLogger(__name__)

FLOW_PAD = 32  # frames each side a flow chunk needs: 4 couplings of 4 convolutions, kernel 5
DECODER_PAD = 16  # frames each side a decoder chunk needs (measured: then sample-exact)
FIRST_FRAMES = 20  # the first chunk: 20 frames are 0.23 s of speech at 22 kHz
GROWTH = 4  # each further chunk is this many times the last ...
MAX_FRAMES = 320  # ... up to this many frames
MATCH = 1e-3  # chunked and whole audio may differ by this much at load (float rounding)
STAGES = ("front", "flow", "decoder")
_FORMAT = 1  # bump when the cut changes: older cuts on disk are made again


@dataclass(frozen=True)
class Stage:
    """One part of the graph and the names of its inputs and outputs."""

    session: onnxruntime.InferenceSession
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on the named tensors (extra ones are ignored)."""
        values = self.session.run(list(self.outputs), {name: feed[name] for name in self.inputs})
        return dict(zip(self.outputs, values, strict=True))


def schedule(frames: int, first: int = FIRST_FRAMES) -> Iterator[tuple[int, int]]:
    """Yield the chunks (start, end) of a sentence of ``frames`` frames.

    Each chunk is ``GROWTH`` times the last, up to ``MAX_FRAMES``; a rest shorter than half the
    next chunk goes with the chunk before it.
    """
    start, size = 0, first
    while start < frames:
        end = start + size
        size = min(MAX_FRAMES, size * GROWTH)
        if frames - end < size // 2:
            end = frames
        yield start, end
        start = end


class StagingError(Exception):
    """The voice cannot be run in chunks: it is run whole."""


class StagedVoice:
    """The three stages of one voice, run chunk by chunk."""

    def __init__(self, front: Stage, flow: Stage, decoder: Stage) -> None:
        self.front, self.flow, self.decoder = front, flow, decoder
        self.peak = 1.0  # the loudest raw sample of the probe (set by ``load``)

    def audio(
        self, inputs: dict[str, np.ndarray], first: int | None = FIRST_FRAMES
    ) -> Iterator[np.ndarray]:
        """Yield float audio in [-1, 1] for one sentence's model inputs, chunk by chunk.

        ``first=None`` makes it in one chunk: no sooner, and no chunking's extra work.
        """
        return self.chunks(self.front.run(inputs), first)

    def check(self, probe: dict[str, np.ndarray]) -> None:
        """Raise ``StagingError`` unless the probe's chunked audio is its whole audio.

        Also keeps the probe's loudest sample as ``peak``.
        """
        tensors = self.front.run(probe)
        whole = np.concatenate(list(self.chunks(tensors, first=None)))
        chunked = np.concatenate(list(self.chunks(tensors, first=8)))
        if len(whole) != len(chunked):
            raise StagingError(f"chunked audio has {len(chunked)} samples, whole {len(whole)}")
        difference = float(np.abs(whole - chunked).max())
        if difference > MATCH:
            raise StagingError(f"chunked audio differs from whole by {difference:.4f}")
        self.peak = max(float(np.abs(whole).max()), 0.1)

    def chunks(self, tensors: dict[str, np.ndarray], first: int | None) -> Iterator[np.ndarray]:
        """Yield the audio of the front's ``tensors``, chunk by chunk.

        The flow runs twice: on the frames the first chunk needs, then on all the rest.
        """
        frames = max(int(value.shape[-1]) for value in tensors.values() if value.ndim == 3)
        framewise = {name for name, value in tensors.items() if _framewise(value, frames)}
        flowed: dict[str, np.ndarray] = {}
        flowed_at = flowed_end = 0  # the frames of ``flowed`` that are exact
        for start, end in schedule(frames, first or frames):
            decode_at, decode_end = max(0, start - DECODER_PAD), min(frames, end + DECODER_PAD)
            if decode_end > flowed_end:
                read_at = max(0, decode_at - FLOW_PAD)
                read_end = min(frames, decode_end + FLOW_PAD) if start == 0 else frames
                out = self.flow.run(_window(tensors, framewise, read_at, read_end))
                flowed = {name: value[..., decode_at - read_at :] for name, value in out.items()}
                flowed_at = decode_at
                flowed_end = read_end if read_end == frames else read_end - FLOW_PAD
            feed = _window(tensors, framewise, decode_at, decode_end)
            for name, value in flowed.items():
                feed[name] = value[..., decode_at - flowed_at : decode_end - flowed_at]
            audio = self.decoder.run(feed)[self.decoder.outputs[0]].reshape(-1)
            hop = len(audio) // (decode_end - decode_at)
            yield audio[(start - decode_at) * hop : (end - decode_at) * hop]


def _framewise(value: np.ndarray, frames: int) -> bool:
    return value.ndim == 3 and value.shape[-1] == frames and frames > 1


def _window(
    tensors: dict[str, np.ndarray], framewise: set[str], start: int, end: int
) -> dict[str, np.ndarray]:
    """Return the front's tensors for frames start..end; others (a speaker's embedding) whole."""
    return {
        name: value[..., start:end] if name in framewise else value
        for name, value in tensors.items()
    }


def load(
    onnx_path: Path,
    cache_dir: Path,
    options: onnxruntime.SessionOptions,
    providers: Sequence[Any],
) -> StagedVoice:
    """Return the voice's stages, cut now or before; raise ``StagingError`` if it has none."""
    try:
        folder = _cut(onnx_path, cache_dir)
        manifest = json.loads((folder / "stages.json").read_text(encoding="utf-8"))
        stages = [
            Stage(
                onnxruntime.InferenceSession(
                    str(folder / f"{name}.onnx"), sess_options=options, providers=providers
                ),
                tuple(manifest[name]["inputs"]),
                tuple(manifest[name]["outputs"]),
            )
            for name in STAGES
        ]
    except (OSError, ValueError, KeyError, subprocess.SubprocessError, RuntimeError) as err:
        raise StagingError(str(err)) from err
    return StagedVoice(*stages)


def _cut(onnx_path: Path, cache_dir: Path) -> Path:
    """Return the folder with the voice's stages, cutting them in a child process if needed."""
    stat = onnx_path.stat()
    key = f"{_FORMAT}:{onnx_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = cache_dir / f"{onnx_path.name.removesuffix('.onnx')}-{digest}"
    if (folder / "stages.json").is_file():
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".cut-", dir=cache_dir))
    try:
        subprocess.run(
            [sys.executable, "-m", "chatterbox_server.vits", str(onnx_path), str(work)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        try:
            os.replace(work, folder)
        except OSError:  # another process cut it first
            if not (folder / "stages.json").is_file():
                raise
    except subprocess.CalledProcessError as err:
        message = err.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(message[-1] if message else f"exit status {err.returncode}") from err
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _stage_nodes(
    graph: onnx.GraphProto, prefix: str, outputs: Sequence[str]
) -> tuple[list[str], set[str]]:
    """Return a stage's inputs and computed tensors: nodes named ``prefix…``, the glue between.

    The stage is every node that depends on a ``prefix`` node and that ``outputs`` depend on.
    Its inputs are what those nodes read and do not compute, weights and constants aside.
    """
    consumers: dict[str, list[Any]] = {}
    producer: dict[str, Any] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
        for name in node.output:
            producer[name] = node
    after: set[str] = set()  # tensors that depend on the prefix's nodes
    queue = deque(out for node in graph.node if node.name.startswith(prefix) for out in node.output)
    if not queue:
        raise ValueError(f"no {prefix} nodes")
    while queue:
        name = queue.popleft()
        if name not in after:
            after.add(name)
            queue.extend(out for node in consumers.get(name, ()) for out in node.output)
    before: set[str] = set()  # tensors the outputs depend on, inside the stage
    queue = deque(outputs)
    while queue:
        name = queue.popleft()
        if name in after and name not in before:
            before.add(name)
            queue.extend(producer[name].input)
    constants = {init.name for init in graph.initializer} | {
        name for node in graph.node if node.op_type == "Constant" for name in node.output
    }
    inputs: list[str] = []
    for name in sorted(before):
        for read in producer[name].input:
            if read and read not in before and read not in constants and read not in inputs:
                inputs.append(read)
    return inputs, before


def cut(onnx_path: Path, out_dir: Path) -> None:
    """Write ``front``, ``flow`` and ``decoder`` graphs and ``stages.json`` into ``out_dir``."""
    import onnx  # noqa: PLC0415 - only the child process parses graphs
    import onnx.utils  # noqa: PLC0415

    model = onnx.load(str(onnx_path))
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    graph_inputs = [value.name for value in graph.input if value.name not in weights]
    graph_outputs = [value.name for value in graph.output]
    decoder_inputs, _ = _stage_nodes(graph, "/dec/", graph_outputs)
    flowed = [name for name in decoder_inputs if _depends_on(graph, name, "/flow/")]
    if len(flowed) != 1:
        raise ValueError(f"the decoder reads {len(flowed)} tensors made by the flow")
    flow_inputs, _ = _stage_nodes(graph, "/flow/", flowed)
    front_outputs = [*flow_inputs, *(name for name in decoder_inputs if name not in flowed)]
    specs = {
        "front": (graph_inputs, front_outputs),
        "flow": (flow_inputs, flowed),
        "decoder": (decoder_inputs, graph_outputs),
    }
    extractor = onnx.utils.Extractor(model)
    manifest: dict[str, dict[str, list[str]]] = {}
    for name, (inputs, outputs) in specs.items():
        onnx.save(extractor.extract_model(inputs, outputs), str(out_dir / f"{name}.onnx"))
        manifest[name] = {"inputs": list(inputs), "outputs": list(outputs)}
    (out_dir / "stages.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _depends_on(graph: onnx.GraphProto, tensor: str, prefix: str) -> bool:
    """Tell whether ``tensor`` is computed from a node named ``prefix…``."""
    producer = {name: node for node in graph.node for name in node.output}
    seen: set[str] = set()
    queue = deque([tensor])
    while queue:
        name = queue.popleft()
        node = producer.get(name)
        if node is None or name in seen:
            continue
        seen.add(name)
        if node.name.startswith(prefix):
            return True
        queue.extend(node.input)
    return False


def main() -> None:
    """``python -m chatterbox_server.vits VOICE.onnx OUT_DIR``: cut a voice into its stages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("voice", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    cut(args.voice, args.out_dir)


if __name__ == "__main__":
    main()
