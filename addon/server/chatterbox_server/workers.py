"""Worker threads for the blocking work (speech detection, transcription, synthesis).

Every thread runs at the priority the user gave the server (its nice value), never below it:
a home's CPU is shared with Home Assistant and other add-ons at normal priority, and speech
work that yields to them comes late (at nice +5 beside one busy process, a command's
transcript took ten times as long). The event loop stays quick without a priority of its own:
it only moves events, and a thread that sleeps as much as it does is scheduled first when it
wakes. The README's Performance section has the figures.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def worker_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """Return a pool of ``workers`` threads named ``name``, at the server's own priority."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name)
