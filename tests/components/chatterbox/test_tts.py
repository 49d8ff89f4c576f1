"""The text-to-speech entity: one-shot and streaming, voices, options, and failures."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import tts
from homeassistant.components.tts.entity import TextToSpeechEntity
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_component import EntityComponent
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.chatterbox.const import CONF_DEFAULT_VOICES, CONF_LENGTH_SCALE

from .conftest import SetupEntry
from .proxy import ERROR_TEXT, WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts")

TTS_ENTITY = "tts.chatterbox_text_to_speech"
SINGLE = "en_US-test-medium"
MULTI = "en_US-testmulti-medium"
WAV = {tts.ATTR_PREFERRED_FORMAT: "wav"}


def _entity(hass: HomeAssistant) -> TextToSpeechEntity:
    component: EntityComponent[TextToSpeechEntity] = hass.data[tts.DOMAIN]
    entity = component.get_entity(TTS_ENTITY)
    assert entity is not None
    return entity


def _frames(data: bytes) -> int:
    with wave.open(io.BytesIO(data), "rb") as wav_file:
        assert (wav_file.getframerate(), wav_file.getsampwidth()) == (22050, 2)
        return wav_file.getnframes()


async def _speak(hass: HomeAssistant, message: str, options: dict[str, Any] | None = None) -> bytes:
    media_id = tts.generate_media_source_id(
        hass, message, TTS_ENTITY, "en_US", options={**WAV, **(options or {})}, cache=False
    )
    extension, data = await tts.async_get_media_source_audio(hass, media_id)
    assert extension == "wav"
    return data


async def test_languages_and_voices(hass: HomeAssistant, proxied_entry: MockConfigEntry) -> None:
    """Languages come from the server; voices per language, multi-speaker voices per speaker."""
    entity = _entity(hass)
    # Piper's "en_US" as a BCP-47 tag: the frontend shows "English (United States)" for it.
    assert entity.supported_languages == ["en-US"]
    assert entity.default_language == "en-US"
    assert entity.async_supports_streaming_input()
    voices = entity.async_get_supported_voices("en-US")
    assert voices is not None
    assert [(v.voice_id, v.name) for v in voices][:2] == [
        (SINGLE, _description(hass, SINGLE)),
        (MULTI, _description(hass, MULTI)),
    ]
    assert [v.voice_id for v in voices][2:] == [f"{MULTI}#alice", f"{MULTI}#bob"]
    assert voices[3].name.endswith("(bob)")
    # The spelling the entity reported before (saved in pipelines) finds the same voices.
    assert entity.async_get_supported_voices("en_US") == voices
    assert entity.async_get_supported_voices("de-DE") is None
    assert entity.async_get_supported_voices("de_DE") is None


async def test_frontend_languages_and_voices(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """What the assistant editor asks over the websocket: the languages and the voices."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "tts/engine/list", "language": "en", "country": "US"})
    response = await client.receive_json()
    assert response["success"], response
    ours = [p for p in response["result"]["providers"] if p["engine_id"] == TTS_ENTITY]
    assert ours == [{"engine_id": TTS_ENTITY, "supported_languages": ["en-US"]}]
    for language in ("en-US", "en_US"):  # picked now, or saved before
        await client.send_json_auto_id(
            {"type": "tts/engine/voices", "engine_id": TTS_ENTITY, "language": language}
        )
        response = await client.receive_json()
        assert response["success"], response
        voices = response["result"]["voices"]
        assert [voice["voice_id"] for voice in voices] == [
            SINGLE,
            MULTI,
            f"{MULTI}#alice",
            f"{MULTI}#bob",
        ], language


@pytest.mark.parametrize("language", ["en-US", "en_US", None])
async def test_speak_in_either_spelling(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry, language: str | None
) -> None:
    """Home Assistant accepts the tag, the spelling saved before, and no language (default)."""
    media_id = tts.generate_media_source_id(
        hass, "Either way.", TTS_ENTITY, language, options=WAV, cache=False
    )
    _, data = await tts.async_get_media_source_audio(hass, media_id)
    assert len(data) > 44 + 11025
    (start,) = proxy.requests("synthesize-start")
    assert start.data["voice"] == {"name": SINGLE}
    with pytest.raises(HomeAssistantError):
        tts.generate_media_source_id(hass, "Nein.", TTS_ENTITY, "de_DE", options=WAV)


def _description(hass: HomeAssistant, name: str) -> str:
    entry = hass.config_entries.async_entries("chatterbox")[0]
    voice = entry.runtime_data.coordinator.data.voice(name)
    assert voice is not None
    return voice.description or name


async def test_speak_through_media_source(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry
) -> None:
    """A message through HA's TTS media source comes back as WAV speech."""
    data = await _speak(hass, "Hello from Chatterbox. This is a test.")
    assert _frames(data) == 0  # streamed WAV: header with unknown length
    assert len(data) > 44 + 22050  # more than half a second of audio after the header
    # Without options the first voice for the language is asked for.
    (start,) = proxy.requests("synthesize-start")
    assert start.data["voice"] == {"name": SINGLE}
    assert "context" not in start.data


