"""Speech for the STT tests: the test voice speaks a command, converted to 16 kHz mono."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator

from wyoming.audio import AudioChunk, AudioChunkConverter

from custom_components.chatterbox.client import ChatterboxClient, VoiceRequest

COMMAND = "Turn on the kitchen light."
CHUNK_BYTES = 3200  # 100 ms at 16 kHz, 16-bit mono


async def spoken_command(host: str, port: int, text: str = COMMAND) -> bytes:
    """Return 16 kHz mono 16-bit PCM of ``text`` spoken by the server's voice."""
    wav = await ChatterboxClient(host, port).synthesize(text, VoiceRequest())
    with wave.open(io.BytesIO(wav), "rb") as wav_file:
        chunk = AudioChunk(
            rate=wav_file.getframerate(),
            width=wav_file.getsampwidth(),
            channels=wav_file.getnchannels(),
            audio=wav_file.readframes(wav_file.getnframes()),
        )
    return AudioChunkConverter(rate=16000, width=2, channels=1).convert(chunk).audio


async def chunks(pcm: bytes) -> AsyncIterator[bytes]:
    """Yield ``pcm`` in 100 ms pieces, as a microphone stream would."""
    for start in range(0, len(pcm), CHUNK_BYTES):
        yield pcm[start : start + CHUNK_BYTES]
