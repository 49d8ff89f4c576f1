"""Split text into sentences for speech, from a whole text or from text that arrives in pieces.

A sentence ends at ``!``, ``?``, ``…`` or ``.`` followed by white space (closing quotes and
brackets stay with the sentence), at CJK full stops, and at line breaks. A ``.`` does not end a
sentence inside numbers (``3.5``, ``10.30``), in names and addresses (``example.com``), after
titles (``Dr.``, ``Mr.``), after initials (``J. R. R.``) and after ``e.g.``/``i.e.``; after other
abbreviations (``etc.``, ``p.m.``, ``U.S.``) it ends one only when the next word is capitalised.
Runs longer than ``max_chars`` with no sentence end are cut at the last clause boundary
(``, ; : —``), else at the last space. ``flush`` returns whatever is left when the text ends.

The first piece is what a listener waits for, so a first sentence longer than
``FIRST_LONG_CHARS`` is cut into a first piece of ``FIRST_MIN_CHARS``..``FIRST_MAX_CHARS``:
after its first clause mark in that range, else before its first conjunction there (in the
voice's language, from :mod:`.languages`: ``CONJUNCTIONS`` always, ``COORDINATORS`` such as
"and" only when an article or pronoun follows). A piece cut before a conjunction ends with a
comma, so the voice phrases it as the clause it is. Without either the sentence stays whole: a
cut at a mere space would sound wrong. While text streams in, the cut is made as soon as the
sentence is known to be long, before it ends; however the text arrives, the pieces are those of
the whole text.
"""

from __future__ import annotations

import re

from .languages import CONJUNCTIONS, COORDINATORS, MAYBE_END, NEVER_END, base_language

DEFAULT_MAX_CHARS = 250
FIRST_LONG_CHARS = 60  # a longer first sentence is cut for first audio ...
FIRST_MIN_CHARS = 20  # ... into a first piece of at least this many characters
FIRST_MAX_CHARS = 45  # ... and at most this many

# Written as escapes: CJK full stop, fullwidth ! and ?; curly quotes, guillemets; en/em dash.
_CJK_STOPS = "\u3002\uff01\uff1f"
_CLOSERS = "\"'\u201d\u2019\u00bb)\\]"
_TERMINATOR = re.compile(f"(?:[.!?\u2026]+|[{_CJK_STOPS}]+)[{_CLOSERS}]*")
_CLAUSE_MARKS = ",;:\u2014\u2013"
_CLAUSE = re.compile("[,;:\u2014\u2013](?=\\s)|\\s[\u2014\u2013](?=\\s)")
_OPENERS = "\"'\u201c\u2018\u00ab([\u00bf\u00a1"


def _last_word(text: str, end: int) -> str:
    start = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end), text.rfind("\t", 0, end))
    return text[start + 1 : end].lstrip(_OPENERS)


def _is_abbreviation_end(word: str, following: str) -> bool | None:
    """Decide a ``word.`` + ``following`` boundary: True/False, or None if more text is needed."""
    lower = word.lower()
    if lower in NEVER_END:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial
    if lower in MAYBE_END or ("." in word and word.replace(".", "").isalpha()):
        if not following:
            return None
        return following[0].isupper()
    return True


