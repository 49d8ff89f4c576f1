"""What all connections share, loaded before the port opens: engines, voices, Info, limits."""

from __future__ import annotations

import argparse
import ctypes
import importlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .info import InfoAnswer, build_info
from .models import resolve_stt_model
from .stt import SttEngine, SttOptions, window_for
from .tts import TtsEngine, TtsOptions
from .voices import Voices

_LOGGER = logging.getLogger(__name__)
CUDA_PROVIDER = "CUDAExecutionProvider"


class DeviceUnavailableError(ValueError):
    """``--device cuda`` on a machine that lacks what it needs (the message names it)."""


@dataclass(frozen=True)
class Devices:
    """Where each engine runs (``cpu`` or ``cuda``), chosen from ``--device``."""

    stt: str = "cpu"
    tts: str = "cpu"


def cuda_device_count() -> int:
    """CUDA devices CTranslate2 sees (0 without a driver, a GPU or CUDA support)."""
    ctranslate2 = importlib.import_module("ctranslate2")  # ships no type information
    return int(ctranslate2.get_cuda_device_count())


def onnxruntime_has_cuda() -> bool:
    """Whether onnxruntime (for Piper) has its CUDA provider: onnxruntime-gpu is installed."""
    onnxruntime = importlib.import_module("onnxruntime")
    return CUDA_PROVIDER in onnxruntime.get_available_providers()


def _missing_cuda_device() -> str:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "the NVIDIA driver (libcuda.so.1 cannot be loaded: is the GPU passed in?)"
    return "a CUDA device (CTranslate2 sees none)"


def choose_devices(requested: str, mode: str) -> Devices:
    """Resolve ``--device``: ``auto`` takes CUDA when CTranslate2 sees a device, else the CPU.

    Piper follows on CUDA when onnxruntime has the CUDA provider. ``cuda`` raises
    ``DeviceUnavailableError`` naming the first thing missing for the engines ``mode`` runs.
    """
    if requested == "cpu":
        return Devices()
    gpu = cuda_device_count() > 0
    runs_stt, runs_tts = mode in ("both", "stt"), mode in ("both", "tts")
    if requested == "cuda" and not gpu:
        raise DeviceUnavailableError(f"--device cuda: missing {_missing_cuda_device()}")
    tts_gpu = gpu and runs_tts and onnxruntime_has_cuda()
    if requested == "cuda" and runs_tts and not tts_gpu:
        raise DeviceUnavailableError(
            f"--device cuda: missing onnxruntime's {CUDA_PROVIDER} for Piper "
            "(install onnxruntime-gpu in place of onnxruntime)"
        )
    return Devices(stt="cuda" if gpu and runs_stt else "cpu", tts="cuda" if tts_gpu else "cpu")


@dataclass
class ServerContext:
    """What every connection shares: the engines, the voices, the Info answer and the limits."""

    stt: SttEngine | None
    tts: TtsEngine | None
    voices: Voices | None  # with ``tts``: which voices there are and which a request gets
    info: InfoAnswer
    idle_timeout: float
    devices: Devices = field(default_factory=Devices)

    @property
    def modes(self) -> list[str]:
        """The modes that are on: ``stt`` and/or ``tts``."""
        return [name for name, on in (("stt", self.stt), ("tts", self.tts)) if on is not None]

    def close(self) -> None:
        """Stop the engines' worker threads."""
        for engine in (self.stt, self.tts):
            if engine is not None:
                engine.close()


def load(args: argparse.Namespace) -> ServerContext:
    """Load what the mode needs (blocking); ``ModelNotFoundError`` if something is missing."""
    data_dirs = [Path(d) for d in args.data_dir]
    download_dir = Path(args.download_dir)
    stt: SttEngine | None = None
    tts: TtsEngine | None = None
    voices: Voices | None = None
    devices = choose_devices(args.device, args.mode)
    _LOGGER.info(
        "Device %s: speech-to-text on %s, text-to-speech on %s",
        args.device,
        devices.stt,
        devices.tts,
    )
    speaks = args.mode in ("both", "tts")
    try:
        if args.mode in ("both", "stt"):
            model_dir = resolve_stt_model(
                args.stt_model,
                data_dirs=data_dirs,
                download_dir=download_dir,
                local_files_only=args.local_files_only,
            )
            stt = SttEngine(
                model_dir,
                options=SttOptions(
                    language=None if args.language in (None, "", "auto") else args.language,
                    beam_size=args.beam_size,
                    fallback_beam_size=args.fallback_beam_size,
                    initial_prompt=args.initial_prompt or None,
                    vad_filter=args.vad_filter,
                    vad_min_silence_ms=args.vad_min_silence_ms,
                    vad_speech_pad_ms=args.vad_speech_pad_ms,
                    window_seconds=args.whisper_window or window_for(model_dir),
                    speculation=args.speculation,
                    end_of_speech=args.end_of_speech,
                ),
                device=devices.stt,
                compute_type=args.compute_type,
                cpu_threads=args.cpu_threads or max(1, (os.cpu_count() or 1) // args.stt_workers),
                workers=args.stt_workers,
            )
        info = InfoAnswer(
            build_info(
                stt_model=args.stt_model if stt is not None else None,
                stt_languages=stt.languages if stt is not None else (),
                ends_speech=stt is not None and stt.options.ends_speech,
                voices=[] if speaks else None,  # listed by the voices as they load
                stt_device=devices.stt,
                tts_device=devices.tts,
            )
        )
        if speaks:
            tts = TtsEngine(
                options=TtsOptions(
                    length_scale=args.length_scale,
                    noise_scale=args.noise_scale,
                    noise_w_scale=args.noise_w_scale,
                    sentence_silence=args.sentence_silence,
                ),
                stages_dir=download_dir / "stages",
                max_voices=args.max_voices,
                workers=args.tts_workers,
                use_cuda=devices.tts == "cuda",
            )
            voices = Voices(
                tts,
                info,
                default_voice=args.tts_voice,
                default_speaker=args.speaker,
                data_dirs=data_dirs,
                download_dir=download_dir,
                local_files_only=args.local_files_only,
                describe_catalogue=args.describe_catalogue,
            )
            voices.load_default()
    except BaseException:
        for engine in (stt, tts):
            if engine is not None:
                engine.close()
        raise
    return ServerContext(stt, tts, voices, info, args.idle_timeout, devices)
