"""One set of defaults: the server's own are the add-on panel's (beam 1, language, int8, ...).

A user who runs `chatterbox-server` without flags gets what the add-on runs and what the
documented figures were measured with; a default changed on one side fails here.
"""

from __future__ import annotations

import os
from argparse import Namespace
from typing import Any

import pytest

from chatterbox_server.__main__ import ENV_PREFIX, build_parser
from chatterbox_server.stt import pick_compute_type

# Add-on options that are not a server flag of the same name, and the flag they set.
FLAG_FOR_OPTION = {"debug_logging": "debug"}
# The add-on runs on the CPU (its run script passes no --device): the server's compute type
# there is its default resolved for the CPU.
RESOLVED_ON_CPU = {"compute_type": lambda value: pick_compute_type(value, "cpu")}


@pytest.fixture
def server_defaults(monkeypatch: pytest.MonkeyPatch) -> Namespace:
    for variable in list(os.environ):
        if variable.startswith(ENV_PREFIX):
            monkeypatch.delenv(variable)
    return build_parser().parse_args([])


def test_every_panel_default_is_the_servers(
    addon_config: dict[str, Any], server_defaults: Namespace
) -> None:
    drift = {}
    for option, addon_default in addon_config["options"].items():
        flag = FLAG_FOR_OPTION.get(option, option)
        assert hasattr(server_defaults, flag), f"add-on option {option} is no server flag"
        server_default = getattr(server_defaults, flag)
        resolve = RESOLVED_ON_CPU.get(option)
        if resolve is not None:
            server_default = resolve(server_default)
        if server_default != addon_default:
            drift[option] = (addon_default, server_default)
    assert drift == {}, "add-on default vs server default: " + repr(drift)


def test_optional_panel_options_default_to_the_servers(
    addon_config: dict[str, Any], server_defaults: Namespace
) -> None:
    """Options the panel leaves unset (``str?``, ``float?``) are the server's unset default."""
    unset = [key for key, kind in addon_config["schema"].items() if str(kind).endswith("?")]
    assert unset
    for option in unset:
        if option.startswith("custom_"):
            continue  # the value of a "custom" choice, no flag of its own
        assert getattr(server_defaults, option) is None, option


def test_the_fast_settings(server_defaults: Namespace) -> None:
    """What the issue measured: beam 5, auto-detect and the model's float16 were 2x slower."""
    assert server_defaults.beam_size == 1
    assert server_defaults.language != "auto"
    assert pick_compute_type(server_defaults.compute_type, "cpu") == "int8"
    assert server_defaults.stt_workers == 1  # all cores on one command


def test_compute_type_auto_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctranslate2  # noqa: PLC0415

    supported = {"cpu": {"float32", "int8", "int8_float32"}, "cuda": {"float32", "float16"}}
    monkeypatch.setattr(ctranslate2, "get_supported_compute_types", supported.__getitem__)
    assert pick_compute_type("auto", "cpu") == "int8"
    assert pick_compute_type("auto", "cuda") == "float16"
    assert pick_compute_type("int8_float16", "cuda") == "int8_float16"  # given: kept
    supported["cuda"] = {"float32", "int8_float32"}  # an old GPU: CTranslate2's own choice
    assert pick_compute_type("auto", "cuda") == "auto"
