"""The voices, with one owner: which exist and are installed, which a request gets, Info's list.

A request names a voice, or a language (an installed voice of it, the default voice first), or
neither (the default voice, with ``--speaker``). A name is looked up in the voice dirs, and a
catalogue voice not there is downloaded unless ``--local-files-only`` (:mod:`.models.voices`);
the TTS engine then loads it. A voice Info did not list as installed (just downloaded, or put in
a voice dir meanwhile) has the voices listed again, and Info updated, before its audio is sent.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from pathlib import Path

from .info import InfoAnswer
from .languages import base_language, locale
from .models import VoiceEntry, VoiceFiles, list_voices, resolve_voice
from .tts import LoadedVoice, TtsEngine


class Voices:
    """Answer which voices exist and are installed and which a request gets; keep Info's list."""

    def __init__(
        self,
        tts: TtsEngine,
        answer: InfoAnswer,
        *,
        default_voice: str,
        default_speaker: str | None,
        data_dirs: Sequence[Path],
        download_dir: Path,
        local_files_only: bool,
        describe_catalogue: bool = False,
    ) -> None:
        self.tts = tts
        self.answer = answer
        self.default_voice = default_voice  # as given: a name or a path
        self.default_speaker = default_speaker
        self.data_dirs = list(data_dirs)
        self.download_dir = download_dir
        self.local_files_only = local_files_only
        self.describe_catalogue = describe_catalogue  # list voices not on disk too
        self.default_name: str | None = None  # the default voice's name, once loaded
        self.entries: list[VoiceEntry] = []  # every voice there is: on disk or in the catalogue
        self._files: dict[str, VoiceFiles] = {}  # a name (or the default's path) -> its files
        self._loading: dict[str, asyncio.Future[LoadedVoice]] = {}

    def load_default(self) -> LoadedVoice:
        """Load the default voice, check ``--speaker``, list the voices (start-up, blocking).

        Raises ``ModelNotFoundError`` for a voice not to be had, ``UnknownSpeakerError`` for a
        speaker the voice lacks.
        """
        voice = self._get(self.default_voice, allow_path=True)
        self.default_name = voice.name
        self._files[voice.name] = voice.files  # requests name it without the path
        if voice.files.onnx.parent not in self.data_dirs:  # its neighbours are voices too
            self.data_dirs.append(voice.files.onnx.parent)
        self.speaker_id(voice, None)  # a bad --speaker fails now, not per request
        self.rescan()
        return voice

    @property
    def listed(self) -> list[VoiceEntry]:
        """The voices Info lists: those on disk, plus the catalogue when asked and allowed."""
        if self.describe_catalogue and not self.local_files_only:
            return self.entries
        return [entry for entry in self.entries if entry.installed]

    def is_installed(self, name: str) -> bool:
        """Whether Info lists voice ``name`` as installed."""
        return any(entry.name == name and entry.installed for entry in self.entries)

    def rescan(self) -> None:
        """List the voices again (blocking: on a worker thread) and show them in Info."""
        self.entries = list_voices(data_dirs=self.data_dirs, download_dir=self.download_dir)
        self.answer.show_voices(self.listed)

    def for_language(self, language: str) -> str | None:
        """Return an installed voice for ``language`` (``en`` or ``en_US``), the default first."""
        wanted = locale(language)

        def speaks(entry: VoiceEntry) -> bool:
            return any(wanted in (locale(code), base_language(code)) for code in entry.languages)

        installed = [entry.name for entry in self.entries if entry.installed and speaks(entry)]
        if self.default_name in installed:
            return self.default_name
        return installed[0] if installed else None

    async def choose(
        self, name: str | None, language: str | None = None, speaker: str | None = None
    ) -> tuple[LoadedVoice, int | None]:
        """Return the voice a request asks for, loaded, and the id of its speaker.

        The voice ``name``, else an installed voice for ``language``, else the default voice.
        Raises ``ModelNotFoundError`` (no such voice), ``UnknownSpeakerError`` and
        ``ValueError`` (a name that could escape the voice dirs).
        """
        if name is None and language is not None:
            name = self.for_language(language)
        voice = await self._voice(name)
        if not self.is_installed(voice.name):  # just downloaded: Info lists it from now on
            await asyncio.get_running_loop().run_in_executor(None, self.rescan)
        return voice, self.speaker_id(voice, speaker)

    def speaker_id(self, voice: LoadedVoice, speaker: str | None) -> int | None:
        """Resolve the request's speaker, or ``--speaker`` for the default voice."""
        if speaker is None and voice.name == self.default_name:
            speaker = self.default_speaker
        return voice.speaker_id(speaker)

    async def _voice(self, name: str | None) -> LoadedVoice:
        """Return voice ``name`` (None: the default), looked up and loaded on the TTS workers."""
        spec = name or self.default_voice
        files = self._files.get(spec)
        if files is not None and (voice := self.tts.cached(files.name)) is not None:
            return voice
        pending = self._loading.get(spec)
        if pending is None:  # one lookup and load per name at a time
            allow_path = name is None or spec == self.default_voice
            pending = self.tts.run(functools.partial(self._get, spec, allow_path))
            self._loading[spec] = pending
            pending.add_done_callback(lambda _: self._loading.pop(spec, None))
        return await asyncio.shield(pending)

    def _get(self, spec: str, allow_path: bool) -> LoadedVoice:
        """Find ``spec``'s files (downloading a catalogue voice if allowed) and load them."""
        files = self._files.get(spec)
        if files is None:
            files = resolve_voice(
                spec,
                data_dirs=self.data_dirs,
                download_dir=self.download_dir,
                local_files_only=self.local_files_only,
                allow_path=allow_path,
            )
            self._files[spec] = files
        return self.tts.load(files)
