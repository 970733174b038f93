"""Hostile input: wrong types, huge and odd strings, unknown and malformed ids, invalid JSON, bad socket
payloads. Each gets a 4xx (naming the field where there is one) or a messageError; nothing crashes the server
or changes a stored conversation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from elizapy.types import string_to_uuid
from tests.server.conftest import LiveServer, run_node, serve

SERVER_ID = "00000000-0000-0000-0000-000000000000"
ADA = string_to_uuid("Ada")
UNKNOWN = str(uuid.uuid4())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = serve(tmp_path_factory.mktemp("hostile"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def conversation(server: LiveServer) -> dict[str, Any]:
    """A stored conversation that no hostile request may change."""
    c = server.client()
    user = str(uuid.uuid4())
    session = c.post("/api/messaging/sessions", json={"agentId": ADA, "userId": user}).json()
    for word in ("one", "two"):
        sent = c.post(
            f"/api/messaging/sessions/{session['sessionId']}/messages",
            json={"content": f"please say {word}", "transport": "http"},
        )
        assert sent.status_code == 201
    return {"user": user, **session}


def _snapshot(server: LiveServer, conversation: dict[str, Any]) -> tuple[Any, Any]:
    c = server.client()
    history = c.get(f"/api/messaging/sessions/{conversation['sessionId']}/messages").json()["messages"]
    memories = c.get(f"/api/agents/{ADA}/memories", params={"channelId": conversation["channelId"]}).json()
    return history, memories["data"]["memories"]


def _field_named(body: dict[str, Any], field: str) -> bool:
    """Whether an error body (any of the three ElizaOS error shapes) names ``field``."""
    error = body.get("error")
    if isinstance(error, str):  # flat: {"success": false, "error": "...", "details": [...]}
        message, details = error, body.get("details")
    else:  # envelope or session: {"error": {"message": "...", "details": ...}}
        message, details = error["message"], error.get("details")
    fields = [d.get("field") for d in details or [] if isinstance(d, dict)]
    return field in message or field in fields


def channel_post(channel: str, body: Any) -> tuple[str, str, Any]:
    return "POST", f"/api/messaging/channels/{channel}/messages", body


VALID = {"author_id": str(uuid.uuid4()), "content": "hi", "message_server_id": SERVER_ID}
FIELD_CASES: list[tuple[str, str, Any, str]] = [
    ("POST", "/api/agents", {"characterJson": "not an object"}, "characterJson"),
    ("POST", "/api/agents", {"characterJson": {"name": 5, "bio": []}}, "name"),
    ("POST", "/api/agents", {"characterJson": {"name": "X", "bio": "b", "settings": "s"}}, "settings"),
    ("POST", "/api/agents", {"characterPath": 12}, "characterPath"),
    ("POST", "/api/agents", {"characterPath": "x" * 5000}, "characterPath"),
    ("PATCH", f"/api/agents/{ADA}", {"bio": 42}, "bio"),
    ("PATCH", f"/api/agents/{ADA}", ["not", "an", "object"], "body"),
    (*channel_post(UNKNOWN, {**VALID, "author_id": "nope"}), "author_id"),
    (*channel_post(UNKNOWN, {**VALID, "content": 5}), "content"),
    (*channel_post(UNKNOWN, {**VALID, "content": ""}), "content"),
    (*channel_post(UNKNOWN, {**VALID, "content": "z" * 40_000}), "content"),
    (*channel_post(UNKNOWN, {**VALID, "message_server_id": 0}), "message_server_id"),
    (*channel_post(UNKNOWN, {**VALID, "metadata": ["a"]}), "metadata"),
    (*channel_post(UNKNOWN, {**VALID, "transport": "carrier-pigeon"}), "transport"),
    (*channel_post(UNKNOWN, {"content": "hi"}), "author_id"),
    ("POST", "/api/messaging/sessions", {"agentId": ADA, "userId": "me"}, "userId"),
    ("POST", "/api/messaging/sessions", {"agentId": ADA}, "userId"),
    (
        "POST",
        "/api/messaging/sessions",
        {"agentId": ADA, "userId": UNKNOWN, "metadata": {"k": "v" * 20_000}},
        "metadata",
    ),
    (
        "POST",
        "/api/messaging/channels",
        {"name": "n", "participantCentralUserIds": ["x"], "message_server_id": SERVER_ID},
        "participantCentralUserIds",
    ),
    ("POST", "/api/messaging/submit", {"channel_id": UNKNOWN}, "message_server_id"),
    ("GET", f"/api/messaging/channels/{UNKNOWN}/messages?limit=-1", None, "limit"),
    ("GET", f"/api/messaging/channels/{UNKNOWN}/messages?limit=abc", None, "limit"),
    ("GET", f"/api/agents/{ADA}/memories?tableName=drop%20table%3B", None, "tableName"),
]


@pytest.mark.parametrize(
    "method,path,body,field", FIELD_CASES, ids=[f"{m} {p[:40]} {f}" for m, p, _, f in FIELD_CASES]
)
def test_bad_bodies_get_a_400_naming_the_field(
    server: LiveServer, conversation: dict[str, Any], method: str, path: str, body: Any, field: str
) -> None:
    r = server.client().request(method, path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False if "sessions" not in path else "error" in r.json()
    assert _field_named(r.json(), field), r.json()


ID_CASES = [
    ("GET", "/api/agents/not-a-uuid", 400),
    ("POST", "/api/agents/1234/start", 400),
    ("GET", "/api/agents/..%2F..%2Fetc%2Fpasswd", 404),
    ("DELETE", "/api/agents/%00", 400),
    ("GET", f"/api/agents/{UNKNOWN}", 404),
    ("POST", f"/api/agents/{UNKNOWN}/start", 404),
    ("POST", f"/api/agents/{UNKNOWN}/stop", 404),
    ("DELETE", f"/api/agents/{UNKNOWN}", 404),
    ("PATCH", f"/api/agents/{UNKNOWN}", 404),
    ("GET", f"/api/agents/{UNKNOWN}/memories", 404),
    ("GET", f"/api/agents/{UNKNOWN}/logs", 404),
    ("GET", f"/api/memory/{UNKNOWN}/rooms", 404),
    ("GET", f"/api/agents/{ADA}/rooms/not-a-room", 400),
    ("GET", f"/api/agents/{ADA}/runs/{UNKNOWN}", 404),
    ("GET", "/api/messaging/channels/%27%3B--/messages", 400),
    ("GET", f"/api/messaging/channels/{UNKNOWN}/details", 404),
    ("GET", "/api/messaging/sessions/whatever", 404),
    ("POST", f"/api/messaging/sessions/{UNKNOWN}/messages", 404),
    ("DELETE", f"/api/messaging/sessions/{UNKNOWN}", 404),
]


@pytest.mark.parametrize("method,path,status", ID_CASES, ids=[f"{m} {p[:50]}" for m, p, _ in ID_CASES])
def test_unknown_and_malformed_ids(server: LiveServer, method: str, path: str, status: int) -> None:
    body = (
        {"content": "hi"}
        if path.endswith("/messages") and method == "POST"
        else ({"bio": "b"} if method == "PATCH" else None)
    )
    r = server.client().request(method, path, json=body)
    assert r.status_code == status, r.text


def test_invalid_json_huge_bodies_and_odd_text(server: LiveServer, conversation: dict[str, Any]) -> None:
    c = server.client()
    before = _snapshot(server, conversation)
    for raw in (b"{not json", b'{"content": "unterminated', b"\xff\xfe\x00", b"null", b"[1, 2"):
        r = c.post("/api/agents", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR", raw
    broken = c.post(
        f"/api/messaging/sessions/{conversation['sessionId']}/messages",
        content=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "JSON" in broken.json()["error"]["message"]

    huge = c.post(
        "/api/agents",
        content=b'{"characterJson": "' + b"a" * (3 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"content": "'
        for _ in range(40):
            yield b"b" * 65536
        yield b'"}'

    streamed = c.post(
        f"/api/messaging/sessions/{conversation['sessionId']}/messages",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    too_long = c.post(
        f"/api/messaging/sessions/{conversation['sessionId']}/messages", json={"content": "c" * 4001}
    )
    assert too_long.status_code == 400 and "content" in too_long.json()["error"]["message"]
    assert _snapshot(server, conversation) == before  # nothing above reached the conversation

    odd = "nul \x00, emoji 🙂, rtl \u202e, html <script>alert(1)</script>, sql '; DROP TABLE memories; --"
    user = str(uuid.uuid4())
    channel = c.post(
        "/api/messaging/channels",
        json={"name": "<b>odd</b>", "participantCentralUserIds": [user, ADA], "message_server_id": SERVER_ID},
    ).json()
    sent = c.post(
        f"/api/messaging/channels/{channel['data']['id']}/messages",
        json={
            "author_id": user,
            "content": odd,
            "message_server_id": SERVER_ID,
            "transport": "http",
            "metadata": {"nested": {"deep": [1, {"x": None}]}},
        },
    )
    assert sent.status_code == 201
    stored = c.get(f"/api/messaging/channels/{channel['data']['id']}/messages").json()["data"]["messages"]
    assert stored[-1]["content"] == odd and stored[-1]["metadata"]["nested"] == {"deep": [1, {"x": None}]}
    assert _snapshot(server, conversation) == before
    assert c.get("/api/server/ping").status_code == 200


def test_hostile_socket_payloads_get_errors_and_the_server_keeps_answering(
    server: LiveServer, conversation: dict[str, Any]
) -> None:
    before = _snapshot(server, conversation)
    out = run_node("socket_flow.mjs", "--hostile", server.url, ADA)
    assert "timedOut" not in out, out
    assert len(out["errors"]) == 18 and all(isinstance(e, str) and e for e in out["errors"])
    assert any("does not exist" in e for e in out["errors"])
    assert out["broadcasts"][-1] == {"senderId": ADA, "text": "You said survived."}
    assert _snapshot(server, conversation) == before


def test_agent_validation_errors_do_not_change_the_stored_agent(server: LiveServer) -> None:
    c = server.client()
    before = c.get(f"/api/agents/{ADA}").json()["data"]
    assert c.patch(f"/api/agents/{ADA}", json={"name": ""}).status_code == 400
    assert c.patch(f"/api/agents/{ADA}", json={"style": {"all": "not a list"}}).status_code == 400
    after = c.get(f"/api/agents/{ADA}").json()["data"]
    assert after == before and after["status"] == "active"
