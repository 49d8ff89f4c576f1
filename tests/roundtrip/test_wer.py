"""The suite's word error rate is right before it judges the server's transcripts."""

from __future__ import annotations

import pytest

from tests.wer import normalize, number_words, wer


def test_identical_after_normalization() -> None:
    assert wer("set the bedroom lights to fifty percent", "Set the bedroom lights to 50%.") == 0
    assert wer("set the temperature to twenty one degrees", "Set the temperature to 21°.") == 0
    assert wer("what time is it", "What time is it?") == 0


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("turn on the kitchen light", "turn on the kitchen lights", 1 / 5),  # substitution
        ("turn on the kitchen light", "turn on kitchen light", 1 / 5),  # deletion
        ("lock the front door", "lock the front door now please", 2 / 4),  # insertions
        ("good night", "", 1.0),
        ("good night", "thank you very much", 2.0),  # more edits than reference words
    ],
)
def test_counts_edits_per_reference_word(reference: str, hypothesis: str, expected: float) -> None:
    assert wer(reference, hypothesis) == pytest.approx(expected)


def test_number_words() -> None:
    assert [number_words(n) for n in (0, 7, 13, 20, 21, 99, 100, 342)] == [
        "zero",
        "seven",
        "thirteen",
        "twenty",
        "twenty one",
        "ninety nine",
        "one hundred",
        "three hundred forty two",
    ]
    assert normalize("It's 5 past twenty-one!") == ["its", "five", "past", "twenty", "one"]
