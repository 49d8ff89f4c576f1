"""The sentence splitter: whole texts and text arriving in pieces."""

from __future__ import annotations

import pytest

from chatterbox_server.sentences import (
    SentenceSplitter,
    ends_clause,
    split_long,
    split_sentences,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world. How are you? Fine!", ["Hello world.", "How are you?", "Fine!"]),
        ("It is 21.5 degrees. Pi is 3.14159.", ["It is 21.5 degrees.", "Pi is 3.14159."]),
        ("Dr. Smith met Mr. Jones at St. Mary's.", ["Dr. Smith met Mr. Jones at St. Mary's."]),
        ("Call J. R. R. Tolkien. Now.", ["Call J. R. R. Tolkien.", "Now."]),
        ("See you at 10:30 p.m. tomorrow.", ["See you at 10:30 p.m. tomorrow."]),
        ("We left at 5 p.m. Then it rained.", ["We left at 5 p.m.", "Then it rained."]),
        ("Bring fruit, e.g. apples. Thanks.", ["Bring fruit, e.g. apples.", "Thanks."]),
        ("Visit example.com today. Bye.", ["Visit example.com today.", "Bye."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what?! Really.", ["Wait...", "what?!", "Really."]),
        ("no punctuation at all", ["no punctuation at all"]),
        ("first line\nsecond line\n\n", ["first line", "second line"]),
        ("\u4f60\u597d\u3002\u6211\uff01", ["\u4f60\u597d\u3002", "\u6211\uff01"]),  # CJK
        ("", []),
        ("   ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_long_runs_split_at_clauses_then_spaces() -> None:
    text = ", ".join(f"clause number {i}" for i in range(40))
    parts = split_sentences(text, max_chars=100)
    assert len(parts) > 5
    assert all(len(part) <= 100 for part in parts)
    assert all(part.endswith(",") for part in parts[:-1])  # cut after a clause
    assert " ".join(parts) == text
    words = " ".join(["word"] * 100)
    parts = split_long(words, 50)
    assert all(len(part) <= 50 for part in parts)
    assert " ".join(p.strip() for p in parts) == words
    assert split_long("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]  # no space at all


def test_streaming_word_by_word() -> None:
    splitter = SentenceSplitter()
    text = "The time is 3.5 hours. Dr. Who is here. We met at 5 p.m. Bye now"
    done: list[tuple[str, list[str]]] = []
    for word in text.split(" "):
        done.append((word, splitter.add(word + " ")))
    emitted = {word: sentences for word, sentences in done if sentences}
    # A sentence is out as soon as the next word shows it ended, not at the end of the text.
    assert emitted == {
        "hours.": ["The time is 3.5 hours."],
        "here.": ["Dr. Who is here."],
        "Bye": ["We met at 5 p.m."],  # "p.m." needs the next word to decide
    }
    assert splitter.flush() == ["Bye now"]
    assert splitter.flush() == []


def test_streaming_decimal_split_across_pieces() -> None:
    splitter = SentenceSplitter()
    assert splitter.add("It is 3.") == []
    assert splitter.add("5 degrees.") == []  # end of input so far: wait for more
    assert splitter.add(" Next") == ["It is 3.5 degrees."]
    assert splitter.flush() == ["Next"]


def test_streaming_long_run_without_punctuation_is_spoken_early() -> None:
    splitter = SentenceSplitter(max_chars=60)
    out: list[str] = []
    for i in range(30):
        out += splitter.add(f"item {i}, ")
    assert out  # clauses came out before the end
    assert all(len(part) <= 60 for part in out)
    assert len(splitter.pending) <= 60


LONG_FIRST = (
    "When you get home tonight after the match, remember that the kitchen lights are on a timer, "
    "and the heating comes on at six. The rest can wait."
)


def test_long_first_sentence_is_cut_at_a_clause() -> None:
    """The first piece is short, so first audio comes sooner; the rest is untouched."""
    assert split_sentences(LONG_FIRST) == [
        "When you get home tonight after the match,",
        "remember that the kitchen lights are on a timer, and the heating comes on at six.",
        "The rest can wait.",
    ]


def test_only_the_first_sentence_is_cut_early() -> None:
    second = "Fine. " + LONG_FIRST
    assert split_sentences(second)[:2] == ["Fine.", LONG_FIRST.split(" The rest")[0]]


def test_first_sentence_without_a_clause_stays_whole() -> None:
    """No clause mark and no conjunction in reach: a cut at a mere space would sound wrong."""
    text = "The quick brown fox jumps over the lazy old dog on the warm sill of the kitchen window."
    assert split_sentences(text, language="en") == [text]


def test_short_or_early_clauses_do_not_cut() -> None:
    """Short first sentences stay whole, and a clause shorter than the minimum is not a piece."""
    assert split_sentences("Sure, the lights are on and the door is locked.", language="en") == [
        "Sure, the lights are on and the door is locked."
    ]
    text = "Sure, I turned on every single light in the whole house for you, as you asked me."
    assert split_sentences(text, language="en") == [text]  # the second comma is past 45


HEATING = "Sure, I turned on every light in the house and the heating is at twenty-one degrees."


def test_long_first_sentence_is_cut_before_a_conjunction() -> None:
    """The piece before the conjunction ends with a comma: the voice phrases it as a clause."""
    assert split_sentences(HEATING, language="en") == [
        "Sure, I turned on every light in the house,",
        "and the heating is at twenty-one degrees.",
    ]
    text = "The kitchen light is now on but the heating will stay off until tomorrow morning."
    assert split_sentences(text, language="en")[0] == "The kitchen light is now on,"


def test_and_counts_only_before_a_clause() -> None:
    """An "and" before a noun joins words, not clauses: no cut (the later comma is past 45)."""
    text = "I've turned off the lights in the kitchen and dining room, and locked the front door."
    assert split_sentences(text, language="en") == [text]
    spanish = "He encendido las luces de la cocina y del sal\u00f3n y he bajado la persiana."
    assert split_sentences(spanish, language="es") == [spanish]  # no "and" rule for es


def test_conjunctions_are_the_voices_language_only() -> None:
    assert split_sentences(HEATING) == [HEATING]  # no language: clause marks only
    assert split_sentences(HEATING, language="de") == [HEATING]
    assert split_sentences(HEATING, language="cmn") == [HEATING]  # none known
    for language in ("en-us", "en_GB", "en-gb-x-rp", "EN"):
        assert len(split_sentences(HEATING, language=language)) == 2, language
    german = (
        "Ich habe das Licht in der K\u00fcche eingeschaltet und die Heizung auf 21 Grad gestellt."
    )
    assert split_sentences(german, language="de-de") == [
        "Ich habe das Licht in der K\u00fcche eingeschaltet,",
        "und die Heizung auf 21 Grad gestellt.",
    ]
    spanish = (
        "Las luces de la cocina ya est\u00e1n encendidas pero la calefacci\u00f3n sigue apagada."
    )
    assert (
        split_sentences(spanish, language="es")[0]
        == "Las luces de la cocina ya est\u00e1n encendidas,"
    )


def test_a_conjunction_is_a_whole_lowercase_word() -> None:
    text = "The android in the hallway is sandwiched between boxes And crates by the front door."
    assert split_sentences(text, language="en") == [text]
    text = "The lights in the kitchen are on and theatre mode is set for the living room tonight."
    assert split_sentences(text, language="en") == [text]  # "theatre" is not "the"


def test_a_clause_mark_wins_over_an_earlier_conjunction() -> None:
    text = "The lights are on and the fan too, and the heating is set to twenty-one degrees now."
    assert split_sentences(text, language="en")[0] == "The lights are on and the fan too,"


def test_only_mid_sentence_pieces_end_a_clause() -> None:
    pieces = split_sentences(HEATING + " Anything else?", language="en")
    assert [ends_clause(piece) for piece in pieces] == [True, False, False]


OVER_MAX = "Sure thing my friend, " + "I turned on the light " * 12 + "and the end. Next one."


@pytest.mark.parametrize(
    "text", [LONG_FIRST, HEATING, HEATING.replace(",", "") + " Done.", OVER_MAX, "\n" + OVER_MAX]
)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 20, 61])
def test_streamed_pieces_equal_whole_text_pieces(text: str, size: int) -> None:
    """However the text arrives, the pieces are those of the whole text."""
    splitter = SentenceSplitter(language="en")
    pieces: list[str] = []
    for start in range(0, len(text), size):
        pieces += splitter.add(text[start : start + size])
    pieces += splitter.flush()
    assert pieces == split_sentences(text, language="en")
    assert len(pieces) >= 2


def test_streamed_first_clause_leaves_before_the_sentence_ends() -> None:
    splitter = SentenceSplitter()
    emitted: list[str] = []
    for word in LONG_FIRST.split(" ")[:20]:  # stops mid-sentence: no sentence end has arrived
        emitted += splitter.add(word + " ")
    assert emitted == ["When you get home tonight after the match,"]
    assert splitter.pending.lstrip().startswith("remember")
