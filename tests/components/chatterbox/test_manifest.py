"""Static checks hassfest would make on a core integration: manifest and translations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

import custom_components.chatterbox as integration

PACKAGE = Path(integration.__file__).parent
STRINGS = json.loads((PACKAGE / "translations" / "en.json").read_text())


def test_manifest_keys_ordered_and_complete() -> None:
    """Domain, name, then alphabetical; everything HACS and HA need is there."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "chatterbox"
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "local_push"
    assert manifest["zeroconf"] == ["_chatterbox._tcp.local."]
    # satellite.py reads the satellite's sensitivity from assist_pipeline's runs
    assert "assist_pipeline" in manifest["dependencies"]
    for key in ("codeowners", "documentation", "issue_tracker", "requirements", "version"):
        assert manifest[key], key


def test_every_field_has_a_description() -> None:
    """Each step's fields are named and described; description keys match field keys."""
    for section in ("config", "options"):
        for step_id, step in STRINGS[section]["step"].items():
            assert step.get("title") or step.get("description"), step_id
            assert set(step.get("data", {})) == set(step.get("data_description", {})), step_id


def _literals(pattern: str, *files: str) -> set[str]:
    """Every string any group of ``pattern`` captured in ``files``."""
    found: set[str] = set()
    for name in files:
        for match in re.finditer(pattern, (PACKAGE / name).read_text()):
            found |= {group for group in match.groups() if group}
    return found


def test_used_keys_are_translated() -> None:
    """Every error, abort reason and exception key the code uses has a translation."""
    errors = _literals(r'"base"(?:\]\s*=|:)\s*"(\w+)"|errors\[\w+\] = "(\w+)"', "config_flow.py")
    assert errors == {
        "cannot_connect",
        "not_chatterbox",
        "one_voice_per_language",
        "entry_not_found",
    }
    assert errors <= set(STRINGS["config"]["error"]) | set(STRINGS["options"]["error"])
    aborts = _literals(r'reason="(\w+)"|AbortFlow\("(\w+)"\)', "config_flow.py")
    assert {"invalid_discovery_info", "cannot_connect", "not_chatterbox"} <= aborts
    assert aborts - {"not_loaded"} <= set(STRINGS["config"]["abort"])
    assert "not_loaded" in STRINGS["options"]["abort"]
    # Flow helpers abort with these themselves.
    assert {"already_configured", "reconfigure_successful"} <= set(STRINGS["config"]["abort"])
    exceptions = _literals(
        r'(?:Error|Connect|Timeout)\("(\w+)"|translation_key="(\w+)"',
        "client.py",
        "coordinator.py",
        "tts.py",
    )
    assert "server_error" in exceptions
    assert exceptions == set(STRINGS["exceptions"])
    issues = _literals(r'translation_key="(\w+)"', "repairs.py")
    assert issues == set(STRINGS["issues"]) == {"preferred_server_down"}
    assert "{server}" in STRINGS["issues"]["preferred_server_down"]["title"]


def test_entities_named_and_iconed() -> None:
    """Both entity translation keys have a name and an icon."""
    icons: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())
    for platform in ("stt", "tts"):
        assert STRINGS["entity"][platform][platform]["name"]
        assert icons["entity"][platform][platform]["default"].startswith("mdi:")


def test_quality_scale_covers_every_rule_with_reasons() -> None:
    """Every rule is marked; exemptions say why."""
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
    assert len(rules) == 52
    for name, rule in rules.items():
        if isinstance(rule, dict):
            assert rule["status"] in {"exempt", "todo", "done"}, name
            assert rule.get("comment"), name
        else:
            assert rule in {"done", "todo"}, name
