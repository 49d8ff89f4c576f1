"""Shared fixtures: generated tiny test models and the real-model hook."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import tqdm

if TYPE_CHECKING:
    from tests.support.server import ServerProcess

if importlib.util.find_spec("homeassistant") is not None:  # not in the server-only venv
    import custom_components.chatterbox  # noqa: F401  # found before the plugin's testing_config

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "make_test_models.py"
MODEL_CACHE = Path(os.environ.get("CHATTERBOX_CACHE", Path.home() / ".cache" / "chatterbox"))
REAL_MODELS_ENV = "CHATTERBOX_TEST_MODELS"
BENCH_VENV = Path(os.environ.get("CHATTERBOX_BENCH_VENV", ROOT / ".cache" / "bench-venv"))

# faster-whisper creates tqdm bars even when disabled; tqdm's monitor thread would outlive a
# test and trip the HA plugin's lingering-thread check.
tqdm.tqdm.monitor_interval = 0


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_test_models", GENERATOR)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def test_models() -> Path:
    """Tiny real models from scripts/make_test_models.py, made once per generator version."""
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:12]
    target = MODEL_CACHE / f"test-models-{digest}"
    if not (target / ".complete").exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        _load_generator().make_test_models(partial)
        (partial / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


@pytest.fixture
def peer_python() -> Path:
    """The bench venv's python (wyoming-faster-whisper, wyoming-piper), or a skip saying how."""
    if not (BENCH_VENV / ".bench-ready").exists():
        pytest.skip("peers not installed: run `scripts/bench --setup-only` once")
    return BENCH_VENV / "bin" / "python"


@pytest.fixture(scope="session")
def real_models() -> Path:
    """Real models for accuracy tests, or a skip that says how to provide them."""
    value = os.environ.get(REAL_MODELS_ENV)
    if not value:
        pytest.skip(
            f"accuracy test needs real models: set {REAL_MODELS_ENV} to a directory filled by "
            "scripts/fetch-models"
        )
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"{REAL_MODELS_ENV}={value} is not a directory")
    return path


@pytest.fixture(scope="session")
def server(test_models: Path) -> Iterator[ServerProcess]:
    """The real server (both modes, its own process) on the generated test models, shared."""
    from tests.support.server import ServerProcess  # noqa: PLC0415  # (not in .venv-host)

    process = ServerProcess(test_models)
    process.start()
    try:
        yield process
    finally:
        process.stop()
