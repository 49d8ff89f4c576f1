"""Word error rate of a transcript against its reference, after light normalization.

Whisper writes "50%" and "21 degrees" where the corpus says "fifty percent" and "twenty one
degrees", so both sides are normalized the same way first: lower case, numbers below 1000
spelled out, "%" as "percent", punctuation and hyphens dropped.
"""

from __future__ import annotations

import re

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(number: int) -> str:
    """Spell out 0 <= number < 1000 ("twenty one"); larger numbers stay digits."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    return str(number)


def normalize(text: str) -> list[str]:
    """Words of ``text`` in a form where only real recognition errors differ."""
    text = text.lower().replace("%", " percent ").replace("°", " degrees ")
    text = re.sub(r"\d+", lambda match: f" {number_words(int(match.group()))} ", text)
    text = re.sub(r"[^\w\s']|_", " ", text).replace("'", "")
    return text.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution or match
                )
            )
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: edits needed to turn the reference into the hypothesis, per word."""
    ref = normalize(reference)
    hyp = normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
