"""The web chat at ``/`` in headless Chromium (playwright-core with the system browser): the official
``@elizaos/client`` 1.7.2 build served unmodified, and the built-in page served when it is absent."""

from __future__ import annotations

from pathlib import Path

from elizapy.server import ServerConfig
from tests.server.conftest import (
    LiveServer,
    ServerFactory,
    chromium_or_skip,
    official_client_dist,
    run_node,
)


def test_official_web_client_lists_agents_and_chats(start_server: ServerFactory, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    live = start_server(config=ServerConfig(ui_dir=official_client_dist(), character_dirs=(tmp_path,)))
    shot = tmp_path / "official.png"
    out = run_node(
        "official_client_flow.mjs",
        live.url,
        "Ada",
        "please say kappa5 to the official client",
        "You said kappa5.",
        str(shot),
        str(tmp_path / "profile"),
        chromium,
        timeout=120,
    )
    assert "failure" not in out, out
    assert out["listedAgent"] and out["joined"] and out["sawReply"] and out["sawOwnMessage"]
    assert "/chat/" in out["url"]
    assert out["pageErrors"] == [] and out["failedApiCalls"] == [], out
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_builtin_page_picks_an_agent_sends_and_shows_the_reply(
    shared_server: LiveServer, tmp_path: Path
) -> None:
    chromium = chromium_or_skip()
    shot = tmp_path / "chat.png"
    out = run_node(
        "browser_flow.mjs",
        shared_server.url,
        "Ada",
        "please say delta9 from the browser",
        "You said delta9.",
        str(shot),
        str(tmp_path / "profile"),
        chromium,
        timeout=90,
    )
    assert "failure" not in out, out
    assert out["title"] == "ElizaOS-Py chat"
    assert "Ada" in out["agents"]
    assert out["userBubbles"][-1] == "please say delta9 from the browser"
    assert out["agentBubbles"][-1] == "You said delta9."
    assert out["errors"] == []
    assert not [line for line in out["console"] if line.startswith(("error", "pageerror"))], out["console"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
