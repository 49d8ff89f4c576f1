"""Chatterbox in a voice assistant: the editor's drop-downs, "Try voice", and the Assist dialog."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.smoke.test_ha_2026_11 import add_chatterbox
from tests.support.server import ServerProcess

from .conftest import Screen
from .ui import assert_no_raw_keys

pytestmark = pytest.mark.timeout(600)

# The frontend names a BCP-47 tag in words (Intl.DisplayNames); any other spelling it shows raw.
STT_LANGUAGE = "English"  # "en"
TTS_LANGUAGE = "American English"  # "en-US" (the server's voices speak Piper's "en_US")
MIN_AUDIO_BYTES = 2000
MIN_AUDIO_SECONDS = 0.3


def offered_voices(screen: Screen, tts: str, language: str) -> list[dict[str, str]]:
    """The voices the frontend's voice picker gets for ``language`` (its own websocket call)."""
    answer = screen.call_ws({"type": "tts/engine/voices", "engine_id": tts, "language": language})
    voices: list[dict[str, str]] | None = answer["voices"]
    assert voices, f"tts/engine/voices offers no voice for {language!r}: {answer}"
    return voices


def audio_kind(data: bytes) -> str | None:
    """The audio container ``data`` starts like (mp3, wav, ogg, flac), else None."""
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"fLaC"):
        return "flac"
    return None


def duration_in_browser(page: Page, url: str) -> float:
    """Let the browser load ``url`` as audio and return its duration (it must decode it)."""
    duration: float = page.evaluate(
        """url => new Promise((resolve, reject) => {
            const audio = new Audio();
            audio.preload = "auto";
            audio.onloadedmetadata = () => resolve(audio.duration);
            audio.onerror = () => reject(new Error(`cannot play: code ${audio.error?.code}`));
            audio.src = url;
        })""",
        url,
    )
    return duration


