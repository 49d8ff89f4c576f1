"""The CUDA image (addon/Dockerfile.cuda), once `scripts/addon-image build --cuda` has built it.

Without a GPU passed in (as in CI): --device auto serves on the CPU and says so, --device cuda
stops at start-up naming what is missing. With ``CHATTERBOX_TEST_GPU=1`` on a host with an
NVIDIA GPU and its CDI spec (``nvidia-ctk cdi generate``), the GPU is passed in and both engines
must run on CUDA. The image is 3.9 GB, so the test run does not build it: these tests skip
until it exists.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.wyoming_client import describe, synthesize, transcribe

from .conftest import CUDA_IMAGE, Served, podman, podman_env, serve
from .test_image import CLIP, _pcm

GPU_ENV = "CHATTERBOX_TEST_GPU"
GPU_ARGS = "--device nvidia.com/gpu=all --security-opt label=disable"
MISSING_DRIVER = (
    "chatterbox-server: error: --device cuda: missing the NVIDIA driver "
    "(libcuda.so.1 cannot be loaded: is the GPU passed in?)"
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def cuda_image(podman_ready: None) -> str:
    """The CUDA image, when built here."""
    exists = subprocess.run(
        ["podman", "image", "exists", CUDA_IMAGE], env=podman_env(), check=False
    )
    if exists.returncode != 0:
        pytest.skip(f"{CUDA_IMAGE} is not built (scripts/addon-image build --cuda; 3.9 GB)")
    return CUDA_IMAGE


def _serve(image: str, models: Path, *, gpu: bool) -> Iterator[Served]:
    served = serve(models, image, GPU_ARGS if gpu else "")
    try:
        yield served
    finally:
        podman("rm", "-f", "-v", served.id, check=False)


def _log(served: Served) -> str:
    result = subprocess.run(
        ["podman", "logs", served.id], capture_output=True, text=True, env=podman_env(), check=False
    )
    return result.stdout + result.stderr


@pytest.fixture
def served_without_gpu(cuda_image: str, image_models: Path) -> Iterator[Served]:
    """The CUDA image, its default --device auto, no GPU passed in."""
    yield from _serve(cuda_image, image_models, gpu=False)


@pytest.fixture
def served_on_gpu(cuda_image: str, image_models: Path) -> Iterator[Served]:
    """The CUDA image with the host's GPUs passed in (CHATTERBOX_TEST_GPU=1 only)."""
    if os.environ.get(GPU_ENV) != "1":
        pytest.skip(f"needs an NVIDIA GPU: set {GPU_ENV}=1 on a host with one (CDI spec)")
    yield from _serve(cuda_image, image_models, gpu=True)


def test_cuda_without_gpu_fails_in_one_line(cuda_image: str, image_models: Path) -> None:
    result = subprocess.run(
        ["podman", "run", "--rm", "-v", f"{image_models}:/models:ro", cuda_image,
         "--device", "cuda", "--stt-model", "/models/stt", "--local-files-only",
         "--tts-voice", "/models/tts/en_US-test-medium.onnx"],
        capture_output=True, text=True, env=podman_env(), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("chatterbox-server")]
    assert errors == [MISSING_DRIVER]


async def test_auto_without_gpu_serves_on_cpu(served_without_gpu: Served) -> None:
    info = await describe(served_without_gpu.uri, io_timeout=10)
    assert (info.asr[0].description or "").endswith(" on CPU")
    assert (info.tts[0].description or "").endswith(" on CPU")
    transcript = await transcribe(served_without_gpu.uri, _pcm(CLIP), io_timeout=60)
    assert transcript.text.strip().lower().rstrip(".") == "turn on the kitchen light"
    log = _log(served_without_gpu)
    assert "Device auto: speech-to-text on cpu, text-to-speech on cpu" in log


async def test_auto_with_gpu_serves_on_cuda(served_on_gpu: Served) -> None:
    info = await describe(served_on_gpu.uri, io_timeout=10)
    assert (info.asr[0].description or "").endswith(" on CUDA"), _log(served_on_gpu)
    assert (info.tts[0].description or "").endswith(" on CUDA"), _log(served_on_gpu)
    transcript = await transcribe(served_on_gpu.uri, _pcm(CLIP), io_timeout=60)
    assert transcript.text.strip().lower().rstrip(".") == "turn on the kitchen light"
    assert (await synthesize(served_on_gpu.uri, "Hello.", io_timeout=60)).chunks
    assert "Device auto: speech-to-text on cuda, text-to-speech on cuda" in _log(served_on_gpu)
