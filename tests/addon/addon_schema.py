"""A model of the Supervisor's add-on config format, for validating addon/config.yaml.

Covers the keys this repository can use and their types; values that equal the Supervisor's
defaults are rejected, as the add-on linter does.
"""

from __future__ import annotations

import re
from typing import Any

import voluptuous as vol

ARCHES = ("aarch64", "amd64", "armhf", "armv7", "i386")
# The option-type language of `schema:` entries (str, int(min,max), list(a|b), ... and `?`).
SCHEMA_TYPE = re.compile(
    r"^(?:bool|email|url|port|password|device(?:\(subsystem=[a-z]+\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?[\d.]+)?,(?P<f_max>-?[\d.]+)?\))?"
    r"|match\((?P<match>.+)\)|list\((?P<list>[^|()]+(?:\|[^|()]+)*)\))(?P<optional>\?)?$"
)
# Keys whose value here would be the Supervisor's default (the linter rejects them).
DEFAULTS = {
    "startup": "application",
    "boot": "auto",
    "init": True,
    "stage": "stable",
    "host_network": False,
    "hassio_api": False,
    "homeassistant_api": False,
    "auth_api": False,
    "ingress": False,
    "advanced": False,
    "apparmor": True,
    "audio": False,
    "video": False,
    "privileged": [],
    "backup": "hot",
}
MAP_TYPES = (
    "homeassistant_config",
    "addon_config",
    "ssl",
    "addons",
    "backup",
    "share",
    "media",
    "all_addon_configs",
    "data",
)

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Required("version"): vol.Match(r"^\d+\.\d+\.\d+$"),
        vol.Required("slug"): vol.Match(r"^[a-z0-9_]+$"),
        vol.Required("description"): str,
        vol.Required("arch"): [vol.In(ARCHES)],
        vol.Optional("url"): vol.Url(),
        vol.Optional("init"): bool,
        vol.Optional("startup"): vol.In(
            ("initialize", "system", "services", "application", "once")
        ),
        vol.Optional("boot"): vol.In(("auto", "manual", "manual_only")),
        vol.Optional("homeassistant"): vol.Match(r"^\d{4}\.\d+\.\d+"),
        vol.Optional("discovery"): [str],
        vol.Optional("ports"): {vol.Match(r"^\d+/(tcp|udp)$"): vol.Any(None, vol.Range(1, 65535))},
        vol.Optional("ports_description"): {vol.Match(r"^\d+/(tcp|udp)$"): str},
        vol.Optional("map"): [
            {
                vol.Required("type"): vol.In(MAP_TYPES),
                vol.Optional("read_only"): bool,
                vol.Optional("path"): str,
            }
        ],
        vol.Optional("backup_exclude"): [str],
        vol.Optional("image"): str,
        vol.Optional("stage"): vol.In(("stable", "experimental", "deprecated")),
        vol.Optional("watchdog"): str,
        vol.Optional("options"): dict,
        vol.Optional("schema"): vol.Any(False, {str: vol.Match(SCHEMA_TYPE)}),
    },
    extra=vol.PREVENT_EXTRA,
)


def problems(config: dict[str, Any]) -> list[str]:
    """Everything wrong with an add-on config; empty when it is valid."""
    try:
        CONFIG_SCHEMA(config)
    except vol.MultipleInvalid as err:
        return [str(e) for e in err.errors]
    found = [
        f"{key}: {value!r} is the default"
        for key, value in DEFAULTS.items()
        if key in config and config[key] == value
    ]
    options: dict[str, Any] = config.get("options", {})
    schema: dict[str, str] = config.get("schema", {})
    for key in options.keys() - schema.keys():
        found.append(f"option {key} has no schema entry")
    for key, spec in schema.items():
        match = SCHEMA_TYPE.match(spec)
        assert match
        if key not in options:
            if not match["optional"]:
                found.append(f"schema {key} is required but has no default in options")
            continue
        found.extend(f"option {key}: {msg}" for msg in _value_problems(options[key], match))
    return found


def _value_problems(value: Any, match: re.Match[str]) -> list[str]:
    spec = match.group(0)
    if match["list"]:
        choices = match["list"].split("|")
        return [] if value in choices else [f"{value!r} is not one of its list"]
    if spec.startswith("bool"):
        return [] if isinstance(value, bool) else [f"{value!r} is not a bool"]
    if spec.startswith(("int", "float")):
        kind = "i" if spec.startswith("int") else "f"
        ok_type = isinstance(value, int) if kind == "i" else isinstance(value, int | float)
        if not ok_type or isinstance(value, bool):
            return [f"{value!r} is not a number of type {spec}"]
        low, high = match[f"{kind}_min"], match[f"{kind}_max"]
        if (low is not None and value < float(low)) or (high is not None and value > float(high)):
            return [f"{value!r} is outside {spec}"]
        return []
    return [] if isinstance(value, str) else [f"{value!r} is not text"]
