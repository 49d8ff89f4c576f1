"""Models and voices: catalogues, lookup in data dirs, hub downloads.

Every lookup tries the data dirs in order, then the download dir; only then, unless
``local_files_only``, does it download (with huggingface_hub) into the download dir.

- STT: a faster-whisper model is a directory ``<dir>/<repo name>/`` (e.g.
  ``faster-whisper-base-int8/`` for catalogue name ``base-int8``) holding ``model.bin`` and
  ``config.json``, or a Hugging Face cache entry ``<dir>/models--<owner>--<repo>/``; a spec may
  also be a model directory path. See ``models.stt``.
- TTS: a Piper voice is ``<dir>/<name>.onnx`` + ``<dir>/<name>.onnx.json``; catalogue voices
  come from Piper's ``voices.json`` (shipped, refreshable). See ``models.voices``.

A model or voice that can't be had raises ``ModelNotFoundError`` with a one-line message naming
it and every place looked.
"""

from .common import ModelNotFoundError, check_name
from .stt import (
    STT_CATALOGUE,
    STT_MODEL_FILES,
    download_stt_model,
    is_model_dir,
    resolve_stt_model,
    stt_repo_id,
)
from .voice_catalogue import (
    PIPER_VOICES_REPO,
    load_voice_catalogue,
    refresh_voice_catalogue,
    shipped_catalogue,
)
from .voices import (
    VoiceEntry,
    VoiceFiles,
    check_voice_name,
    download_voice,
    list_voices,
    local_voices,
    resolve_voice,
)

__all__ = [
    "PIPER_VOICES_REPO",
    "STT_CATALOGUE",
    "STT_MODEL_FILES",
    "ModelNotFoundError",
    "VoiceEntry",
    "VoiceFiles",
    "check_name",
    "check_voice_name",
    "download_stt_model",
    "download_voice",
    "is_model_dir",
    "list_voices",
    "load_voice_catalogue",
    "local_voices",
    "refresh_voice_catalogue",
    "resolve_stt_model",
    "resolve_voice",
    "shipped_catalogue",
    "stt_repo_id",
]
