"""The built add-on image, served by scripts/addon-image to the host.

It serves speech-to-text and text-to-speech, passes its own HEALTHCHECK, has the pinned versions
installed and holds no build tools, caches or tests.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from wyoming.info import Info

from tests.support.wyoming_client import describe, synthesize, transcribe

from .conftest import ROOT, Served, podman
from .pins import ADDON, dockerfile_pins

pytestmark = pytest.mark.timeout(1800)  # the first test waits for the image build

CLIP = ROOT / "corpus" / "turn_on_kitchen_light.wav"
# Run inside the image: what it holds that it should not, and what it has installed.
PROBE = r"""
import importlib.metadata, importlib.util, json, os, pathlib, shutil, sys
def listed(path):
    p = pathlib.Path(path)
    return sorted(str(c) for c in p.iterdir()) if p.is_dir() else []
venv = pathlib.Path(sys.prefix)
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2],
    "tools": [t for t in ("gcc", "cc", "g++", "c++", "make", "ld", "pip", "pip3")
              if shutil.which(t)],
    "headers": listed("/usr/include/python%d.%d" % sys.version_info[:2]),
    "test_dirs": sorted(str(p) for p in venv.rglob("tests") if p.is_dir()),
    "test_runners": [m for m in ("pytest", "pip", "setuptools") if importlib.util.find_spec(m)],
    "caches": listed("/root/.cache") + listed("/var/lib/apt/lists")
        + [str(p) for p in pathlib.Path("/var/cache/apt/archives").glob("*.deb")]
        + [str(p) for p in pathlib.Path("/").glob("tmp/*")],
    "sources": listed("/usr/src"),
    "versions": {d.metadata["Name"].lower().replace("_", "-"): d.version
                 for d in importlib.metadata.distributions()},
}))
"""


def _pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as clip:
        assert (clip.getframerate(), clip.getsampwidth(), clip.getnchannels()) == (16000, 2, 1)
        return clip.readframes(clip.getnframes())


async def test_describe_from_the_host(served: Served) -> None:
    """The container answers Describe on 127.0.0.1 and says where the engines run."""
    info: Info = await describe(served.uri, io_timeout=10)
    assert info.asr
    assert info.tts
    assert (info.asr[0].description or "").endswith(" on CPU")
    assert any(voice.name == "en_US-test-medium" for voice in info.tts[0].voices)


async def test_speech_to_text_through_the_container(served: Served) -> None:
    transcript = await transcribe(served.uri, _pcm(CLIP), language="en", io_timeout=60)
    assert transcript.text.strip().lower().rstrip(".") == "turn on the kitchen light"


async def test_text_to_speech_through_the_container(served: Served) -> None:
    result = await synthesize(served.uri, "Turn on the kitchen light.", io_timeout=60)
    assert result.start is not None
    assert result.chunks
    assert result.seconds > 0.1


def test_healthcheck_passes_inside(served: Served) -> None:
    """The image's own HEALTHCHECK command, run by podman in the container."""
    podman("healthcheck", "run", served.id, timeout=30)


def test_image_holds_no_build_tools_caches_or_tests(image: str) -> None:
    facts = json.loads(podman("run", "--rm", "--entrypoint", "python3", image, "-c", PROBE))
    assert facts["python"] == "3.13"
    assert facts["tools"] == []
    assert facts["headers"] == []
    assert facts["test_dirs"] == []
    assert facts["test_runners"] == []
    assert facts["caches"] == []
    assert facts["sources"] == []
    pins = dockerfile_pins(ADDON / "Dockerfile")
    installed = {name: facts["versions"].get(name) for name in pins}
    assert installed == pins
    assert "chatterbox-server" in facts["versions"]


def test_image_config(image: str) -> None:
    """HEALTHCHECK survives the build (docker format) and the add-on labels are set."""
    config = json.loads(podman("image", "inspect", image))[0]
    healthcheck = config.get("Healthcheck") or config["Config"].get("Healthcheck")
    assert healthcheck
    assert "chatterbox-describe" in " ".join(healthcheck["Test"])
    labels = config["Labels"]
    assert labels["io.hass.type"] == "addon"
    assert labels["io.hass.arch"] in ("amd64", "aarch64")
