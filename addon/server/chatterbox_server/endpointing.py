"""End of speech: the server decides when a command is finished (``--end-of-speech``).

Home Assistant runs its own VAD only for an STT that asks for it; with end of speech on the
server says ``requires_external_vad=False`` and ends the utterance itself, sending the Transcript
before the client's AudioStop. :class:`EndOfSpeech` judges one utterance from what
:mod:`.speculation` sees at every check: where the VAD found speech, and the speculative
transcript of that speech once it is ready.

- **What was said decides how long a pause must be.** A transcript that reads as a complete
  command ends the utterance after a short silence (``Silences.complete``); one that trails off
  (it ends in a conjunction, a preposition or an article, or in Whisper's "...") waits longer
  (``Silences.trailing``) for the rest. For languages without a word list only "..." is known,
  and every other transcript waits ``Silences.neutral``.
- **How surely Whisper heard it counts too.** Said halfway, a command often comes back as
  confident-looking nonsense ("Santa Furma's tattoo!" for "set the thermostat to ..."), but
  with a low log probability: a complete reading below ``UNSURE_LOG_PROB`` waits
  ``Silences.neutral``, by default Home Assistant's own 0.7 s. (On the corpus, real base int8:
  6 of 10 first halves of paused commands scored below -0.7, 7 of 34 whole commands did.) With
  names, such a transcript is also decoded again with a wider beam (``stt``); it stays unsure
  even when the second decode is surer.
- ``Transcribe.vad_sensitivity`` (Home Assistant's aggressive, default, relaxed) picks the
  silences.
- **Every utterance is bounded**: no speech within ``NO_SPEECH_SECONDS`` ends it with an empty
  transcript, and ``MAX_SECONDS`` of audio ends it with what was said (Home Assistant's own VAD
  gives up at 15 s too).

Silence is counted in audio received and checked by the VAD, not in wall time: a client sending
faster than real time gets the same decisions, and audio not yet checked never counts as
silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .stt import SAMPLE_RATE, UNSURE_LOG_PROB, Speech

NO_SPEECH_SECONDS = 5.0
MAX_SECONDS = 15.0

Reason = Literal["complete", "trailing", "neutral", "no-speech", "max-length"]
"""Why an utterance ended: the rule that ended it."""


@dataclass(frozen=True)
class Silences:
    """Seconds of silence after the last word that end an utterance, by what was said."""

    complete: float
    trailing: float
    neutral: float


SENSITIVITIES = {
    "aggressive": Silences(complete=0.2, trailing=0.7, neutral=0.5),
    "default": Silences(complete=0.3, trailing=1.0, neutral=0.7),  # neutral: HA's own VAD's
    "relaxed": Silences(complete=0.6, trailing=1.25, neutral=1.0),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a command does not end on, lower case (a model's languages without a list: neutral).
# Not the particles commands do end on: "turn the light on", "mach das Licht an/aus/zu",
# "zet het licht aan/uit".
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
_ELLIPSIS = re.compile(r"(\.\.\.|…)\s*$")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?$")


def sensitivity_silences(sensitivity: object) -> Silences:
    """Return the silences for a client's ``vad_sensitivity`` (anything unknown: the default)."""
    value = getattr(sensitivity, "value", sensitivity)
    return SENSITIVITIES.get(value if isinstance(value, str) else "", SENSITIVITIES["default"])


def reading(text: str, language: str | None) -> Literal["complete", "trailing", "neutral"]:
    """Tell how ``text`` reads as a command: complete, trailing off, or unknown (no word list)."""
    stripped = text.strip()
    if not stripped or _ELLIPSIS.search(stripped) or stripped.endswith(("-", "—", ",")):
        return "trailing"
    words = TRAILING_WORDS.get((language or "").split("-")[0].lower())
    if words is None:
        return "neutral"
    last = _WORD.search(stripped.rstrip(".!?;:\"') ").lower())
    return "trailing" if last is not None and last.group(0) in words else "complete"


class EndOfSpeech:
    """Judge whether one utterance has ended, from the speech found and its transcript."""

    def __init__(self, silences: Silences, language: str | None, pad_samples: int) -> None:
        self.silences = silences
        self.language = language
        self.pad_samples = pad_samples
        self.max_samples = int(MAX_SECONDS * SAMPLE_RATE)
        self.no_speech_samples = int(NO_SPEECH_SECONDS * SAMPLE_RATE)

    def silence_after(self, checked: int, speech: Speech) -> int | None:
        """Return the samples of silence after the last speech, None while it may go on.

        ``speech`` is what the VAD found in the first ``checked`` samples: a last segment that
        reaches the end is open (speaking, or too short a pause to close it).
        """
        if not speech or speech[-1][1] >= checked:
            return None
        return checked - (speech[-1][1] - self.pad_samples)

    def judge(
        self,
        samples: int,
        checked: int,
        speech: Speech,
        text: str | None,
        log_prob: float = 0.0,
    ) -> Reason | None:
        """Return why the utterance has ended, or None to go on listening.

        ``samples`` is the audio received so far; ``speech`` the VAD's finding in its first
        ``checked`` samples; ``text`` the transcript of that speech (None while not ready),
        decoded with mean token log probability ``log_prob``.
        """
        if samples >= self.max_samples:
            return "max-length"
        if not speech:
            return "no-speech" if checked >= self.no_speech_samples else None
        silence = self.silence_after(checked, speech)
        if silence is None or text is None:
            return None  # (audio after the check is not counted: speech may have resumed)
        rule = reading(text, self.language)
        if rule == "complete" and log_prob < UNSURE_LOG_PROB:
            rule = "neutral"
        needed = getattr(self.silences, rule)
        return rule if silence >= needed * SAMPLE_RATE else None
