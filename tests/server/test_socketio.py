"""The official ``socket.io-client`` (4.8.1, as ``@elizaos/client`` 1.7.2 uses) chatting over Socket.IO."""

from __future__ import annotations

from typing import Any

from elizapy.types import string_to_uuid
from tests.server.conftest import LiveServer, run_node


def _events(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e["data"] for e in out["events"] if e["name"] == name]


def test_socket_client_joins_sends_and_receives_the_reply(shared_server: LiveServer) -> None:
    agent_id = string_to_uuid("Ada")
    out = run_node("socket_flow.mjs", shared_server.url, agent_id, "please say gamma3 over sockets")
    assert "timedOut" not in out and "connectError" not in out, out
    channel = out["channelId"]

    assert _events(out, "authenticated")[0]["entityId"] == out["userId"]
    joined = _events(out, "channel_joined")[0]
    assert joined["channelId"] == channel and joined["roomId"] == channel
    ack = _events(out, "messageAck")[0]
    assert ack["clientMessageId"] == out["clientMessageId"]
    assert ack["status"] == "received_by_server_and_processing"

    echo, reply = _events(out, "messageBroadcast")
    assert echo["senderId"] == out["userId"] and echo["text"] == "please say gamma3 over sockets"
    assert echo["clientMessageId"] == out["clientMessageId"] and echo["id"] == ack["messageId"]
    assert echo["channelId"] == channel
    assert reply["senderId"] == agent_id and reply["senderName"] == "Ada"
    assert reply["text"] == "You said gamma3." and reply["channelId"] == channel
    assert reply["source"] == "agent_response" and reply["actions"] == ["REPLY"]

    chunks = _events(out, "messageStreamChunk")
    assert len(chunks) > 2  # the model's tokens, as they came
    assert {c["messageId"] for c in chunks} == {reply["id"]}
    assert [c["index"] for c in chunks] == list(range(len(chunks)))
    assert "".join(c["chunk"] for c in chunks) == reply["text"]
    assert _events(out, "messageComplete")[0]["channelId"] == channel
    assert not _events(out, "messageError")

    stored = (
        shared_server.client().get(f"/api/messaging/channels/{channel}/messages").json()["data"]["messages"]
    )
    assert [m["content"] for m in stored] == ["You said gamma3.", "please say gamma3 over sockets"]


def test_socket_connection_needs_a_valid_entity_id(shared_server: LiveServer) -> None:
    assert run_node("socket_flow.mjs", "--refused", shared_server.url) == {
        "connected": False,
        "error": "Valid entityId required",
    }
    assert run_node("socket_flow.mjs", "--refused", shared_server.url, "not-a-uuid")["connected"] is False
