"""The runtime pins: requirements-server.txt's, and the ones the Dockerfiles install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon"
LINE_PIN = re.compile(r"^([A-Za-z0-9][\w.-]*)(\[[^\]]*\])?==([\w.+!-]+)", re.MULTILINE)
WORD_PIN = re.compile(r"(?<![\w.\[-])([A-Za-z0-9][\w.-]*)(\[[^\]]*\])?==([\w.+!-]+)")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_pins(path: Path = ROOT / "requirements-server.txt") -> dict[str, str]:
    """``name: version`` of every ``name==version`` line of a requirements file."""
    return {canonical(m[1]): m[3] for m in LINE_PIN.finditer(path.read_text())}


def dockerfile_pins(path: Path) -> dict[str, str]:
    """``name: version`` of the ``name==version`` words in a Dockerfile (pip's arguments)."""
    text = path.read_text().replace('"', " ")
    return {canonical(m[1]): m[3] for m in WORD_PIN.finditer(text)}


def server_dependencies() -> list[str]:
    """The server's runtime dependencies, as its pyproject.toml declares them."""
    project = tomllib.loads((ADDON / "server" / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def dependency_name(requirement: str) -> str:
    """The distribution a requirement names."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return canonical(match[0])


def runtime_pins() -> dict[str, str]:
    """requirements-server.txt's pins of the server's own dependencies."""
    pins = requirements_pins()
    names = {dependency_name(r) for r in server_dependencies()}
    return {name: version for name, version in pins.items() if name in names}
