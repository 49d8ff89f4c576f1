"""The suite's word error rate is right before it judges the server's transcripts."""

from __future__ import annotations

import pytest

from corpus import clips
from corpus.wer import normalize, wer


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("set the bedroom lights to fifty percent", "Set the bedroom lights to 50%."),
        ("set the temperature to twenty one degrees", "Set the temperature to 21°."),
        ("set the temperature to twenty one degrees", "Set the temperature to 21 degrees."),
        ("set a timer for ten minutes", "Set a timer for 10 minutes."),
        ("set a timer for twenty two minutes", "Set a timer for twenty-two minutes!"),
        ("what time is it", "What time is it?"),
        ("close the blinds in the office", "Um, close the blinds in the office."),
    ],
)
def test_identical_after_normalization(reference: str, hypothesis: str) -> None:
    assert wer(reference, hypothesis) == 0


def test_numbers_become_digits() -> None:
    assert normalize("ten") == normalize("10") == "10"
    assert normalize("twenty two") == normalize("22") == normalize("twenty-two") == "22"
    assert normalize("It's five past twenty-one!") == "it is 5 past 21"


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("turn on the kitchen light", "turn on the kitchen lights", 1 / 5),  # substitution
        ("turn on the kitchen light", "turn on kitchen light", 1 / 5),  # deletion
        ("lock the front door", "lock the front door now please", 2 / 4),  # insertions
        ("set a timer for ten minutes", "set a timer for 11 minutes", 1 / 6),  # wrong number
        ("set a timer for twenty two minutes", "set a timer for 20 2 minutes", 2 / 6),
        ("good night", "", 1.0),
        ("good night", "thank you very much", 2.0),  # more edits than reference words
    ],
)
def test_counts_edits_per_reference_word(reference: str, hypothesis: str, expected: float) -> None:
    assert wer(reference, hypothesis) == pytest.approx(expected)


def test_every_corpus_reference_matches_itself_spoken_as_digits() -> None:
    # The corpus spells numbers out; a transcript with digits must not count as an error.
    for entry in clips():
        assert normalize(entry.text), entry.id
        assert wer(entry.text, normalize(entry.text).capitalize() + ".") == 0, entry.id
