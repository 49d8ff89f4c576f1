"""Command line parsing: defaults from the issue, every flag also from CHATTERBOX_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

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