class SentenceSplitter:
    """Incremental splitter: ``add`` text pieces, get complete sentences; ``flush`` at the end."""

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS, language: str | None = None) -> None:
        """``language`` (e.g. ``en``, ``en-us``, ``pt_BR``) picks the conjunctions to cut before."""
        self.max_chars = max_chars
        self._buffer = ""
        self._first = True  # nothing returned yet
        self._conjunction = _conjunction_pattern(language)

    @property
    def pending(self) -> str:
        """Text received but not yet returned as a sentence."""
        return self._buffer

    def add(self, text: str) -> list[str]:
        """Add a piece of text and return the sentences it completed."""
        self._buffer += text
        sentences: list[str] = []
        while True:
            cut = self._find_boundary(self._buffer, final=False)
            if cut is None:
                break
            sentences.extend(self._split(self._buffer[:cut]))
            self._buffer = self._buffer[cut:]
        if self._first and not sentences and (cut := self._first_cut(self._buffer)):
            # A long first sentence still arriving: its first clause can be spoken now.
            self._first = False
            sentences.append(_as_clause(self._buffer[:cut]))
            self._buffer = self._buffer[cut:]
        if len(self._buffer) > self.max_chars:
            # A long run without a sentence end: speak its complete clauses now.
            head, self._buffer = _cut_run(self._buffer, self.max_chars)
            sentences.extend(self._split(head))
        return _pieces(sentences)

    def flush(self) -> list[str]:
        """Return the remaining text as sentences and reset."""
        text, self._buffer = self._buffer, ""
        sentences: list[str] = []
        while True:
            cut = self._find_boundary(text, final=True)
            if cut is None:
                break
            sentences.extend(self._split(text[:cut]))
            text = text[cut:]
        sentences.extend(self._split(text))
        return _pieces(sentences)

    def _split(self, sentence: str) -> list[str]:
        """Cut a complete sentence (or run): the first one early, over-long ones at clauses."""
        head: list[str] = []
        if self._first and sentence.strip():
            self._first = False
            if cut := self._first_cut(sentence):
                head, sentence = [_as_clause(sentence[:cut])], sentence[cut:]
        return head + split_long(sentence, self.max_chars)

    def _first_cut(self, text: str) -> int | None:
        """Where to end an over-long first sentence: a clause mark, else a conjunction; or None."""
        if len(text.strip()) <= FIRST_LONG_CHARS:
            return None
        lead = len(text) - len(text.lstrip())
        for pattern, end in ((_CLAUSE, True), (self._conjunction, False)):
            for match in pattern.finditer(text) if pattern is not None else ():
                size = (match.end() if end else match.start()) - lead
                if size > FIRST_MAX_CHARS:
                    break
                if size >= FIRST_MIN_CHARS:
                    return lead + size
        return None

    @staticmethod
    def _find_boundary(text: str, *, final: bool) -> int | None:  # noqa: PLR0911
        """Return the end of the first complete sentence in ``text``, or None."""
        newline = text.find("\n")
        for match in _TERMINATOR.finditer(text):
            if 0 <= newline < match.start():
                return newline + 1
            end, mark = match.end(), match.group()
            rest = text[end:]
            if mark[0] in _CJK_STOPS:
                return end
            if not rest:
                return end if final else None  # "3." may still become "3.5"
            if not rest[0].isspace():
                continue  # 3.5, example.com, 10.30
            if mark[0] != "." or mark.startswith(".."):  # !, ?, ellipsis
                return end
            following = rest.lstrip()
            decision = _is_abbreviation_end(_last_word(text, match.start()), following)
            if decision is None:
                return end if final else None
            if decision:
                return end
        if newline >= 0:
            return newline + 1
        return None


def _conjunction_pattern(language: str | None) -> re.Pattern[str] | None:
    """Match white space + a conjunction of ``language`` (see above); None if none known."""
    base = base_language(language)
    alternatives = []
    if words := CONJUNCTIONS.get(base):
        alternatives.append(f"(?:{'|'.join(sorted(words))})(?=\\s)")
    if base in COORDINATORS:
        words, followers = COORDINATORS[base]
        then = "|".join(sorted(followers))
        alternatives.append(f"(?:{'|'.join(sorted(words))})(?=\\s+(?i:{then})\\b)")
    return re.compile(f"\\s(?:{'|'.join(alternatives)})") if alternatives else None


def _pieces(sentences: list[str]) -> list[str]:
    """Strip the pieces and drop the empty ones."""
    return [s for s in (s.strip() for s in sentences) if s]


def ends_clause(piece: str) -> bool:
    """Whether a piece ends mid-sentence, at a clause mark (so no pause for a sentence end)."""
    return piece.rstrip()[-1:] in _CLAUSE_MARKS


def _as_clause(head: str) -> str:
    """End a piece cut before a conjunction with a comma, so it is spoken as a clause."""
    return head if not head.strip() or ends_clause(head) else head.rstrip() + ","


def _cut_run(text: str, max_chars: int) -> tuple[str, str]:
    """Cut a run longer than ``max_chars`` at a clause boundary, else a space, else hard."""
    window = text[: max_chars + 1]
    clauses = [m.end() for m in _CLAUSE.finditer(window)]
    if clauses and clauses[-1] > max_chars // 4:
        cut = clauses[-1]
    else:
        space = window.rfind(" ")
        cut = space if space > max_chars // 4 else max_chars
    return text[:cut], text[cut:]


def split_long(sentence: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Split one sentence longer than ``max_chars`` into clause-sized parts."""
    parts: list[str] = []
    while len(sentence) > max_chars:
        head, sentence = _cut_run(sentence, max_chars)
        parts.append(head)
    parts.append(sentence)
    return parts


def split_sentences(
    text: str, max_chars: int = DEFAULT_MAX_CHARS, language: str | None = None
) -> list[str]:
    """Split a whole text into sentences (``language``: see ``SentenceSplitter``)."""
    splitter = SentenceSplitter(max_chars, language)
    return [*splitter.add(text), *splitter.flush()]
