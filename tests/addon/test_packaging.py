"""Repository packaging: the add-on repository index, HACS metadata, config-flow strings.

The manifest's own rules are checked in tests/components/chatterbox/test_manifest.py.
"""

from __future__ import annotations

import ast
import json

from homeassistant.const import __version__ as HA_VERSION

from .conftest import ROOT, load_yaml

HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "hacs",
}
INTEGRATION = ROOT / "custom_components" / "chatterbox"


def test_repository_yaml() -> None:
    """The add-on store needs a name, url and maintainer."""
    repository = load_yaml(ROOT / "repository.yaml")
    assert set(repository) == {"name", "url", "maintainer"}
    assert repository["url"].startswith("https://")


def test_hacs_json() -> None:
    """Only keys HACS accepts; the minimum HA version we test against."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"] == "Chatterbox"
    assert hacs["homeassistant"] == "2026.10.0"
    # The oldest HA the tests run on: the harness's release series, in HACS and the add-on.
    assert hacs["homeassistant"].rsplit(".", 1)[0] == HA_VERSION.rsplit(".", 1)[0]
    assert load_yaml(ROOT / "addon" / "config.yaml")["homeassistant"] == hacs["homeassistant"]


def test_brand_images() -> None:
    """HACS shows the integration's brand images."""
    for name in ("icon.png", "logo.png"):
        path = ROOT / "custom_components" / "chatterbox" / "brand" / name
        assert path.read_bytes().startswith(b"\x89PNG")


def _call_strings(node: ast.Call, found: dict[str, set[str]]) -> None:
    """Step ids and abort reasons named by a flow's calls."""
    if not isinstance(node.func, ast.Attribute):
        return
    keywords = {k.arg: k.value for k in node.keywords}
    step, reason = keywords.get("step_id"), keywords.get("reason")
    name = node.func.attr
    if name == "async_show_form" and isinstance(step, ast.Constant):
        found["step"].add(step.value)
    if name == "async_abort" and isinstance(reason, ast.Constant):
        found["abort"].add(reason.value)
    if name == "_abort_if_unique_id_configured":
        found["abort"].add("already_configured")
    if name == "async_update_reload_and_abort":
        found["abort"].add("reconfigure_successful")


def _error_strings(node: ast.AST) -> set[str]:
    """Errors set as {"base": "x"} or errors[...] = "x"."""
    if isinstance(node, ast.Dict):
        return {
            value.value
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value == "base"
            if isinstance(value, ast.Constant)
        }
    if (
        isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Subscript)
        and ast.unparse(node.targets[0].value) == "errors"
        and isinstance(node.value, ast.Constant)
    ):
        return {node.value.value}
    return set()


def _flow_strings(cls: ast.ClassDef) -> dict[str, set[str]]:
    """Step ids shown, errors set and abort reasons used in one flow class."""
    found: dict[str, set[str]] = {"step": set(), "error": set(), "abort": set()}
    for node in ast.walk(cls):
        if isinstance(node, ast.Call):
            _call_strings(node, found)
        found["error"] |= _error_strings(node)
    return found


def test_config_flow_strings_translated() -> None:
    """Every step, error and abort the flows can produce has English text."""
    module = ast.parse((INTEGRATION / "config_flow.py").read_text())
    translations = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    checked = 0
    for cls in (node for node in module.body if isinstance(node, ast.ClassDef)):
        bases = {ast.unparse(base) for base in cls.bases}
        section = "options" if any("OptionsFlow" in b for b in bases) else "config"
        if not any("Flow" in b for b in bases):
            continue
        strings = _flow_strings(cls)
        for kind, names in strings.items():
            missing = names - set(translations[section].get(kind, {}))
            assert not missing, f"{section}.{kind} lacks {sorted(missing)}"
        checked += sum(map(len, strings.values()))
    assert checked >= 8
