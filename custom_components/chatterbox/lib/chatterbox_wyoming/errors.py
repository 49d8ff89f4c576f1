"""Why a Wyoming request failed: the client core's exceptions."""

from __future__ import annotations


class WyomingError(Exception):
    """A request to a Wyoming server failed."""


class CannotConnect(WyomingError):
    """The server could not be reached (the OSError is the ``__cause__``)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"cannot connect to {host}:{port}")
        self.host = host
        self.port = port


class Timeout(WyomingError):
    """A deadline passed; ``stage`` is ``connect``, ``write`` or the request's read stage."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"no answer in time ({stage})")
        self.stage = stage


class ServerError(WyomingError):
    """The server answered with a Wyoming ``Error`` event."""

    def __init__(self, code: str | None, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class ProtocolError(WyomingError):
    """The server's side of the conversation broke off or made no sense."""


class ConnectionClosed(ProtocolError):
    """The connection closed or was reset before the answer was complete."""

    def __init__(self, message: str = "server closed the connection") -> None:
        super().__init__(message)


class MalformedReply(ProtocolError):
    """An event that could not be read or lacked its fields."""


class NoAudio(ProtocolError):
    """A synthesis ended without AudioStart or any audio."""

    def __init__(self) -> None:
        super().__init__("no audio")
