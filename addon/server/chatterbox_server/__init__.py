"""Chatterbox: faster-whisper STT and Piper TTS behind one Wyoming endpoint."""

__version__ = "0.1.0"
