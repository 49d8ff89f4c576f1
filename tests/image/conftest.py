"""The add-on image under podman: built once per session, served from the host's models.

These tests run on the host (``.venv-host``): podman cannot run inside the Debian roots. Where
it cannot run they skip and say why, unless ``CHATTERBOX_REQUIRE_PODMAN=1`` (CI) makes that a
failure. Nothing outlives the session: every container started here is removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.measurements import Measurements
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "addon-image"
IMAGE = "localhost/chatterbox-addon:dev"
CUDA_IMAGE = "localhost/chatterbox-addon:dev-cuda"
CACHE = Path(os.environ.get("CHATTERBOX_CACHE", Path.home() / ".cache" / "chatterbox"))
REQUIRE_ENV = "CHATTERBOX_REQUIRE_PODMAN"
BUILD_TIMEOUT = 1500

# Numbers the run reports at its end (build time, image size, start-up time).
MEASUREMENTS = Measurements("chatterbox add-on image", "image")
record = MEASUREMENTS.record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the measured numbers after the test results."""
    MEASUREMENTS.write(terminalreporter)


def podman_env() -> dict[str, str]:
    """The environment podman runs in: the project's containers.conf unless one is set."""
    return {
        **os.environ,
        "CONTAINERS_CONF": os.environ.get(
            "CONTAINERS_CONF", str(ROOT / "scripts" / "lib" / "containers.conf")
        ),
    }


def podman(*args: str, timeout: float = 120, check: bool = True) -> str:
    """Run podman with the project's settings; return its stdout."""
    result = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=podman_env(),
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def unavailable(reason: str) -> None:
    """Skip, or fail when this machine is meant to run the image tests."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def podman_ready() -> None:
    """Podman can run containers here (else skip with the reason ``addon-image check`` gives)."""
    result = subprocess.run(
        [str(SCRIPT), "check"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        unavailable(f"podman cannot run here: {result.stdout.strip() or result.stderr.strip()}")


@pytest.fixture(scope="session")
def image(podman_ready: None) -> str:
    """``scripts/addon-image build``, once per session; returns the image's name."""
    started = time.monotonic()
    result = subprocess.run(
        [str(SCRIPT), "build"], capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-30:])
        pytest.fail(f"scripts/addon-image build failed:\n{tail}")
    record("build (scripts/addon-image build)", f"{time.monotonic() - started:.0f} s")
    for line in result.stderr.splitlines():
        if "stand-in" in line:
            print(line)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).strip())
    record(f"image size ({IMAGE})", f"{size / 1e6:.0f} MB")
    return IMAGE


@pytest.fixture(scope="session")
def image_models() -> Path:
    """The generated test models (as tests/conftest.py caches them), made by the script."""
    generator = ROOT / "scripts" / "make_test_models.py"
    digest = hashlib.sha256(generator.read_bytes()).hexdigest()[:12]
    target = CACHE / f"test-models-{digest}"
    if not (target / ".complete").exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [str(ROOT / "scripts" / "make-test-models"), str(partial)], check=True, timeout=600
        )
        (partial / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


@dataclass
class Served:
    """A container started by ``scripts/addon-image serve``."""

    id: str
    uri: str
    seconds: float


def serve(models: Path, image: str = IMAGE, podman_args: str = "") -> Served:
    """``scripts/addon-image serve PORT MODELDIR``; the caller removes the container."""
    port = free_port()
    started = time.monotonic()
    result = subprocess.run(
        [str(SCRIPT), "serve", str(port), str(models)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHATTERBOX_IMAGE": image, "CHATTERBOX_SERVE_ARGS": podman_args},
        check=False,
    )
    assert result.returncode == 0, f"serve failed:\n{result.stderr}"
    container = result.stdout.strip().splitlines()[-1]
    return Served(container, f"tcp://127.0.0.1:{port}", time.monotonic() - started)


@pytest.fixture(scope="session")
def served(image: str, image_models: Path) -> Iterator[Served]:
    """The image serving the test models on a free loopback port."""
    container = serve(image_models, image)
    record("serve until Describe answers", f"{container.seconds:.1f} s")
    try:
        yield container
    finally:
        subprocess.run(
            ["podman", "rm", "-f", "-v", container.id],
            capture_output=True,
            timeout=60,
            env=podman_env(),
            check=False,
        )
