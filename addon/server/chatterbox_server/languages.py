"""Languages: one reading of a language code, and every word list the server keeps.

Codes come spelled many ways (``en``, ``en-US``, ``en_us``, ``en-gb-x-rp``: Whisper's, Home
Assistant's, Piper's and espeak-ng's); :func:`locale` and :func:`base_language` read them all
alike. The per-language lists are lower case and keyed by base language: a language without one
is treated neutrally by the rule that uses it.
"""

from __future__ import annotations


def locale(code: str | None) -> str:
    """Return ``code`` spelled one way: lower case, ``_`` between parts (``en-US``: ``en_us``)."""
    return (code or "").replace("-", "_").lower()


def base_language(code: str | None) -> str:
    """Return the language of ``code`` without region or variant (``en-US``, ``EN``: ``en``)."""
    return locale(code).split("_")[0]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- end of speech (endpointing) ------------------------------------------------------------

# Words a command does not end on. Not the particles commands do end on: "turn the light on",
# "mach das Licht an/aus/zu", "zet het licht aan/uit".
TRAILING_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "and or but nor so then plus the a an to of in at for from with into onto by "
        "about after before until than that this my your our their its his her"
    ),
    "de": _words(
        "und oder aber dann sowie der die das den dem des eine einen einem einer im in "
        "am bei mit nach von vom zum zur für über unter bis"
    ),
    "fr": _words(
        "et ou mais puis donc le la les l un une des du de d au aux à en dans sur pour par "
        "avec sans vers mon ma mes"
    ),
    "es": _words(
        "y e o u pero luego el la los las un una unos unas del de al a en con por para sin "
        "sobre hasta mi mis"
    ),
    "it": _words(
        "e o ma poi il lo la i gli le un uno una del della dei delle al alla di a da in con "
        "su per tra fra mio mia"
    ),
    "nl": _words("en of maar dan de het een van in met voor naar bij tot om mijn"),
}

# --- sentences (the first piece of an answer) -----------------------------------------------

# Words a first piece may end before. CONJUNCTIONS start a clause whatever follows them ("so",
# "or", "denn" are also adverbs).
CONJUNCTIONS: dict[str, frozenset[str]] = {
    "de": _words("aber sondern weil während obwohl"),
    "en": _words("but because while although whereas unless"),
    "es": _words("pero porque aunque mientras"),
    "fr": _words("mais car parce tandis"),
    "it": _words("ma perché mentre però"),
    "nl": _words("maar omdat terwijl want"),
    "pt": _words("mas porque enquanto embora"),
}
# "and" joins words as often as clauses ("the kitchen and dining room"), so it counts only when
# a clause seems to follow: one of its followers, a pronoun or an article ("and the heating is
# ...", "and it ..."). Per language: (coordinators, followers).
COORDINATORS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "de": (
        _words("und"),
        _words("der die das den dem ein eine ich du er sie es wir ihr man"),
    ),
    "en": (
        _words("and"),
        _words(
            "the a an i you he she it we they there this that these those my your our their its"
        ),
    ),
}

# Abbreviations after which "." never ends a sentence (any language: names and titles).
NEVER_END: frozenset[str] = _words(
    "mr mrs ms dr prof st sr jr mt ft vs e.g i.e cf approx gen col lt sgt capt rev hon fig"
)
# Abbreviations that end a sentence only when the next word is capitalised.
MAYBE_END: frozenset[str] = _words(
    "etc a.m p.m am pm inc ltd co corp jan feb mar apr aug sep sept oct nov dec"
)
