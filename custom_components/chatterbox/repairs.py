"""A repair issue while an entry's own (preferred) server has been down for a long time.

A server that sleeps overnight (a workstation) is what fallbacks are for and raises nothing;
one gone for more than ``DOWN_FOR_REPAIR`` gets a repair issue naming it, removed as soon as it
answers again. Requests meanwhile go to the fallbacks.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

if TYPE_CHECKING:
    from .lib.chatterbox_wyoming.failover import Server

DOWN_FOR_REPAIR = timedelta(hours=24)


def issue_id(entry: ConfigEntry) -> str:
    """Return the id of the repair issue of ``entry``'s preferred server."""
    return f"preferred_server_down_{entry.entry_id}"


@callback
def check_preferred_server(hass: HomeAssistant, entry: ConfigEntry, server: Server) -> None:
    """Raise or clear the repair issue for ``server``, ``entry``'s preferred server."""
    down_since = server.health.down_since
    if down_since is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry))
        return
    down_for = time.time() - down_since
    if down_for < DOWN_FOR_REPAIR.total_seconds():
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="preferred_server_down",
        translation_placeholders={
            "server": server.name,
            "entry": entry.title,
            "hours": str(round(down_for / 3600)),
            "error": server.health.last_error or "",
        },
    )