def test_chatterbox_in_a_new_voice_assistant(
    screen: Screen, server: ServerProcess, socket_enabled: None
) -> None:
    """Add assistant with Chatterbox: languages in words, the server's voices, real audio.

    "Try voice" fetches audio the browser can play, not just a URL.
    """
    stt, tts = add_chatterbox(screen.hass, server)
    page = screen.page
    screen.goto("/config/voice-assistants/assistants")
    add = page.get_by_role("button", name="Add assistant")
    expect(add).to_be_visible()
    screen.shot("voice assistants")
    add.click()
    dialog = page.locator("dialog-voice-assistant-pipeline-detail")
    expect(dialog.get_by_role("heading", name="Speech-to-text")).to_be_visible()
    screen.shot("new assistant")
    dialog.get_by_role("textbox", name=re.compile("^Name")).fill("Chatterbox")

    for engine in ("Speech-to-text", "Text-to-speech"):
        dialog.get_by_role("button", name=re.compile(f"^{engine}")).click()
        choice = page.get_by_text(f"Chatterbox {engine}", exact=True)
        expect(choice).to_be_visible()
        screen.shot(f"{engine} choices")
        choice.click()
        expect(dialog.get_by_role("button", name=f"{engine} Chatterbox {engine}")).to_be_visible()

    # Languages in words, as the frontend names them: not a raw code such as "en_US".
    stt_section = page.locator("assist-pipeline-detail-stt")
    expect(stt_section.get_by_role("button", name=f"Language {STT_LANGUAGE}")).to_be_visible()
    tts_section = page.locator("assist-pipeline-detail-tts")
    tts_language = tts_section.get_by_role("button", name=re.compile("^Language"))
    expect(tts_language).to_have_accessible_name(f"Language {TTS_LANGUAGE}")
    tts_language.click()
    languages = page.get_by_role("dialog", name="Language").get_by_role("option")
    expect(languages.first).to_be_visible()
    screen.shot("text-to-speech languages")
    assert languages.all_inner_texts() == [TTS_LANGUAGE], "the TTS language list"
    languages.first.click()

    # The voice drop-down lists what the server offers for the language, in its order.
    offered = offered_voices(screen, tts, "en-US")
    assert [voice["voice_id"] for voice in offered] == [
        voice["voice_id"] for voice in offered_voices(screen, tts, "en_US")
    ], "a pipeline saved with Piper's spelling (en_US) gets other voices"
    voice = tts_section.get_by_role("button", name=re.compile("^Voice"))
    expect(voice).to_have_accessible_name(re.compile(re.escape(offered[0]["name"]) + "$"))
    voice.click()
    voices = tts_section.get_by_role("menuitem")
    expect(voices.first).to_be_visible()
    screen.shot("text-to-speech voices")
    assert [text.strip() for text in voices.all_inner_texts()] == [v["name"] for v in offered]
    chosen = offered[1] if len(offered) > 1 else offered[0]
    voices.get_by_text(chosen["name"], exact=True).click()
    expect(voice).to_have_accessible_name(re.compile(re.escape(chosen["name"]) + "$"))
    expect(voices.first).to_be_hidden()
    screen.shot("text-to-speech chosen", of=dialog.get_by_role("dialog"), doc="assistant")
    assert_no_raw_keys(dialog, "the assistant editor")

    # "Try voice": the frontend asks for a TTS URL and plays what it points to.
    tts_section.get_by_role("button", name="Try voice").click()
    trial = page.locator("dialog-tts-try")
    expect(trial.get_by_role("textbox", name="Message")).not_to_be_empty()
    screen.shot("try voice")
    with (
        page.expect_response(lambda r: r.url.endswith("/api/tts_get_url")) as got_url,
        page.expect_request(lambda r: "/api/tts_proxy/" in r.url) as played,
    ):
        trial.get_by_role("button", name="Play").click()
    answer: dict[str, Any] = got_url.value.json()
    assert got_url.value.ok, answer
    assert played.value.url == answer["url"], "the page played another URL than it was given"
    media = page.request.get(answer["url"])
    body = media.body()
    assert media.ok, f"GET {answer['url']}: {media.status} {body[:200]!r}"
    assert media.headers["content-type"].startswith("audio/"), media.headers
    assert audio_kind(body) is not None, f"not an audio file: {body[:16]!r}"
    assert len(body) > MIN_AUDIO_BYTES, f"only {len(body)} bytes of audio"
    seconds = duration_in_browser(page, answer["url"])
    assert seconds > MIN_AUDIO_SECONDS, f"the browser finds {seconds} s of audio"
    screen.shot("voice tried")
    trial.get_by_role("button", name="Close").click()

    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("button", name=re.compile("^Chatterbox"))).to_be_visible()
    screen.shot("assistant created")
    pipelines = screen.call_ws({"type": "assist_pipeline/pipeline/list"})["pipelines"]
    ours = next(p for p in pipelines if p["name"] == "Chatterbox")
    assert (ours["stt_engine"], ours["stt_language"]) == (stt, "en")
    assert (ours["tts_engine"], ours["tts_language"], ours["tts_voice"]) == (
        tts,
        "en-US",
        chosen["voice_id"],
    )


def test_assist_dialog(screen: Screen, server: ServerProcess, socket_enabled: None) -> None:
    """The Assist dialog with a Chatterbox assistant: a typed command gets an answer."""
    stt, tts = add_chatterbox(screen.hass, server)
    pipeline = screen.call_ws(
        {
            "type": "assist_pipeline/pipeline/create",
            "name": "Chatterbox",
            "language": "en",
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "en",
            "stt_engine": stt,
            "stt_language": "en",
            "tts_engine": tts,
            "tts_language": "en-US",
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    screen.call_ws(
        {"type": "assist_pipeline/pipeline/set_preferred", "pipeline_id": pipeline["id"]}
    )
    page = screen.page
    screen.goto("/home")
    page.get_by_role("button", name=re.compile(r"^Assist\b")).click()
    request = page.get_by_role("textbox", name="Enter a request")
    expect(request).to_be_visible()
    assist = page.locator("ha-voice-command-dialog")
    expect(assist.get_by_role("button", name="Chatterbox")).to_be_visible()
    screen.shot("assist dialog")
    request.fill("What time is it?")
    request.press("Enter")
    # Home Assistant's own intent answers with the time.
    expect(assist.get_by_text(re.compile(r"\b\d{1,2}:\d\d\b"))).to_be_visible()
    screen.shot("assist answer", of=assist.get_by_role("dialog"), doc="assist")
    assert_no_raw_keys(assist, "the Assist dialog")
