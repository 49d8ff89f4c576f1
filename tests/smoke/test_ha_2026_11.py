"""Home Assistant 2026.11.0 for real: onboarding, the config flow, STT and TTS over HTTP.

The pytest harness cannot load 2026.11 yet, so this starts ``hass`` from its own venv with the
integration in custom_components/ and the real Chatterbox server beside it, and talks to it
only through its HTTP API, as the frontend and a voice satellite would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from corpus import clips
from tests.support.server import ServerProcess

from .conftest import HA_VERSION, HassProcess

pytestmark = pytest.mark.timeout(300)

CLIP = "turn_on_kitchen_light"
USER = {
    "name": "Smoke Tester",
    "username": "smoke",
    "password": "smoke-test-password",
    "language": "en",
}
SPEECH_CONTENT = (
    "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language={language}"
)
TTS_LANGUAGE = "en_US"  # the generated test voice, en_US-test-medium
MESSAGE = "Hello from Home Assistant."
SETTLE_TIMEOUT = 60.0
MIN_AUDIO_BYTES = 500


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Print how long a step took (visible with -s)."""
    start = time.monotonic()
    yield
    print(f"[smoke] {step}: {time.monotonic() - start:.1f} s")


def wait_for[T](
    hass: HassProcess, step: str, probe: Callable[[], T | None], what: Callable[[], str]
) -> T:
    """Poll ``probe`` until it returns a value; fail with ``what()`` after SETTLE_TIMEOUT."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (value := probe()) is None:
        if time.monotonic() > deadline:
            hass.fail(step, f"{what()} after {SETTLE_TIMEOUT} s")
        time.sleep(0.25)
    return value


def onboard(hass: HassProcess) -> None:
    """Create the owner, log in, and finish every onboarding step the frontend would."""
    step = "onboarding"
    client_id = f"{hass.url}/"
    status = hass.request_json(step, "GET", "/api/onboarding")
    if any(item["done"] for item in status):
        hass.fail(step, f"a fresh config directory is already (partly) onboarded: {status}")
    user = hass.request_json(
        step, "POST", "/api/onboarding/users", json_body={**USER, "client_id": client_id}
    )
    tokens = hass.request_json(
        step,
        "POST",
        "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": user["auth_code"],
            "client_id": client_id,
        },
    )
    hass.token = tokens["access_token"]
    hass.request_json(step, "POST", "/api/onboarding/core_config", json_body={})
    hass.request_json(step, "POST", "/api/onboarding/analytics", json_body={})
    integration = hass.request_json(
        step,
        "POST",
        "/api/onboarding/integration",
        json_body={"client_id": client_id, "redirect_uri": f"{hass.url}/?auth_callback=1"},
    )
    if not integration.get("auth_code"):
        hass.fail(step, f"POST /api/onboarding/integration gave no auth_code: {integration}")
    status = hass.request_json(step, "GET", "/api/onboarding")
    if not all(item["done"] for item in status):
        hass.fail(step, f"steps left undone: {status}")


def wait_until_running(hass: HassProcess) -> None:
    """Wait for the core to be RUNNING, and check it is 2026.11.0 and not in recovery mode."""
    step = "startup"
    config: dict[str, Any] = {}

    def running() -> bool | None:
        config.update(hass.request_json(step, "GET", "/api/config"))
        return True if config["state"] == "RUNNING" else None

    wait_for(hass, step, running, lambda: f"core state is still {config.get('state')}")
    if config["version"] != HA_VERSION or config["recovery_mode"]:
        hass.fail(
            step,
            f"expected {HA_VERSION} outside recovery mode, got {config['version']} "
            f"(recovery_mode={config['recovery_mode']})",
        )


def entity_names(hass: HassProcess, step: str) -> dict[str, str]:
    """The friendly name of every entity that has a state now, by entity id."""
    return {
        state["entity_id"]: str(state["attributes"].get("friendly_name", ""))
        for state in hass.request_json(step, "GET", "/api/states")
    }


def add_chatterbox(hass: HassProcess, server: ServerProcess) -> tuple[str, str]:
    """Add the server through the config-flow REST API; return its STT and TTS entity ids."""
    step = "config flow"
    flow_path = "/api/config/config_entries/flow"
    result = hass.request_json(
        step, "POST", flow_path, json_body={"handler": "chatterbox", "show_advanced_options": False}
    )
    for _ in range(5):
        if result["type"] != "form":
            break
        if result.get("errors"):
            hass.fail(step, f"form {result['step_id']!r} shows errors {result['errors']}")
        if result["step_id"] != "user":
            hass.fail(step, f"unexpected form {result['step_id']!r}: {result}")
        result = hass.request_json(
            step,
            "POST",
            f"{flow_path}/{result['flow_id']}",
            json_body={"host": server.host, "port": server.port},
        )
    if result["type"] != "create_entry":
        hass.fail(step, f"the flow ended with {result['type']!r}, not 'create_entry': {result}")
    entry_id, title = result["result"]["entry_id"], result["result"]["title"]

    step = "config entry setup"
    entry: dict[str, Any] = {}

    def loaded() -> bool | None:
        entries = hass.request_json(
            step, "GET", "/api/config/config_entries/entry?domain=chatterbox"
        )
        entry.update(next((e for e in entries if e["entry_id"] == entry_id), {}))
        return True if entry.get("state") == "loaded" else None

    wait_for(
        hass,
        step,
        loaded,
        lambda: f"entry {entry_id} is {entry.get('state')!r} (reason {entry.get('reason')!r})",
    )

    # The entities are named after their device, the entry; onboarding may add other TTS.
    step = "entities"
    names: dict[str, str] = {}

    def stt_and_tts() -> tuple[str, str] | None:
        names.clear()
        names.update(entity_names(hass, step))
        ours = [e for e, name in names.items() if name.startswith(title)]
        stt = [e for e in ours if e.startswith("stt.")]
        tts = [e for e in ours if e.startswith("tts.")]
        if len(stt) > 1 or len(tts) > 1:
            hass.fail(step, f"more than one STT or TTS entity named {title!r}: {ours}")
        return (stt[0], tts[0]) if stt and tts else None

    def missing() -> str:
        voice = {e: n for e, n in names.items() if e.startswith(("stt.", "tts."))}
        return f"no STT and TTS entity named after the entry {title!r}; there are {voice}"

    return wait_for(hass, step, stt_and_tts, missing)


def transcribe(hass: HassProcess, entity_id: str) -> str:
    """POST a corpus clip (its PCM, as a satellite streams it) to /api/stt/<entity>."""
    step = "speech-to-text"
    path = f"/api/stt/{entity_id}"
    info = hass.request_json(step, "GET", path)
    languages: list[str] = info["languages"]
    english = [lang for lang in languages if lang.lower().startswith("en")]
    language = "en-US" if "en-US" in languages else (english or languages or ["en"])[0]
    clip = next(clip for clip in clips() if clip.id == CLIP)
    result = hass.request_json(
        step,
        "POST",
        path,
        data=clip.pcm(),
        headers={
            "X-Speech-Content": SPEECH_CONTENT.format(language=language),
            "Content-Type": "application/octet-stream",
        },
    )
    # The generated test model is untrained: any text is a success, the words mean nothing.
    if result.get("result") != "success" or not isinstance(result.get("text"), str):
        hass.fail(step, f"POST {path} ({language}) answered {result}, not a successful text")
    return str(result["text"])


def synthesize(hass: HassProcess, entity_id: str) -> bytes:
    """Ask /api/tts_get_url for speech, fetch it, and check it is MP3 audio."""
    step = "text-to-speech"
    answer = hass.request_json(
        step,
        "POST",
        "/api/tts_get_url",
        json_body={"engine_id": entity_id, "message": MESSAGE, "language": TTS_LANGUAGE},
    )
    if not str(answer.get("path", "")).startswith("/api/tts_proxy/"):
        hass.fail(step, f"POST /api/tts_get_url answered {answer}")
    response = hass.request(step, "GET", answer["path"])
    audio = response.body
    id3 = audio.startswith(b"ID3")
    frame_sync = len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0
    if response.content_type != "audio/mpeg" or not (id3 or frame_sync):
        hass.fail(
            step,
            f"GET {answer['path']} gave {response.content_type}, {len(audio)} bytes starting "
            f"{audio[:16]!r}: not MP3",
        )
    if len(audio) < MIN_AUDIO_BYTES:
        hass.fail(step, f"GET {answer['path']} gave only {len(audio)} bytes of MP3")
    return audio


def test_voice_through_home_assistant_2026_11(
    hass_process: HassProcess, server: ServerProcess
) -> None:
    """Onboard a real HA 2026.11.0, add Chatterbox, transcribe a clip and fetch speech."""
    hass = hass_process
    with timed("hass start"):
        hass.start()
    with timed("onboarding"):
        onboard(hass)
        wait_until_running(hass)
    with timed("config flow and setup"):
        stt_entity, tts_entity = add_chatterbox(hass, server)
    with timed(f"speech-to-text ({stt_entity})"):
        text = transcribe(hass, stt_entity)
    with timed(f"text-to-speech ({tts_entity})"):
        audio = synthesize(hass, tts_entity)
    print(f"[smoke] transcript {text!r}; {len(audio)} bytes of MP3")
