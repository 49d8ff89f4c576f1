"""The Wyoming client core: one implementation of the conversations a Chatterbox client has.

Describe, the upload that listens for an early Transcript, one-shot and streamed synthesis,
each with deadlines and timings. The integration wraps it (and translates its errors into Home
Assistant's); the tests' satellite and the benchmark pace audio and report times over it.

It imports nothing from Home Assistant or the rest of the integration (only the ``wyoming``
library and the standard library), and runs on Python 3.11, so outside Home Assistant it is
imported by its own name, ``chatterbox_wyoming``, with ``custom_components/chatterbox/lib`` on
the path.
"""

from .client import Timings, Transcription, WyomingClient, host_port
from .connection import Timeouts, parse
from .errors import (
    CannotConnect,
    ConnectionClosed,
    MalformedReply,
    NoAudio,
    ProtocolError,
    ServerError,
    Timeout,
    WyomingError,
)
from .protocol import (
    CONTEXT_KEY,
    LENGTH_SCALE_KEY,
    MAX_LENGTH_SCALE,
    MIN_LENGTH_SCALE,
    PCM16K,
    AudioFormat,
    pace_context,
)

__all__ = [
    "CONTEXT_KEY",
    "LENGTH_SCALE_KEY",
    "MAX_LENGTH_SCALE",
    "MIN_LENGTH_SCALE",
    "PCM16K",
    "AudioFormat",
    "CannotConnect",
    "ConnectionClosed",
    "MalformedReply",
    "NoAudio",
    "ProtocolError",
    "ServerError",
    "Timeout",
    "Timeouts",
    "Timings",
    "Transcription",
    "WyomingClient",
    "WyomingError",
    "host_port",
    "pace_context",
    "parse",
]
