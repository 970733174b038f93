"""A tiny MCP server (official SDK, stdio) with a deterministic weather tool, for examples/mcp/character.json.

Try it alone with any MCP client, e.g. ``python examples/mcp/weather_server.py`` started by the client.
"""

from __future__ import annotations

import hashlib

from mcp.server.mcpserver import MCPServer

server = MCPServer("weather", log_level="WARNING")
SKIES = ["sunny", "cloudy", "light rain", "windy", "snow"]


@server.tool()
def forecast(city: str, days: int = 1) -> str:
    """Weather forecast for a city, for 1 to 5 days (made-up but stable: the same city gives the same sky)."""
    days = max(1, min(days, 5))
    seed = int.from_bytes(hashlib.sha256(city.lower().encode()).digest()[:4], "big")
    lines = [f"day {d + 1}: {SKIES[(seed + d) % len(SKIES)]}, {(seed >> d) % 25 + 5}°C" for d in range(days)]
    return f"{city}: " + "; ".join(lines)


if __name__ == "__main__":
    server.run()
