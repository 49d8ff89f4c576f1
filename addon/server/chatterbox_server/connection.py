"""What a per-connection session needs of the connection it serves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wyoming.event import Event


class Connection(Protocol):
    """The client's connection: its name for logs, a way to answer, a way to give up."""

    client: str

    async def write_event(self, event: Event) -> None:
        """Send an event to the client."""

    async def write_events(self, events: Sequence[Event]) -> None:
        """Send events to the client in one write."""

    async def error(self, code: str, text: str) -> None:
        """Send an Error event (best effort) and log it."""

    def close(self) -> None:
        """Close the connection."""
