"""One reading of language codes, used by every rule that depends on the language."""

from __future__ import annotations

import pytest

from chatterbox_server.endpointing import reading
from chatterbox_server.languages import base_language, locale
from chatterbox_server.sentences import split_sentences

HEATING = "The kitchen light is now on and the heating is set to twenty one degrees for tonight."


@pytest.mark.parametrize(
    ("code", "spelled", "base"),
    [
        ("en", "en", "en"),
        ("en-US", "en_us", "en"),
        ("en_US", "en_us", "en"),
        ("EN", "en", "en"),
        ("en-gb-x-rp", "en_gb_x_rp", "en"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_codes_read_alike(code: str | None, spelled: str, base: str) -> None:
    assert (locale(code), base_language(code)) == (spelled, base)


@pytest.mark.parametrize("code", ["en", "en-US", "en_GB", "EN"])
def test_every_spelling_finds_the_same_word_lists(code: str) -> None:
    assert reading("Turn off the lights in", code) == "trailing"
    assert len(split_sentences(HEATING, language=code)) == 2
