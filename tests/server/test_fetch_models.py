"""scripts/fetch-models: the layout it makes, and a clear failure without the hub."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import huggingface_hub
import pytest

from chatterbox_server.models import is_model_dir
from tests.server.test_models import FakeHub

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch-models"


@pytest.fixture
def fetch_models() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_models", ROOT / "scripts/fetch_models.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, test_models: Path) -> FakeHub:
    fake = FakeHub(test_models)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    return fake


def test_layout_matches_test_models(
    fetch_models: ModuleType, hub: FakeHub, test_models: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real"
    assert fetch_models.main([str(target)]) == 0
    stt = target / "stt"
    assert stt.is_symlink()
    assert is_model_dir(stt)
    assert stt.resolve() == target / "downloads" / "faster-whisper-base-int8"
    assert {p.name for p in (test_models / "stt").iterdir()} <= {p.name for p in stt.iterdir()}
    assert (target / "tts" / "en_US-lessac-medium.onnx").is_file()
    assert (target / "tts" / "en_US-lessac-medium.onnx.json").is_file()
    assert [repo for repo, _, _ in hub.calls] == ["rhasspy/faster-whisper-base-int8"] + [
        "rhasspy/piper-voices"
    ] * 2

    # Again: everything is present, nothing is downloaded.
    assert fetch_models.main([str(target)]) == 0
    assert len(hub.calls) == 3
    # Another model: downloaded beside the first, stt points at it.
    assert fetch_models.main([str(target), "--stt-model", "tiny"]) == 0
    assert stt.resolve() == target / "downloads" / "faster-whisper-tiny"
    assert is_model_dir(target / "downloads" / "faster-whisper-base-int8")


def test_refuses_to_replace_a_real_stt_dir(
    fetch_models: ModuleType,
    hub: FakeHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "stt").mkdir()
    assert fetch_models.main([str(tmp_path)]) == 1
    assert "is not a link made by fetch-models" in capsys.readouterr().err
    assert hub.calls == []


def test_bad_voice_name_fails_before_downloading(
    fetch_models: ModuleType,
    hub: FakeHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fetch_models.main([str(tmp_path), "--voice", "../../etc/passwd"]) == 1
    assert "invalid voice name" in capsys.readouterr().err
    assert hub.calls == []


def test_fails_fast_with_one_line_without_the_hub(socket_enabled: None, tmp_path: Path) -> None:
    # A bound socket that never listens: every connection to it is refused at once.
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        port = closed_port.getsockname()[1]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("HF_", "HUGGINGFACE_"))
        }
        env |= {
            "HF_ENDPOINT": f"http://127.0.0.1:{port}",
            "HF_HUB_ETAG_TIMEOUT": "3",
            "HF_HUB_DOWNLOAD_TIMEOUT": "3",
            "HF_HOME": str(tmp_path / "hf-home"),
        }
        started = time.monotonic()
        result = subprocess.run(
            [str(SCRIPT), str(tmp_path / "models")],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        elapsed = time.monotonic() - started
    print(f"fetch-models without the hub failed in {elapsed:.2f} s", file=sys.stderr)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("fetch-models: error: "), result.stderr
    for needle in ("base-int8", "rhasspy/faster-whisper-base-int8", "download from the hub failed"):
        assert needle in lines[-1]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models" / "stt").exists()


def test_help_documents_layout() -> None:
    result = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for needle in ("DIR/stt", "DIR/tts/<voice>.onnx", "--stt-model", "--voice", "base-int8"):
        assert needle in result.stdout
