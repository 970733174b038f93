"""An MCP server for the tests, written with the official SDK (stdio): one good tool, one that kills the
process, one that never answers. ``--fail-start`` exits before the handshake."""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("test-tools", log_level="WARNING")


@server.tool()
def forecast(city: str, days: int = 1) -> str:
    """Weather forecast for a city."""
    return f"{city}: sunny for {days} day(s)"


@server.tool()
def crash() -> str:
    """Kills the server process mid-call."""
    os._exit(3)


@server.tool()
async def stall() -> str:
    """Never answers."""
    await anyio.sleep_forever()
    return ""


@server.tool(name="pid")
def process_id() -> int:
    """The server's process id (tells a restarted server from the first one)."""
    return os.getpid()


if __name__ == "__main__":
    if "--fail-start" in sys.argv:
        print("refusing to start", file=sys.stderr)
        sys.exit(1)
    server.run()
