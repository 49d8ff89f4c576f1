"""The Dockerfile builds from a pinned base image and checks its own health."""

from __future__ import annotations

import re

from .conftest import ADDON

DOCKERFILE = (ADDON / "Dockerfile").read_text()


def test_base_image_is_pinned() -> None:
    """One FROM, naming a Home Assistant base image with a fixed version tag or digest."""
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert len(froms) == 1
    image = froms[0]
    assert image.startswith("ghcr.io/home-assistant/")
    assert "$" not in image, "no BUILD_FROM: the base is named in the file"
    assert re.search(r":[\w.-]*\d{4}\.\d+\.\d+|@sha256:[0-9a-f]{64}$", image), image
    assert not (ADDON / "build.yaml").exists()
    assert not (ADDON / "build.json").exists()


def test_installs_server_from_build_context() -> None:
    """The server comes from the context (addon/server), not from the network at run time."""
    assert re.search(r"^COPY server/ ", DOCKERFILE, re.MULTILINE)
    assert (ADDON / "server" / "pyproject.toml").exists()
    assert re.search(r"^COPY rootfs /$", DOCKERFILE, re.MULTILINE)


def test_healthcheck_describes() -> None:
    """HEALTHCHECK asks the server to Describe itself through the installed helper."""
    match = re.search(r"^HEALTHCHECK .*?CMD (.+?)$", DOCKERFILE, re.MULTILINE | re.DOTALL)
    assert match
    assert "chatterbox-describe" in match.group(1)


def test_oci_labels() -> None:
    """Labels the store and registries read."""
    for label in (
        "io.hass.type",
        "io.hass.version",
        "io.hass.arch",
        "org.opencontainers.image.source",
        "org.opencontainers.image.title",
    ):
        assert f"{label}=" in DOCKERFILE, label
