"""`chatterbox-describe`: ask a Wyoming server to Describe itself (health checks, discovery)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from wyoming.client import AsyncClient
from wyoming.info import Describe, Info


async def describe(uri: str, seconds: float) -> Info:
    """Connect to `uri`, send Describe and return the server's Info within `seconds`."""
    async with asyncio.timeout(seconds), AsyncClient.from_uri(uri) as client:
        await client.write_event(Describe().event())
        while (event := await client.read_event()) is not None:
            if Info.is_type(event.type):
                return Info.from_event(event)
    raise ConnectionError(f"{uri} closed the connection without answering Describe")


def run(argv: list[str] | None = None) -> None:
    """Exit 0 and print the Info as JSON when the server answers, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="chatterbox-describe", description=run.__doc__)
    parser.add_argument("--uri", default="tcp://127.0.0.1:10300", help="server to ask")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait in all")
    args = parser.parse_args(argv)
    try:
        info = asyncio.run(describe(args.uri, args.timeout))
    except (OSError, TimeoutError) as err:
        print(f"chatterbox-describe: {args.uri}: {err or type(err).__name__}", file=sys.stderr)
        raise SystemExit(1) from err
    print(json.dumps(info.event().data))


if __name__ == "__main__":
    run()
