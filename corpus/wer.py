"""Word error rate of a transcript against its reference: jiwer after Whisper's normalizer.

Whisper writes "50%" and "21 degrees" where the corpus says "fifty percent" and "twenty one
degrees", so both sides first go through OpenAI Whisper's own ``EnglishTextNormalizer``
(packaged as whisper-normalizer): lower case, numbers as digits, punctuation, fillers and
British spellings standardized. Only "°" is spelled out first, which that normalizer drops.
"""

from __future__ import annotations

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

_WHISPER_ENGLISH = EnglishTextNormalizer()


def normalize(text: str) -> str:
    """``text`` as Whisper's English normalizer writes it: "Twenty-two!" -> "22"."""
    normalized: str = _WHISPER_ENGLISH(text.replace("°", " degrees "))
    return normalized.strip()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (substitutions, deletions, insertions per reference word), normalized."""
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))