async def test_file_cache_is_per_test(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, tts_cache_dir: Path
) -> None:
    """Cached speech lands in this test's directory, not in a shared one."""
    media_id = tts.generate_media_source_id(
        hass, "Cache me.", TTS_ENTITY, "en_US", options=WAV, cache=True
    )
    await tts.async_get_media_source_audio(hass, media_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [path.suffix for path in tts_cache_dir.iterdir()] == [".wav"]


async def test_one_shot(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry
) -> None:
    """The one-shot path returns a complete WAV file."""
    extension, data = await _entity(hass).async_internal_get_tts_audio(
        "One shot. Two sentences.", "en_US", {}
    )
    assert extension == "wav"
    assert data is not None
    assert _frames(data) > 11025
    (synthesize,) = proxy.requests("synthesize")
    assert synthesize.data["text"] == "One shot. Two sentences."


async def test_stream_with_text_in_pieces(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry
) -> None:
    """Text arriving in pieces is forwarded piece by piece; audio streams back."""
    pieces = ["The kitchen ", "light is ", "now on. ", "Anything ", "else?"]

    async def message() -> AsyncIterator[str]:
        for piece in pieces:
            yield piece

    stream = tts.async_create_stream(hass, TTS_ENTITY, "en_US", WAV)
    stream.async_set_message_stream(message())
    data = b"".join([chunk async for chunk in stream.async_stream_result()])
    assert data.startswith(b"RIFF")
    assert len(data) > 44 + 22050
    assert [e.data["text"] for e in proxy.requests("synthesize-chunk")] == pieces
    assert len(proxy.requests("synthesize-stop")) == 1


@pytest.mark.parametrize(
    ("entry_options", "call_options", "voice", "context"),
    [
        (
            {CONF_DEFAULT_VOICES: [f"{MULTI}#bob"], CONF_LENGTH_SCALE: 1.2},
            {},
            {"name": MULTI, "speaker": "bob"},
            {"chatterbox": {"length_scale": 1.2}},
        ),
        ({CONF_DEFAULT_VOICES: ["missing-voice"]}, {}, {"name": SINGLE}, None),
        ({CONF_DEFAULT_VOICES: [f"{MULTI}#bob"]}, {tts.ATTR_VOICE: SINGLE}, {"name": SINGLE}, None),
        (
            {CONF_LENGTH_SCALE: 1.2},
            {tts.ATTR_VOICE: f"{MULTI}#alice", "length_scale": 0.9},
            {"name": MULTI, "speaker": "alice"},
            {"chatterbox": {"length_scale": 0.9}},
        ),
        ({}, {tts.ATTR_VOICE: MULTI, "speaker": "bob"}, {"name": MULTI, "speaker": "bob"}, None),
    ],
)
async def test_options_change_the_request(
    hass: HomeAssistant,
    proxy: WyomingProxy,
    setup_entry: SetupEntry,
    entry_options: dict[str, Any],
    call_options: dict[str, Any],
    voice: dict[str, str],
    context: dict[str, Any] | None,
) -> None:
    """Entry defaults and per-call options reach the server as voice, speaker and pace."""
    await setup_entry(proxy.host, proxy.port, entry_options)
    await _speak(hass, "Options test.", call_options)
    (start,) = proxy.requests("synthesize-start")
    assert start.data["voice"] == voice
    assert start.data.get("context") == context


async def test_pace_changes_the_audio(hass: HomeAssistant, proxied_entry: MockConfigEntry) -> None:
    """A larger length scale makes the same sentence longer (the server honours it)."""
    entity = _entity(hass)
    message = "The quick brown fox jumps over the lazy dog."
    _, normal = await entity.async_internal_get_tts_audio(message, "en_US", {"length_scale": 1.0})
    _, slow = await entity.async_internal_get_tts_audio(message, "en_US", {"length_scale": 2.0})
    assert normal is not None
    assert slow is not None
    assert _frames(slow) > _frames(normal) * 1.5


@pytest.mark.parametrize(
    ("fault", "key"),
    [("stall", "timeout"), ("error", "server_error"), ("drop", "connection_closed")],
)
async def test_failures_are_translated_errors(
    hass: HomeAssistant,
    proxy: WyomingProxy,
    proxied_entry: MockConfigEntry,
    fault: str,
    key: str,
) -> None:
    """Stalled or failing servers end both paths within the timeout with a translated error."""
    proxy.fault = fault
    started = time.monotonic()
    with pytest.raises(HomeAssistantError) as raised:
        await _entity(hass).async_internal_get_tts_audio("Hello.", "en_US", {})
    assert raised.value.translation_key == key
    if fault == "error":
        assert str(raised.value) == f"The Chatterbox server reported an error: {ERROR_TEXT}"

    with pytest.raises(HomeAssistantError) as raised:
        await _speak(hass, "Hello again.")
    assert raised.value.translation_key == key
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("value", ["fast", 0.1, 5, None])
async def test_invalid_length_scale_is_refused(
    hass: HomeAssistant, proxy: WyomingProxy, proxied_entry: MockConfigEntry, value: object
) -> None:
    """A length scale that is no number or out of range is a validation error, not sent."""
    options = {"length_scale": value} if value is not None else {"length_scale": float("nan")}
    with pytest.raises(ServiceValidationError) as raised:
        await _entity(hass).async_internal_get_tts_audio("Hello.", "en_US", options)
    assert raised.value.translation_key == "invalid_length_scale"
    assert str(raised.value).startswith("Length scale ")
    assert not proxy.requests("synthesize")
