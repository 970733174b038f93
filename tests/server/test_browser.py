"""The web chat at ``/`` in headless Chromium (playwright-core with the system browser)."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import LiveServer, chromium_or_skip, run_node


def test_web_chat_picks_an_agent_sends_and_shows_the_reply(shared_server: LiveServer, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    shot = tmp_path / "chat.png"
    out = run_node("browser_flow.mjs", shared_server.url, "Ada", "please say delta9 from the browser",
                   "You said delta9.", str(shot), str(tmp_path / "profile"), chromium, timeout=90)
    assert "failure" not in out, out
    assert out["title"] == "ElizaOS-Py chat"
    assert "Ada" in out["agents"]
    assert out["userBubbles"][-1] == "please say delta9 from the browser"
    assert out["agentBubbles"][-1] == "You said delta9."
    assert out["errors"] == []
    assert not [line for line in out["console"] if line.startswith(("error", "pageerror"))], out["console"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
