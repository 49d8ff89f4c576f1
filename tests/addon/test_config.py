"""addon/config.yaml is a valid add-on config whose options the panel can show."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from faster_whisper.tokenizer import _LANGUAGE_CODES

from chatterbox_server.models import STT_CATALOGUE, list_voices

from .addon_schema import SCHEMA_TYPE, problems
from .conftest import ADDON, ROOT


def test_config_is_valid(addon_config: dict[str, Any]) -> None:
    """Allowed keys and types, options match their schema, no default-valued keys."""
    assert problems(addon_config) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"boot": "auto"}, "boot: 'auto' is the default"),
        ({"unknown_key": 1}, "not a valid option at 'unknown_key'"),
        ({"options": {"stt_model": "huge"}}, "'huge' is not one of its list"),
        ({"options": {"beam_size": 99}}, "99 is outside int(1,10)"),
        ({"options": {"not_in_schema": 1}}, "option not_in_schema has no schema entry"),
    ],
)
def test_schema_check_catches_mistakes(
    addon_config: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    """The validator itself rejects what the Supervisor or the linter would."""
    config = {**addon_config}
    for key, value in change.items():
        config[key] = {**config[key], **value} if key == "options" else value
    assert any(expected in found for found in problems(config)), problems(config)


def test_identity_and_discovery(addon_config: dict[str, Any]) -> None:
    """Slug, arches, s6 init, internal port and discovery as the integration expects."""
    assert addon_config["slug"] == "chatterbox"
    assert set(addon_config["arch"]) == {"amd64", "aarch64"}
    assert addon_config["init"] is False
    assert addon_config["ports"] == {"10300/tcp": None}
    assert addon_config["discovery"] == ["chatterbox"]
    assert {"type": "addon_config", "read_only": False} in addon_config["map"]


def test_language_list_is_whispers(addon_config: dict[str, Any]) -> None:
    """The language list is Whisper's own plus auto."""
    match = SCHEMA_TYPE.match(addon_config["schema"]["language"].strip())
    assert match
    assert match["list"].split("|") == ["auto", *_LANGUAGE_CODES]


def test_model_and_voice_lists_resolve(addon_config: dict[str, Any], tmp_path: Any) -> None:
    """Every listed model and voice is in the server's catalogues (besides custom)."""
    models = SCHEMA_TYPE.match(addon_config["schema"]["stt_model"])
    voices = SCHEMA_TYPE.match(addon_config["schema"]["tts_voice"].strip())
    assert models
    assert voices
    assert set(models["list"].split("|")) - {"custom"} <= set(STT_CATALOGUE)
    catalogue = {entry.name for entry in list_voices(data_dirs=[], download_dir=tmp_path)}
    assert set(voices["list"].split("|")) - {"custom"} <= catalogue


def test_no_other_config_files_for_the_store() -> None:
    """The store reads every config.yaml/json in the repository: only the add-on's exists.

    The repository is what git tracks (the store clones it), not the venvs or roots beside it.
    """
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    names = {"config.yaml", "config.yml", "config.json"}
    assert [path for path in tracked if path.rsplit("/", 1)[-1] in names] == ["addon/config.yaml"]


def test_images_exist() -> None:
    """The store shows the icon and logo."""
    for name in ("icon.png", "logo.png"):
        assert (ADDON / name).read_bytes().startswith(b"\x89PNG")
