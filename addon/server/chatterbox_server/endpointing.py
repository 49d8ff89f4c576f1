"""End of speech: the server decides when a command is finished (``--end-of-speech``).

Home Assistant runs its own VAD only for an STT that asks for it; with end of speech on the
server says ``requires_external_vad=False`` and ends the utterance itself, sending the Transcript
before the client's AudioStop. :class:`EndOfSpeech` judges one utterance from what
:mod:`.speculation` sees at every check: where the VAD found speech, and the speculative
transcript of that speech once it is ready.

- **Never sooner than Home Assistant.** An utterance ends only after at least as much unbroken
  silence as Home Assistant's own VAD waits for at the client's ``Transcribe.vad_sensitivity``
  (``HA_SILENCE_SECONDS``, the values of HA's ``assist_pipeline/vad.py``: default 0.7 s,
  relaxed 1.25 s, aggressive 0.25 s; unknown or absent: default). A complete-looking transcript
  is no evidence the speaker is done ("turn on the lights ... in the office"), so it never
  shortens the wait: the speed comes from the transcript being ready when the silence is.
- **Evidence of an unfinished command only lengthens it** by ``UNFINISHED_EXTRA_SECONDS``: a
  transcript that trails off (a conjunction, a preposition or an article last, Whisper's
  "...", a dash or comma), or one Whisper was unsure of (mean log probability below
  ``UNFINISHED_LOG_PROB``: said halfway, a command often comes back as nonsense).
- **Every utterance is bounded**: no speech within ``NO_SPEECH_SECONDS`` ends it with an empty
  transcript, and ``MAX_SECONDS`` of audio ends it with what was said (Home Assistant's own VAD
  gives up at 15 s too).

Silence is counted in audio received and checked by the VAD, from where the last sound ended
(:func:`.silence.silence_start`: Silero's end, refined to the 10 ms by loudness), not in wall
time: a client sending faster than real time gets the same decisions, and audio not yet checked
never counts as silence. Home Assistant's VAD adds up the silences of a command until a second
of speech resets them; this rule needs them unbroken, so it never ends sooner on the same audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .languages import TRAILING_WORDS, base_language
from .silence import silence_start
from .stt import SAMPLE_RATE, Speech

NO_SPEECH_SECONDS = 5.0
MAX_SECONDS = 15.0

Reason = Literal["silence", "unfinished", "no-speech", "max-length"]
"""Why an utterance ended: Home Assistant's silence after what reads finished, the longer
silence after what reads unfinished, no speech at all, or the maximum length."""

HA_SILENCE_SECONDS = {"aggressive": 0.25, "default": 0.7, "relaxed": 1.25}
"""Home Assistant's own VAD's silence by sensitivity (``VadSensitivity.to_seconds``)."""
UNFINISHED_EXTRA_SECONDS = 0.5
"""More silence awaited after a transcript that reads unfinished or was heard unsurely."""
UNFINISHED_LOG_PROB = -1.5
"""A transcript decoded with a mean token log probability below this was heard unsurely.

Far below the STT's own ``UNSURE_LOG_PROB`` (which decodes again with names), chosen on the
corpus's development half: a command cut at a hesitation mostly reads trailing already, so
the log probability adds little there, while a higher threshold made many complete commands
(said clearly but transcribed poorly) wait ``UNFINISHED_EXTRA_SECONDS`` longer (README,
Performance)."""


@dataclass(frozen=True)
class Silences:
    """Seconds of unbroken silence after the last word that end an utterance."""

    least: float
    """Home Assistant's own wait at the client's sensitivity: nothing ends sooner."""
    unfinished: float
    """The wait when what was said reads unfinished or was heard unsurely."""

    @classmethod
    def after(cls, seconds: float) -> Silences:
        """Silences for Home Assistant's wait of ``seconds``."""
        return cls(seconds, seconds + UNFINISHED_EXTRA_SECONDS)


SENSITIVITIES = {name: Silences.after(seconds) for name, seconds in HA_SILENCE_SECONDS.items()}
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
    words = TRAILING_WORDS.get(base_language(language))
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
        self.least_samples = round(silences.least * SAMPLE_RATE)
        self.unfinished_samples = round(silences.unfinished * SAMPLE_RATE)

    def find_silence(self, audio: np.ndarray, speech: Speech) -> int | None:
        """Return where the silence after the last word began, None while speech may go on.

        ``speech`` is what the VAD found in ``audio``: a last segment that reaches the end is
        open (speaking, or too short a pause to close it).
        """
        if not speech or speech[-1][1] >= len(audio):
            return None
        return silence_start(audio, speech, self.pad_samples)

    def earliest_end(self, silent_from: int | None) -> int | None:
        """Return the audio length at which the utterance could end soonest, if speech paused."""
        return None if silent_from is None else silent_from + self.least_samples

    def judge(
        self,
        samples: int,
        checked: int,
        speech: Speech,
        silent_from: int | None,
        text: str | None,
        log_prob: float = 0.0,
    ) -> Reason | None:
        """Return why the utterance has ended, or None to go on listening.

        ``samples`` is the audio received so far; ``speech`` the VAD's finding in its first
        ``checked`` samples and ``silent_from`` where the silence after it began (None: speech
        may go on; :meth:`find_silence`); ``text`` the transcript of that speech (None while
        not ready), decoded with mean token log probability ``log_prob``.
        """
        if samples >= self.max_samples:
            return "max-length"
        if not speech:
            return "no-speech" if checked >= self.no_speech_samples else None
        if silent_from is None or text is None:
            return None  # (audio after the check is not counted: speech may have resumed)
        unfinished = reading(text, self.language) == "trailing" or log_prob < UNFINISHED_LOG_PROB
        rule: Reason = "unfinished" if unfinished else "silence"
        needed = self.unfinished_samples if unfinished else self.least_samples
        return rule if checked - silent_from >= needed else None
