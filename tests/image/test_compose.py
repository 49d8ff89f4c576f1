"""deploy/compose.yaml's CPU service, started for real with Debian's podman-compose."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.wyoming_client import describe, synthesize, transcribe

from .conftest import ROOT, free_port, podman, podman_env, unavailable
from .test_image import CLIP, _pcm

COMPOSE = ROOT / "deploy" / "compose.yaml"

pytestmark = pytest.mark.timeout(1800)  # may wait for the image build


def _compose(project: str, *args: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(
        ["podman-compose", "-p", project, "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"podman-compose {' '.join(args)}:\n{result.stdout[-2000:]}"
    return result.stdout


@pytest.fixture
def compose_ready(podman_ready: None) -> None:
    """podman-compose is installed (else skip or, with CHATTERBOX_REQUIRE_PODMAN=1, fail)."""
    if shutil.which("podman-compose") is None:
        unavailable("podman-compose is not installed (Debian: apt-get install podman-compose)")


@pytest.mark.usefixtures("compose_ready")
def test_services_as_podman_runs_them() -> None:
    """The CPU service runs the server itself; the GPU service gets the GPU and --device auto."""
    project = f"chatterbox-dry-{os.getpid()}"
    env = {k: v for k, v in podman_env().items() if not k.startswith("CHATTERBOX_")}  # defaults
    try:
        cpu = _compose(project, "--dry-run", "up", "-d", "chatterbox", env=env)
        gpu = _compose(project, "--dry-run", "up", "-d", "chatterbox-gpu", env=env)
    finally:
        _remove_project(project)
    run_cpu = next(line for line in cpu.splitlines() if line.startswith("podman run"))
    assert '--entrypoint ["chatterbox-server"]' in run_cpu  # no s6, no bashio
    assert run_cpu.endswith(" localhost/chatterbox-addon:dev")
    assert "-p 0.0.0.0:10300:10300" in run_cpu
    run_gpu = next(line for line in gpu.splitlines() if line.startswith("podman run"))
    assert "--device nvidia.com/gpu=all" in run_gpu
    assert "-e CHATTERBOX_DEVICE=auto" in run_gpu
    assert run_gpu.endswith(" localhost/chatterbox-addon:dev-cuda")


def _remove_project(project: str) -> None:
    """Whatever podman-compose left of the project: containers, volumes, networks."""
    label = f"label=io.podman.compose.project={project}"
    for kind, listing in (
        ("container", ["ps", "-aq", "--filter", label]),
        ("volume", ["volume", "ls", "-q", "--filter", label]),
        ("network", ["network", "ls", "-q", "--filter", label]),
    ):
        for name in podman(*listing, check=False).split():
            podman(*(["rm"] if kind == "container" else [kind, "rm"]), "-f", name, check=False)


@pytest.fixture
def compose_service(
    compose_ready: None, image: str, image_models: Path, tmp_path: Path
) -> Iterator[str]:
    """``podman-compose up -d chatterbox`` on the test models; yields the service's URI."""
    data = tmp_path / "data"
    shutil.copytree(image_models, data)  # the service's /data, writable as it would be
    port = free_port()
    project = f"chatterbox-test-{os.getpid()}"
    env = {
        **podman_env(),
        "CHATTERBOX_DATA": str(data),
        "CHATTERBOX_LISTEN": "127.0.0.1",
        "CHATTERBOX_PORT": str(port),
        "CHATTERBOX_STT_MODEL": "/data/stt",
        "CHATTERBOX_TTS_VOICE": "/data/tts/en_US-test-medium.onnx",
        "CHATTERBOX_LOCAL_FILES_ONLY": "1",
        "CHATTERBOX_ZEROCONF": "0",
    }
    try:
        _compose(project, "up", "-d", "chatterbox", env=env)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        subprocess.run(
            ["podman-compose", "-p", project, "-f", str(COMPOSE), "down", "-v"],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        _remove_project(project)


async def _wait_for_describe(uri: str) -> None:
    """Poll until the service answers Describe (it loads the models first)."""
    async with asyncio.timeout(120):
        while True:
            try:
                await describe(uri, io_timeout=5)
            except (OSError, TimeoutError, ConnectionError):
                await asyncio.sleep(0.5)
            else:
                return


async def test_cpu_service_serves(compose_service: str) -> None:
    await _wait_for_describe(compose_service)
    info = await describe(compose_service, io_timeout=10)
    assert (info.asr[0].description or "").endswith(" on CPU")
    transcript = await transcribe(compose_service, _pcm(CLIP), io_timeout=60)
    assert transcript.text.strip().lower().rstrip(".") == "turn on the kitchen light"
    assert (await synthesize(compose_service, "Hello.", io_timeout=60)).chunks
