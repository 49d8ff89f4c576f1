"""Benchmark Chatterbox against wyoming-faster-whisper and wyoming-piper (run scripts/bench)."""
