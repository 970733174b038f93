"""Envelopes, status codes and behaviours observed on the real ``@elizaos/server`` 1.7.2 (DESIGN.md §3)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from elizapy.server import ServerConfig
from elizapy.types import string_to_uuid
from tests.server.conftest import LiveServer, ServerFactory, character

SERVER_ID = "00000000-0000-0000-0000-000000000000"
ADA = string_to_uuid("Ada")


def _sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_agent_lifecycle_envelopes_and_statuses(start_server: ServerFactory) -> None:
    live = start_server(characters=[character("Ada"), character("Zed")])
    c = live.client()
    listed = c.get("/api/agents")
    assert listed.status_code == 200
    assert listed.json() == {
        "success": True,
        "data": {
            "agents": [
                {
                    "id": ADA,
                    "name": "Ada",
                    "characterName": "Ada",
                    "bio": "Ada is a test agent.",
                    "status": "active",
                },
                {
                    "id": string_to_uuid("Zed"),
                    "name": "Zed",
                    "characterName": "Zed",
                    "bio": "Zed is a test agent.",
                    "status": "active",
                },
            ]
        },
    }

    created = c.post("/api/agents", json={"characterJson": {"name": "Bea", "bio": "Bea is new."}})
    assert created.status_code == 201
    bea = string_to_uuid("Bea")
    assert created.json()["success"] is True and created.json()["data"]["id"] == bea
    assert created.json()["data"]["character"]["id"] == bea
    again = c.post("/api/agents", json={"characterJson": {"name": "Bea", "bio": "Different bio."}})
    assert again.status_code == 201 and again.json()["data"]["id"] == bea
    got = c.get(f"/api/agents/{bea}").json()["data"]
    assert got["status"] == "inactive" and got["bio"] == "Bea is new."  # the existing record is kept
    # Inactive agents sort after active ones.
    assert [a["name"] for a in c.get("/api/agents").json()["data"]["agents"]] == ["Ada", "Zed", "Bea"]

    for _ in range(2):  # starting a running agent answers the same
        started = c.post(f"/api/agents/{bea}/start")
        assert started.status_code == 200
        assert started.json() == {"success": True, "data": {"id": bea, "name": "Bea", "status": "active"}}
    stopped = c.post(f"/api/agents/{bea}/stop")
    assert stopped.status_code == 200 and stopped.json() == {
        "success": True,
        "data": {"message": "Agent stopped"},
    }
    again_stopped = c.post(f"/api/agents/{bea}/stop")
    assert again_stopped.status_code == 404
    assert again_stopped.json() == {
        "success": False,
        "error": {"code": "NOT_FOUND", "message": "Agent not found"},
    }

    patched = c.patch(f"/api/agents/{bea}", json={"bio": ["Bea was edited."], "settings": {"X": "1"}})
    assert patched.status_code == 200 and patched.json()["data"]["bio"] == ["Bea was edited."]
    assert c.get(f"/api/agents/{bea}").json()["data"]["settings"] == {"X": "1"}

    deleted = c.delete(f"/api/agents/{bea}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert c.delete(f"/api/agents/{bea}").status_code == 404
    assert c.get(f"/api/agents/{bea}").json()["error"]["code"] == "NOT_FOUND"

    assert c.get("/api/server/health").status_code == 200
    c.post(f"/api/agents/{ADA}/stop")
    c.post(f"/api/agents/{string_to_uuid('Zed')}/stop")
    health = c.get("/api/server/health")
    assert health.status_code == 503 and health.json()["dependencies"] == {"agents": "no_agents"}


def test_create_agent_from_a_character_path_inside_the_character_folders(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "chars").mkdir()
    (tmp_path / "chars" / "cleo.json").write_text(json.dumps({"name": "Cleo", "bio": "Cleo."}))
    live = start_server(config=ServerConfig(character_dirs=(tmp_path / "chars",)))
    c = live.client()
    for given in ("cleo.json", "cleo", str(tmp_path / "chars" / "cleo.json")):
        r = c.post("/api/agents", json={"characterPath": given})
        assert r.status_code == 201, r.text
        assert r.json()["data"]["id"] == string_to_uuid("Cleo")
    (tmp_path / "secret.json").write_text(json.dumps({"name": "Out", "bio": "outside"}))
    for given in ("../secret.json", str(tmp_path / "secret.json"), "/etc/passwd", "nope.json"):
        r = c.post("/api/agents", json={"characterPath": given})
        assert r.status_code == 400 and r.json()["error"]["code"] == "CREATE_ERROR", given
    assert string_to_uuid("Out") not in {a["id"] for a in c.get("/api/agents").json()["data"]["agents"]}


def test_sessions_api_bare_shapes(shared_server: LiveServer) -> None:
    c = shared_server.client()
    user = str(uuid.uuid4())
    missing = c.post("/api/messaging/sessions", json={"agentId": str(uuid.uuid4()), "userId": user})
    assert missing.status_code == 404
    body = missing.json()
    assert (
        set(body) == {"error"} and body["error"]["code"] == "AGENT_NOT_FOUND" and "timestamp" in body["error"]
    )

    created = c.post("/api/messaging/sessions", json={"agentId": ADA, "userId": user, "metadata": {"k": "v"}})
    assert created.status_code == 201
    session = created.json()
    assert set(session) == {
        "sessionId",
        "channelId",
        "agentId",
        "userId",
        "createdAt",
        "metadata",
        "expiresAt",
        "timeoutConfig",
    }
    assert session["metadata"] == {"k": "v"} and session["timeoutConfig"]["timeoutMinutes"] == 30
    sid = session["sessionId"]

    sent = c.post(
        f"/api/messaging/sessions/{sid}/messages", json={"content": "please say zeta8", "transport": "http"}
    )
    assert sent.status_code == 201
    reply = sent.json()
    assert set(reply) == {"success", "userMessage", "agentResponse", "sessionStatus"}  # no "data" envelope
    assert reply["userMessage"]["content"] == "please say zeta8" and reply["userMessage"]["author_id"] == user
    agent_response = reply["agentResponse"]
    assert {"thought", "actions", "providers", "text", "simple", "responseId", "inReplyTo"} <= set(
        agent_response
    )
    assert agent_response["text"] == "You said zeta8." and agent_response["actions"] == ["REPLY"]
    assert agent_response["simple"] is True
    assert set(reply["sessionStatus"]) == {"expiresAt", "renewalCount", "wasRenewed", "isNearExpiration"}

    history = c.get(f"/api/messaging/sessions/{sid}/messages").json()
    messages = history["messages"]
    assert [m["content"] for m in messages] == ["You said zeta8.", "please say zeta8"]  # newest first
    assert [m["isAgent"] for m in messages] == [True, False]
    assert messages[0]["id"] == agent_response["responseId"] and messages[0]["authorId"] == ADA
    assert set(messages[0]) == {"id", "content", "authorId", "isAgent", "createdAt", "metadata"}
    assert messages[0]["metadata"]["thought"] == "echo what was asked"
    assert history["hasMore"] is False
    assert history["cursors"]["before"] <= history["cursors"]["after"]
    only_newer = c.get(
        f"/api/messaging/sessions/{sid}/messages", params={"after": history["cursors"]["before"]}
    ).json()["messages"]
    assert [m["content"] for m in only_newer] == ["You said zeta8."]

    info = c.get(f"/api/messaging/sessions/{sid}").json()
    assert info["sessionId"] == sid and info["renewalCount"] == 1 and info["timeRemaining"] > 0
    assert c.post(f"/api/messaging/sessions/{sid}/heartbeat").json()["renewalCount"] == 2
    listed = c.get("/api/messaging/sessions").json()
    assert sid in {s["sessionId"] for s in listed["sessions"]} and listed["total"] == len(listed["sessions"])
    deleted = c.delete(f"/api/messaging/sessions/{sid}")
    assert deleted.json() == {"success": True, "message": f"Session {sid} deleted successfully"}
    gone = c.get(f"/api/messaging/sessions/{sid}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "SESSION_NOT_FOUND"


def test_channel_transports_http_and_sse(shared_server: LiveServer) -> None:
    c = shared_server.client()
    user = str(uuid.uuid4())
    channel = c.post(
        "/api/messaging/channels",
        json={"name": "transports", "participantCentralUserIds": [user, ADA], "message_server_id": SERVER_ID},
    ).json()["data"]
    assert channel["type"] == "GROUP" and channel["messageServerId"] == SERVER_ID
    base = {"author_id": user, "message_server_id": SERVER_ID, "metadata": {"user_display_name": "Tess"}}

    sync = c.post(
        f"/api/messaging/channels/{channel['id']}/messages",
        json={**base, "content": "please say eta1", "transport": "http"},
    )
    assert sync.status_code == 201
    assert sync.json()["agentResponse"]["text"] == "You said eta1."
    assert sync.json()["userMessage"]["author_display_name"] == "Tess"

    with c.stream(
        "POST",
        f"/api/messaging/channels/{channel['id']}/messages",
        json={**base, "content": "please say theta2", "mode": "stream"},
    ) as streamed:
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(streamed.read().decode())
    names = [e for e, _ in events]
    assert names[0] == "user_message" and names[-1] == "done" and set(names[1:-1]) == {"chunk"}
    chunks = [d for e, d in events if e == "chunk"]
    assert len(chunks) > 2 and "".join(d["chunk"] for d in chunks) == "You said theta2."
    assert [d["index"] for d in chunks] == list(range(len(chunks)))
    assert events[-1][1]["text"] == "You said theta2."

    default = c.post(f"/api/messaging/channels/{channel['id']}/messages", json={**base, "content": "hello"})
    assert default.status_code == 201 and set(default.json()) == {"success", "userMessage"}

    stored = c.get(f"/api/messaging/channels/{channel['id']}/messages").json()["data"]["messages"]
    assert [m["content"] for m in stored[-4:]] == [
        "You said theta2.",
        "please say theta2",
        "You said eta1.",
        "please say eta1",
    ]
    agent_msg = stored[-4]
    assert agent_msg["sourceType"] == "agent_response" and agent_msg["authorId"] == ADA
    assert agent_msg["metadata"]["actions"] == ["REPLY"] and isinstance(agent_msg["created_at"], int)

    lonely = c.post(
        "/api/messaging/channels",
        json={"name": "alone", "participantCentralUserIds": [user], "message_server_id": SERVER_ID},
    ).json()["data"]
    no_agent = c.post(f"/api/messaging/channels/{lonely['id']}/messages", json={**base, "content": "anyone?"})
    assert no_agent.status_code == 400
    assert no_agent.json() == {"success": False, "error": "No agent found in channel participants"}


def test_messaging_routes(shared_server: LiveServer) -> None:
    c = shared_server.client()
    user = str(uuid.uuid4())
    assert c.get("/api/messaging/message-server/current").json() == {
        "success": True,
        "data": {"messageServerId": SERVER_ID},
    }
    assert ADA in c.get(f"/api/messaging/message-servers/{SERVER_ID}/agents").json()["data"]["agents"]
    other = str(uuid.uuid4())
    forbidden = c.get(f"/api/messaging/message-servers/{other}/agents")
    assert forbidden.status_code == 403 and forbidden.json()["success"] is False
    dm = c.get("/api/messaging/dm-channel", params={"currentUserId": user, "targetUserId": ADA}).json()[
        "data"
    ]
    same = c.get("/api/messaging/dm-channel", params={"currentUserId": ADA, "targetUserId": user}).json()[
        "data"
    ]
    assert dm["id"] == same["id"] and dm["type"] == "DM"
    assert sorted(c.get(f"/api/messaging/channels/{dm['id']}/participants").json()["data"]) == sorted(
        [user, ADA]
    )
    assert (
        c.get("/api/messaging/dm-channel", params={"currentUserId": user, "targetUserId": user}).status_code
        == 400
    )

    submitted = c.post(
        "/api/messaging/submit",
        json={
            "channel_id": dm["id"],
            "message_server_id": SERVER_ID,
            "author_id": ADA,
            "content": "from elsewhere",
            "source_type": "agent_response",
            "raw_message": {"thought": "t"},
            "metadata": {"agentName": "Ada"},
        },
    )
    assert submitted.status_code == 201 and submitted.json()["data"]["content"] == "from elsewhere"
    ingested = c.post(
        "/api/messaging/ingest-external",
        json={
            "channel_id": dm["id"],
            "message_server_id": SERVER_ID,
            "author_id": user,
            "content": "external hi",
            "author_display_name": "Ext",
        },
    )
    assert (
        ingested.status_code == 202 and ingested.json()["message"] == "Message ingested and published to bus"
    )
    texts = [
        m["content"] for m in c.get(f"/api/messaging/channels/{dm['id']}/messages").json()["data"]["messages"]
    ]
    assert texts[-2:] == ["external hi", "from elsewhere"]

    renamed = c.patch(f"/api/messaging/channels/{dm['id']}", json={"name": "Renamed"})
    assert renamed.json()["data"]["name"] == "Renamed"
    assert c.delete(f"/api/messaging/channels/{dm['id']}").status_code == 204
    assert c.get(f"/api/messaging/channels/{dm['id']}/details").status_code == 404


def test_unknown_routes_docs_and_version(shared_server: LiveServer) -> None:
    c = shared_server.client()
    for method, path in (
        ("GET", "/api/nope"),
        ("POST", "/api/agents/worlds/extra/deep"),
        ("PUT", "/api/agents"),
    ):
        r = c.request(method, path)
        assert r.status_code == 404
        assert r.json() == {"success": False, "error": {"message": "API endpoint not found", "code": 404}}
    assert c.get("/docs").status_code == 200
    assert "/api/agents" in c.get("/openapi.json").json()["paths"]
    version = c.get("/api/system/version").json()
    assert version["source"] == "server" and version["elizaosCompatibility"] == "1.7.2"
    assert c.get("/api/server/ping").json()["pong"] is True
    assert c.get("/healthz").json()["status"] == "ok"
    page = c.get("/chat/some/spa/route")
    assert page.status_code == 200 and "<title>ElizaOS-Py chat</title>" in page.text
    assert c.get("/missing.js").status_code == 404


def test_memories_rooms_logs_and_runs(shared_server: LiveServer) -> None:
    c = shared_server.client()
    user = str(uuid.uuid4())
    sid = c.post("/api/messaging/sessions", json={"agentId": ADA, "userId": user}).json()
    c.post(
        f"/api/messaging/sessions/{sid['sessionId']}/messages",
        json={"content": "please say iota4", "transport": "http"},
    )
    by_agents = c.get(f"/api/agents/{ADA}/memories", params={"channelId": sid["channelId"]}).json()["data"]
    by_memory = c.get(f"/api/memory/{ADA}/memories", params={"channelId": sid["channelId"]}).json()["data"]
    assert by_agents == by_memory
    assert [m["content"]["text"] for m in by_agents["memories"]] == ["You said iota4.", "please say iota4"]
    assert all("embedding" not in m for m in by_agents["memories"])
    room_id = by_agents["memories"][0]["roomId"]
    room = c.get(f"/api/agents/{ADA}/rooms/{room_id}").json()["data"]
    assert (
        room["channelId"] == sid["channelId"]
        and room["type"] == "DM"
        and room["worldName"] == "Default Server"
    )
    memory_id = by_agents["memories"][1]["id"]
    assert (
        c.patch(f"/api/agents/{ADA}/memories/{memory_id}", json={"content": {"text": "edited"}}).json()[
            "data"
        ]["message"]
        == "Memory updated successfully"
    )
    texts = [
        m["content"]["text"]
        for m in c.get(f"/api/agents/{ADA}/rooms/{sid['channelId']}/memories").json()["data"]["memories"]
    ]
    assert texts == ["You said iota4.", "edited"]
    assert c.delete(f"/api/agents/{ADA}/memories/all/{room_id}").status_code == 204
    assert c.get(f"/api/agents/{ADA}/memories", params={"roomId": room_id}).json()["data"]["memories"] == []
    runs = c.get(f"/api/agents/{ADA}/runs", params={"roomId": room_id}).json()["data"]
    assert runs["total"] == 1 and runs["runs"][0]["counts"]["modelCalls"] >= 1
    run_id = runs["runs"][0]["runId"]
    assert c.get(f"/api/agents/{ADA}/runs/{run_id}").json()["data"]["summary"]["runId"] == run_id
    assert c.get(f"/api/agents/{ADA}/logs").json()["success"] is True
