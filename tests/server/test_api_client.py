"""The official ``@elizaos/api-client`` 1.7.2 (run with node) against the server: a whole agent lifecycle."""

from __future__ import annotations

import json

from elizapy.types import string_to_uuid
from tests.server.conftest import ServerFactory, run_node

CHARACTER = {"name": "Grace", "bio": ["Grace answers questions."], "system": "Answer briefly."}


def test_api_client_drives_an_agent_from_creation_to_deletion(start_server: ServerFactory) -> None:
    live = start_server()
    out = run_node("api_client_flow.mjs", live.url, json.dumps(CHARACTER))

    assert [a["name"] for a in out["listBefore"]["agents"]] == ["Ada"]
    agent_id = string_to_uuid("Grace")
    assert out["created"]["id"] == agent_id
    assert out["created"]["character"]["name"] == "Grace"
    assert out["createdAgain"]["id"] == agent_id  # creating an existing name returns it
    assert out["getBeforeStart"]["status"] == "inactive"  # ... and does not start it
    assert out["started"] == {"id": agent_id, "name": "Grace", "status": "active"}
    statuses = {a["name"]: a["status"] for a in out["listRunning"]["agents"]}
    assert statuses == {"Ada": "active", "Grace": "active"}

    session = out["session"]
    assert session["agentId"] == agent_id and session["userId"] == out["userId"]
    # The default ("websocket") transport answers {success, userMessage, sessionStatus}: no "data" to unwrap.
    assert out["sendAsync"] == {"undefined": True}
    history = out["history"]["messages"]
    replies = [m for m in history if m["isAgent"]]
    assert [m["content"] for m in replies] == ["You said alpha42."]
    assert replies[0]["authorId"] == agent_id

    # "http" waits for the reply but the client's unwrapping loses it (as with ElizaOS); history has it.
    assert out["sendSync"] == {"undefined": True}
    texts = [m["content"] for m in out["historyAfterSync"]["messages"]]
    assert texts == ["You said beta7.", "please say beta7", "You said alpha42.", "please say alpha42"]

    channel_texts = [m["content"] for m in out["channelMessages"]["messages"]]
    assert channel_texts == texts
    memories = out["memories"]["memories"]
    memory_texts = {m["content"]["text"] for m in memories}
    assert {"please say alpha42", "You said alpha42.", "please say beta7", "You said beta7."} <= memory_texts
    assert all(m["agentId"] == agent_id for m in memories)
    assert {m["content"]["text"] for m in out["roomMemories"]["memories"]} == memory_texts
    assert any(r["channelId"] == session["channelId"] for r in out["rooms"]["rooms"])
    assert out["runs"]["total"] == 2 and {r["status"] for r in out["runs"]["runs"]} == {"completed"}

    assert out["dmChannel"]["type"] == "DM"
    assert out["currentServer"] == {"messageServerId": "00000000-0000-0000-0000-000000000000"}
    assert [s["id"] for s in out["servers"]["messageServers"]] == ["00000000-0000-0000-0000-000000000000"]
    assert session["channelId"] in {c["id"] for c in out["serverChannels"]["channels"]}
    assert out["ping"]["pong"] is True
    assert out["missingAgent"]["error"] == {"code": "NOT_FOUND", "message": "Agent not found", "status": 404}
    assert out["stopped"] == {"message": "Agent stopped"}
    assert out["stoppedAgain"]["error"]["status"] == 404  # stopping a stopped agent
    assert out["deleted"] == {"success": True}  # 204
    assert [a["name"] for a in out["listAfter"]["agents"]] == ["Ada"]
