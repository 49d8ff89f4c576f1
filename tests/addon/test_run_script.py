"""Every panel option reaches the server: the s6 run script, rendered with a stand-in bashio."""

from __future__ import annotations

import json
import os
import subprocess
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from chatterbox_server.__main__ import build_parser

from .conftest import ADDON

RUN = ADDON / "rootfs/etc/s6-overlay/s6-rc.d/chatterbox/run"
STANDIN = Path(__file__).with_name("bashio_standin.sh")
FAKE_SERVER = """#!/usr/bin/env python3
import json, os, sys
json.dump(sys.argv[1:], open(os.environ["ARGS_OUT"], "w"))
"""


def render(tmp_path: Path, options: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the script with `options`; the exec'd chatterbox-server records its arguments."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    fake = tmp_path / "bin" / "chatterbox-server"
    fake.write_text(FAKE_SERVER)
    fake.chmod(0o755)
    (tmp_path / "options.json").write_text(json.dumps(options))
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "OPTIONS_JSON": str(tmp_path / "options.json"),
        "ARGS_OUT": str(tmp_path / "args.json"),
    }
    return subprocess.run(
        ["bash", "-c", 'source "$1"; source "$2"', "render", str(STANDIN), str(RUN)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def server_args(tmp_path: Path, options: dict[str, Any]) -> Namespace:
    """The server's own parse of the command line the script builds."""
    result = render(tmp_path, options)
    assert result.returncode == 0, result.stderr
    argv = json.loads((tmp_path / "args.json").read_text())
    return build_parser().parse_args(argv)


def test_default_options(tmp_path: Path, addon_config: dict[str, Any]) -> None:
    """The panel's defaults become the matching server flags."""
    options = addon_config["options"]
    args = server_args(tmp_path, options)
    assert args.uri == "tcp://0.0.0.0:10300"
    assert args.stt_model == options["stt_model"]
    assert args.tts_voice == options["tts_voice"]
    assert args.language == options["language"]
    assert args.beam_size == options["beam_size"]
    assert args.compute_type == options["compute_type"]
    assert args.cpu_threads == options["cpu_threads"]
    assert args.stt_workers == options["stt_workers"]
    assert args.tts_workers == options["tts_workers"]
    assert args.max_voices == options["max_voices"]
    assert args.sentence_silence == options["sentence_silence"]
    assert args.vad_filter is True
    assert args.speculation is True
    assert args.end_of_speech is True
    assert args.local_files_only is False
    assert args.debug is False
    assert args.initial_prompt is None
    assert args.speaker is None
    assert args.length_scale is None
    assert [str(p) for p in args.data_dir] == ["/config/models", "/data/models"]
    assert str(args.download_dir) == "/data/models"


def test_every_other_option(tmp_path: Path, addon_config: dict[str, Any]) -> None:
    """Custom model and voice, optional values and switches all arrive."""
    options = {
        **addon_config["options"],
        "stt_model": "custom",
        "custom_stt_model": "my-org/whisper-ct2",
        "tts_voice": "custom",
        "custom_tts_voice": "my_voice",
        "language": "auto",
        "initial_prompt": "Turn on the lights, please.",
        "speaker": "bob",
        "length_scale": 1.25,
        "noise_scale": 0.5,
        "noise_w_scale": 0.6,
        "vad_filter": False,
        "speculation": False,
        "end_of_speech": False,
        "local_files_only": True,
        "debug_logging": True,
    }
    args = server_args(tmp_path, options)
    assert args.stt_model == "my-org/whisper-ct2"
    assert args.tts_voice == "my_voice"
    assert args.language == "auto"
    assert args.initial_prompt == "Turn on the lights, please."
    assert args.speaker == "bob"
    assert (args.length_scale, args.noise_scale, args.noise_w_scale) == (1.25, 0.5, 0.6)
    assert args.vad_filter is False
    assert args.speculation is False
    assert args.end_of_speech is False
    assert args.local_files_only is True
    assert args.debug is True


@pytest.mark.parametrize(("option", "message"), [("stt_model", "model"), ("tts_voice", "Voice")])
def test_custom_without_value_stops(
    tmp_path: Path, addon_config: dict[str, Any], option: str, message: str
) -> None:
    """'custom' with nothing named stops the add-on with a reason, not a broken server."""
    result = render(tmp_path, {**addon_config["options"], option: "custom"})
    assert result.returncode != 0
    assert message in result.stderr
    assert "custom" in result.stderr
    assert not (tmp_path / "args.json").exists()


def test_every_option_is_used_by_the_script(addon_config: dict[str, Any]) -> None:
    """No panel option is silently ignored."""
    script = RUN.read_text()
    unused = [key for key in addon_config["schema"] if key not in script]
    assert unused == []
