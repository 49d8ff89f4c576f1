"""Caps that keep one client from hurting the others, and the reader that enforces them.

Documented caps (also listed in ``--help``):

- event header line: at most ``MAX_HEADER_BYTES`` (64 KiB); the connection's
  ``asyncio.StreamReader`` limit, so a longer line is never buffered.
- event data (``data_length``): at most ``MAX_DATA_BYTES`` (1 MiB).
- event payload (``payload_length``, e.g. one audio chunk): at most ``MAX_PAYLOAD_BYTES`` (1 MiB).
- audio format: rate ``MIN_RATE``..``MAX_RATE`` Hz, width 1..4 bytes, 1..``MAX_CHANNELS``
  channels, and every chunk a whole number of frames.
- one utterance: ``MAX_UTTERANCE_SECONDS`` (30 s) of 16 kHz mono audio is kept (1.9 MB, as float32);
  later audio is dropped, the kept part is transcribed and the cut is logged.
- text to speak: ``MAX_TTS_CHARS`` (10 000) characters per request or stream; more is an
  ``Error`` event.
- per-request pace: ``length_scale`` in ``MIN_LENGTH_SCALE``..``MAX_LENGTH_SCALE`` (given in
  a Synthesize/SynthesizeStart ``context`` as ``{"chatterbox": {"length_scale": x}}``: the keys
  ``CONTEXT_KEY`` and ``LENGTH_SCALE_KEY``).
- idle connection: closed after ``DEFAULT_IDLE_TIMEOUT`` seconds (``--idle-timeout``) without
  an event, or when the client reads none of our output for that long.

With these, one connection buffers at most one header line, one data block, one payload, one
capped utterance and one capped text. Writes wait for the client (``drain``), so a slow reader
cannot make the server queue audio without bound. Any violation answers that client with an
``Error`` event and closes its connection; every other client is unaffected.

Events are decoded by ``wyoming.event.async_read_event``; :class:`GuardedReader` only checks
the lengths that function asks to read before it reads them.
"""

from __future__ import annotations

import asyncio

from wyoming.audio import AudioFormat

KIB = 1024
MIB = 1024 * KIB
MAX_HEADER_BYTES = 64 * KIB
MAX_DATA_BYTES = 1 * MIB
MAX_PAYLOAD_BYTES = 1 * MIB
MAX_UTTERANCE_SECONDS = 30.0
MAX_TTS_CHARS = 10_000
DEFAULT_IDLE_TIMEOUT = 60.0
MIN_RATE = 1_000
MAX_RATE = 192_000
MAX_WIDTH = 4
MAX_CHANNELS = 8
CONTEXT_KEY = "chatterbox"  # our options in a Synthesize/SynthesizeStart event's context
LENGTH_SCALE_KEY = "length_scale"  # the per-request pace among them
MIN_LENGTH_SCALE = 0.25
MAX_LENGTH_SCALE = 4.0

LIMITS_HELP = (
    f"Limits: event header <= {MAX_HEADER_BYTES // KIB} KiB, event data <= "
    f"{MAX_DATA_BYTES // MIB} MiB, payload (one audio chunk) <= {MAX_PAYLOAD_BYTES // MIB} MiB, "
    f"audio {MIN_RATE}-{MAX_RATE} Hz, 1-{MAX_WIDTH} byte samples, 1-{MAX_CHANNELS} channels, "
    f"utterance <= {MAX_UTTERANCE_SECONDS:g} s (the rest is dropped), text to speak <= "
    f"{MAX_TTS_CHARS} characters, length scale {MIN_LENGTH_SCALE}-{MAX_LENGTH_SCALE}; a "
    "connection that sends no event or reads no output for --idle-timeout is closed."
)


class ClientError(Exception):
    """A client sent something this server refuses; answered with an ``Error`` event."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class LimitError(ValueError):
    """A client exceeded a documented cap (a ``ValueError``, as wyoming's reader expects)."""


class GuardedReader:
    """Wrap a connection's ``StreamReader`` for ``wyoming.event.async_read_event``.

    ``readline`` is bounded by the reader's own limit (``MAX_HEADER_BYTES``); ``readexactly``
    refuses lengths above the data/payload cap before buffering anything. The first violation
    is kept in ``violation`` so the handler can name it; ``eof`` tells a clean end of stream
    from a malformed event (both make ``async_read_event`` return ``None``).
    """

    def __init__(self, reader: asyncio.StreamReader, max_read: int = MAX_PAYLOAD_BYTES) -> None:
        self._reader = reader
        self._max_read = max_read
        self.violation: str | None = None
        self.eof = False

    async def readline(self) -> bytes:
        """Read one header line."""
        try:
            line = await self._reader.readline()
        except ValueError as err:  # the StreamReader limit was exceeded
            self.violation = f"event header longer than {MAX_HEADER_BYTES // KIB} KiB"
            raise LimitError(self.violation) from err
        if not line:
            self.eof = True
        return line

    async def readexactly(self, n: int) -> bytes:
        """Read a data block or payload of ``n`` bytes if ``n`` is within the cap."""
        if not isinstance(n, int) or isinstance(n, bool):
            self.violation = f"event length is not an integer: {n!r}"
            raise LimitError(self.violation)
        if n > self._max_read:
            self.violation = f"event data or payload of {n} bytes exceeds {self._max_read} bytes"
            raise LimitError(self.violation)
        return await self._reader.readexactly(n)

    def feed_eof(self) -> None:
        """Signal end of stream (used by ``AsyncEventHandler.stop``)."""
        self._reader.feed_eof()


def audio_format_error(fmt: AudioFormat) -> str | None:
    """Return why an audio format is unacceptable, or ``None`` if it is fine."""
    rate, width, channels = fmt.rate, fmt.width, fmt.channels
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (rate, width, channels)):
        return f"audio format needs integers: rate={rate!r} width={width!r} channels={channels!r}"
    if not MIN_RATE <= rate <= MAX_RATE:
        return f"audio rate {rate} Hz outside {MIN_RATE}..{MAX_RATE}"
    if not 1 <= width <= MAX_WIDTH:
        return f"audio sample width {width} outside 1..{MAX_WIDTH} bytes"
    if not 1 <= channels <= MAX_CHANNELS:
        return f"audio channels {channels} outside 1..{MAX_CHANNELS}"
    return None
