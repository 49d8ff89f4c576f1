"""Command line parsing: defaults from the issue, every flag also from CHATTERBOX_* variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from wyoming.info import Info

from chatterbox_server import context
from chatterbox_server.__main__ import build_parser, env_name
from chatterbox_server.discovery import default_name


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for flag in ("uri", "mode", "zeroconf", "vad_filter", "data_dir"):
        monkeypatch.delenv(f"CHATTERBOX_{flag.upper()}", raising=False)
    args = build_parser().parse_args([])
    assert args.uri == "tcp://0.0.0.0:10300"
    assert args.mode == "both"
    assert args.vad_filter is True
    assert args.zeroconf is None
    assert args.data_dir == []
    assert args.local_files_only is False


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATTERBOX_MODE", "tts")
    monkeypatch.setenv("CHATTERBOX_DATA_DIR", "/models/a:/models/b")
    monkeypatch.setenv("CHATTERBOX_LOCAL_FILES_ONLY", "true")
    monkeypatch.setenv("CHATTERBOX_VAD_FILTER", "0")
    monkeypatch.setenv("CHATTERBOX_BEAM_SIZE", "2")
    monkeypatch.setenv("CHATTERBOX_LENGTH_SCALE", "1.25")
    monkeypatch.setenv("CHATTERBOX_ZEROCONF", "1")
    args = build_parser().parse_args([])
    assert args.mode == "tts"
    assert args.data_dir == [Path("/models/a"), Path("/models/b")]
    assert args.local_files_only is True
    assert args.vad_filter is False
    assert args.beam_size == 2
    assert args.length_scale == 1.25
    assert args.zeroconf == default_name()

    monkeypatch.setenv("CHATTERBOX_ZEROCONF", "kitchen-box")
    assert build_parser().parse_args([]).zeroconf == "kitchen-box"
    monkeypatch.setenv("CHATTERBOX_ZEROCONF", "off")
    assert build_parser().parse_args([]).zeroconf is None
    # The command line wins over the environment.
    args = build_parser().parse_args(["--mode", "stt", "--vad-filter", "--data-dir", "/x"])
    assert args.mode == "stt"
    assert args.vad_filter is True
    assert args.data_dir == [Path("/models/a"), Path("/models/b"), Path("/x")]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CHATTERBOX_MODE", "everything"), ("CHATTERBOX_BEAM_SIZE", "zero"),
     ("CHATTERBOX_DEBUG", "maybe")],
)  # fmt: skip
def test_bad_environment_values_are_errors(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_info:
        build_parser()
    assert exit_info.value.code == 2


def test_env_name() -> None:
    assert env_name("--noise-w-scale") == "CHATTERBOX_NOISE_W_SCALE"


def test_device_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATTERBOX_DEVICE", raising=False)
    assert build_parser().parse_args([]).device == "cpu"
    assert build_parser().parse_args(["--device", "auto"]).device == "auto"
    monkeypatch.setenv("CHATTERBOX_DEVICE", "auto")  # the GPU image's default
    assert build_parser().parse_args([]).device == "auto"
    monkeypatch.setenv("CHATTERBOX_DEVICE", "gpu")
    with pytest.raises(SystemExit):
        build_parser()


@pytest.mark.parametrize(
    ("requested", "gpus", "ort_cuda", "mode", "expected"),
    [("cpu", 1, True, "both", ("cpu", "cpu")),
     ("auto", 0, True, "both", ("cpu", "cpu")),
     ("auto", 1, True, "both", ("cuda", "cuda")),
     ("auto", 1, False, "both", ("cuda", "cpu")),  # CPU onnxruntime: Piper stays on the CPU
     ("cuda", 1, True, "both", ("cuda", "cuda")),
     ("cuda", 1, False, "stt", ("cuda", "cpu"))],
)  # fmt: skip
def test_choose_devices(
    monkeypatch: pytest.MonkeyPatch,
    requested: str,
    gpus: int,
    ort_cuda: bool,
    mode: str,
    expected: tuple[str, str],
) -> None:
    monkeypatch.setattr(context, "cuda_device_count", lambda: gpus)
    monkeypatch.setattr(context, "onnxruntime_has_cuda", lambda: ort_cuda)
    assert context.choose_devices(requested, mode) == context.Devices(*expected)


def test_cuda_without_onnxruntime_gpu_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(context, "onnxruntime_has_cuda", lambda: False)
    with pytest.raises(context.DeviceUnavailableError, match="onnxruntime-gpu"):
        context.choose_devices("cuda", "both")


def test_cuda_without_gpu_fails_at_start_up(tmp_path: Path) -> None:
    """On this machine (no usable GPU) --device cuda stops before loading, in one line."""
    if context.cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA device")
    result = subprocess.run(
        [sys.executable, "-m", "chatterbox_server", "--device", "cuda", "--local-files-only",
         "--stt-model", str(tmp_path / "none"), "--download-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("chatterbox-server: error: --device cuda: missing ")
    assert "libcuda.so.1" in errors[0] or "CUDA device" in errors[0]


def test_auto_without_gpu_runs_on_cpu_and_describe_says_so(test_models: Path) -> None:
    if context.cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA device")
    args = build_parser().parse_args(
        ["--device", "auto", "--stt-model", str(test_models / "stt"), "--local-files-only",
         "--tts-voice", str(test_models / "tts" / "en_US-test-medium.onnx")]
    )  # fmt: skip
    loaded = context.load(args)
    try:
        assert loaded.devices == context.Devices("cpu", "cpu")
        info = Info.from_event(loaded.info.event)
        assert (info.asr[0].description or "").endswith(" on CPU")
        assert (info.tts[0].description or "").endswith(" on CPU")
    finally:
        loaded.close()
