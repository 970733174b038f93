"""``/api/messaging``: message servers, channels, channel messages, and the agent-facing submit/ingest routes.

As ``@elizaos/server`` 1.7.2, these routes answer errors flat: ``{"success": false, "error": "message"}``.
Posting to a channel stores a central message and hands it to the channel's agents: in the background by
default (``transport: "websocket"``, replies arrive as Socket.IO ``messageBroadcast``), waiting for the reply
(``"http"``), or as server-sent events (``"sse"``). Sessions are in :mod:`.sessions`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ..types import ChannelType, ModelType, is_uuid
from .central import CentralMessage, Channel
from .deps import Manager
from .errors import flat_error
from .manager import AgentManager, AgentTurn
from .schemas import (
    AgentIdBody,
    ChannelMessageBody,
    CompleteBody,
    CreateChannelBody,
    CreateServerBody,
    IngestBody,
    SubmitBody,
    UpdateChannelBody,
)

router = APIRouter(prefix="/api/messaging", tags=["messaging"])


def ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, **extra, "data": data}, status_code=status)


def bus_message(msg: CentralMessage, server_id: str, author_name: str | None = None) -> dict[str, Any]:
    """A central message as ElizaOS puts it on its internal bus (and returns it as ``userMessage``)."""
    out = {
        "id": msg.id,
        "channel_id": msg.channel_id,
        "message_server_id": server_id,
        "author_id": msg.author_id,
        "content": msg.content,
        "created_at": msg.created_at,
        "source_type": msg.source_type,
        "raw_message": msg.raw_message,
        "metadata": msg.metadata,
        "author_display_name": author_name,
        "in_reply_to_message_id": msg.in_reply_to,
        "source_id": msg.source_id,
    }
    return {k: v for k, v in out.items() if v is not None}


def broadcast_payload(msg: CentralMessage, server_id: str, sender_name: str) -> dict[str, Any]:
    return {
        "id": msg.id,
        "senderId": msg.author_id,
        "senderName": sender_name,
        "text": msg.content,
        "channelId": msg.channel_id,
        "roomId": msg.channel_id,
        "messageServerId": server_id,
        "createdAt": msg.created_at,
        "source": msg.source_type,
    }


def gui_message(msg: CentralMessage) -> dict[str, Any]:
    """A central message as ``GET /channels/:id/messages`` lists it."""
    raw = msg.raw_message if isinstance(msg.raw_message, dict) else {}
    meta = dict(msg.metadata or {})
    for key in ("thought", "actions"):
        if raw.get(key) is not None:
            meta[key] = raw[key]
    if raw.get("attachments") is not None:
        meta["attachments"] = raw["attachments"]
    return {**msg.to_wire(), "metadata": meta, "created_at": msg.created_at, "updated_at": msg.updated_at}


def _channel_id_or_400(channel_id: str, message: str = "Invalid channelId") -> str:
    if not is_uuid(channel_id):
        raise flat_error(400, message)
    return channel_id


async def ensure_channel(
    manager: AgentManager,
    channel_id: str,
    server_id: str,
    author_id: str,
    metadata: dict[str, Any] | None,
    created_by: str,
) -> Channel:
    """The channel, auto-created (as the GUI and Socket.IO paths of ElizaOS do) when the server exists."""
    channel = await manager.central.get_channel(channel_id)
    if channel is not None:
        return channel
    if await manager.central.get_server(server_id) is None:
        raise flat_error(404, f"Server {server_id} does not exist")
    meta = metadata or {}
    is_dm = bool(meta.get("isDm")) or ChannelType.DM in (meta.get("channelType"), meta.get("channel_type"))
    participants = [author_id]
    other = meta.get("targetUserId") or meta.get("recipientId")
    if is_dm and isinstance(other, str) and is_uuid(other):
        participants.append(other)
    kind = ChannelType.DM if is_dm else ChannelType.GROUP
    return await manager.central.create_channel(
        channel_id=channel_id,
        server_id=server_id,
        name=f"{'DM' if is_dm else 'Chat'} {channel_id[:8]}",
        type=kind,
        source_type="auto_created",
        metadata={
            "created_by": created_by,
            "created_for_user": author_id,
            "channel_type": kind.value,
            **meta,
        },
        participants=participants,
    )


def sse_event(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _sse_turn(
    manager: AgentManager,
    agent_id: str,
    msg: CentralMessage,
    server_id: str,
    user_message: dict[str, Any],
    author_name: str | None,
    send: MemoryObjectSendStream[bytes],
) -> None:
    async def emit(event: str, data: Any) -> None:
        # A client that went away stops getting events; the turn goes on, its reply stored and broadcast.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await send.send(sse_event(event, data))

    await emit("user_message", user_message)
    if not manager.is_running(agent_id):
        await emit("error", {"error": f"Agent {agent_id} not found in registry"})
        return

    async def on_chunk(message_id: str, chunk: str, index: int) -> None:
        await emit("chunk", {"messageId": message_id, "chunk": chunk, "index": index})

    try:
        turn = await manager.turn(agent_id, msg, server_id, author_name=author_name, on_chunk=on_chunk)
    except Exception as exc:
        await emit("error", {"error": f"{type(exc).__name__}: {exc}"})
        return
    if turn.result.status == "error":
        await emit("error", {"error": turn.result.error or "run failed"})
    else:
        await emit("done", turn.response_content() or {})


def sse_response(
    manager: AgentManager,
    agent_id: str,
    msg: CentralMessage,
    server_id: str,
    user_message: dict[str, Any],
    author_name: str | None,
) -> StreamingResponse:
    """The "sse" transport: ``user_message``, then ``chunk`` events, then ``done`` (or ``error``)."""
    send, receive = anyio.create_memory_object_stream[bytes](64)

    async def run() -> None:
        async with send:
            await _sse_turn(manager, agent_id, msg, server_id, user_message, author_name, send)

    async def stream() -> AsyncIterator[bytes]:
        manager.spawn(run())
        async with receive:
            async for item in receive:
                yield item

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "Connection": "keep-alive"},
    )


async def http_turn(
    manager: AgentManager, agent_id: str, msg: CentralMessage, server_id: str, author_name: str | None
) -> AgentTurn:
    if not manager.is_running(agent_id):
        raise flat_error(404, f"Agent {agent_id} is not running")
    turn = await manager.turn(agent_id, msg, server_id, author_name=author_name)
    if turn.result.status == "error":
        raise flat_error(500, "Failed to process message in HTTP transport", turn.result.error)
    return turn


# --- agent-facing core ------------------------------------------------------------------------------------


@router.post("/submit", summary="Store and broadcast a message an agent wrote", status_code=201)
async def submit(body: SubmitBody, manager: Manager) -> JSONResponse:
    if body.messageId and await manager.central.get_message(body.messageId) is not None:
        raise flat_error(409, f"Message {body.messageId} already exists")
    msg = await manager.central.create_message(
        channel_id=body.channel_id,
        author_id=body.author_id,
        content=body.content,
        message_id=body.messageId,
        raw_message=body.raw_message,
        source_type=body.source_type,
        in_reply_to=body.in_reply_to_message_id,
        metadata=body.metadata,
    )
    meta = body.metadata or {}
    payload = broadcast_payload(msg, body.message_server_id, str(meta.get("agentName") or "Agent"))
    payload.update(
        serverId=body.message_server_id,
        thought=body.raw_message.get("thought"),
        actions=body.raw_message.get("actions"),
    )
    await manager.broadcaster.emit("messageBroadcast", payload, room=body.channel_id)
    return ok(msg.to_wire(), 201)


@router.post(
    "/ingest-external",
    summary="Store a message from an external platform and hand it to agents",
    status_code=202,
)
async def ingest_external(body: IngestBody, manager: Manager) -> JSONResponse:
    msg = await manager.central.create_message(
        channel_id=body.channel_id,
        author_id=body.author_id,
        content=body.content,
        raw_message=body.raw_message,
        source_type=body.source_type,
        source_id=body.source_id,
        in_reply_to=body.in_reply_to_message_id,
        metadata=body.metadata,
    )
    manager.dispatch(msg, body.message_server_id, author_name=body.author_display_name)
    await manager.broadcaster.emit(
        "messageBroadcast",
        broadcast_payload(msg, body.message_server_id, body.author_display_name or "User"),
        room=body.channel_id,
    )
    return JSONResponse(
        {"success": True, "message": "Message ingested and published to bus", "data": {"messageId": msg.id}},
        status_code=202,
    )


@router.post("/complete", summary="Tell a channel's clients that an agent finished answering")
async def complete(body: CompleteBody, manager: Manager) -> JSONResponse:
    await manager.broadcaster.emit(
        "messageComplete",
        {"channelId": body.channel_id, "roomId": body.channel_id, "messageServerId": body.message_server_id},
        room=body.channel_id,
    )
    return JSONResponse({"success": True})


# --- message servers --------------------------------------------------------------------------------------


@router.get("/message-server/current", summary="The id of this server's message server")
async def current_server(manager: Manager) -> JSONResponse:
    return ok({"messageServerId": manager.server_id})


@router.get("/message-servers", summary="List message servers")
async def list_servers(manager: Manager) -> JSONResponse:
    return ok({"messageServers": [s.to_wire() for s in await manager.central.list_servers()]})


@router.get("/central-servers", summary="List message servers (deprecated name)", deprecated=True)
async def list_servers_legacy(manager: Manager) -> JSONResponse:
    return ok({"servers": [s.to_wire() for s in await manager.central.list_servers()]})


@router.post("/message-servers", summary="Create a message server", status_code=201)
async def create_server(body: CreateServerBody, manager: Manager) -> JSONResponse:
    server = await manager.central.create_server(
        name=body.name, source_type=body.sourceType, source_id=body.sourceId, metadata=body.metadata
    )
    return ok({"server": server.to_wire()}, 201)


def _own_server(manager: AgentManager, server_id: str, action: str) -> None:
    if not is_uuid(server_id):
        raise flat_error(400, "Invalid messageServerId format")
    if server_id != manager.server_id:
        raise flat_error(403, f"Cannot {action} agents for a different server")


@router.get("/message-servers/{server_id}/agents", summary="Agents of this server's message server")
async def server_agents(server_id: str, manager: Manager) -> JSONResponse:
    _own_server(manager, server_id, "access")
    return ok({"messageServerId": server_id, "agents": await manager.central.server_agents(server_id)})


@router.post(
    "/message-servers/{server_id}/agents", summary="Add an agent to the message server", status_code=201
)
async def add_server_agent(server_id: str, body: AgentIdBody, manager: Manager) -> JSONResponse:
    _own_server(manager, server_id, "modify")
    await manager.central.add_server_agent(server_id, body.agentId)
    return ok(
        {
            "messageServerId": server_id,
            "agentId": body.agentId,
            "message": "Agent added to message server successfully",
        },
        201,
    )


@router.delete("/message-servers/{server_id}/agents/{agent_id}", summary="Remove an agent from the server")
async def remove_server_agent(server_id: str, agent_id: str, manager: Manager) -> JSONResponse:
    if not is_uuid(agent_id):
        raise flat_error(400, "Invalid messageServerId or agentId format")
    _own_server(manager, server_id, "modify")
    await manager.central.remove_server_agent(server_id, agent_id)
    return ok(
        {
            "messageServerId": server_id,
            "agentId": agent_id,
            "message": "Agent removed from message server successfully",
        }
    )


@router.get("/agents/{agent_id}/message-servers", summary="Message servers an agent belongs to")
async def agent_servers(agent_id: str, manager: Manager) -> JSONResponse:
    if not is_uuid(agent_id):
        raise flat_error(400, "Invalid agentId format")
    return ok({"agentId": agent_id, "messageServers": await manager.central.servers_for_agent(agent_id)})


@router.get("/message-servers/{server_id}/channels", summary="Channels of a message server")
async def server_channels(server_id: str, manager: Manager) -> JSONResponse:
    if not is_uuid(server_id):
        raise flat_error(400, "Invalid messageServerId")
    return ok({"channels": [c.to_wire() for c in await manager.central.channels_for_server(server_id)]})


# --- channels ---------------------------------------------------------------------------------------------


@router.post(
    "/channels/{channel_id}/messages",
    summary="Post a message to a channel",
    status_code=201,
    response_model=None,
)
async def post_channel_message(
    channel_id: str, body: ChannelMessageBody, manager: Manager
) -> JSONResponse | StreamingResponse:
    _channel_id_or_400(
        channel_id, "Missing required fields: channelId, message_server_id, author_id, content"
    )
    transport = body.transport or body.mode or "websocket"
    meta = body.metadata or {}
    await ensure_channel(
        manager, channel_id, body.message_server_id, body.author_id, body.metadata, "gui_auto_creation"
    )
    msg = await manager.central.create_message(
        channel_id=channel_id,
        author_id=body.author_id,
        content=body.content,
        raw_message=body.raw_message,
        metadata=body.metadata,
        source_type=body.source_type or "eliza_gui",
        in_reply_to=body.in_reply_to_message_id,
    )
    author_name = meta.get("user_display_name") if isinstance(meta.get("user_display_name"), str) else None
    user_message = bus_message(msg, body.message_server_id, author_name)
    participants = await manager.central.participants(channel_id)
    target = next((p for p in participants if p != body.author_id), None) or meta.get("targetAgentId")
    if not isinstance(target, str) or not is_uuid(target):
        raise flat_error(400, "No agent found in channel participants")
    if transport == "http":
        turn = await http_turn(manager, target, msg, body.message_server_id, author_name)
        return JSONResponse(
            {"success": True, "userMessage": user_message, "agentResponse": turn.response_content()},
            status_code=201,
        )
    if transport == "sse":
        return sse_response(manager, target, msg, body.message_server_id, user_message, author_name)
    manager.dispatch(msg, body.message_server_id, author_name=author_name)
    await manager.broadcaster.emit(
        "messageBroadcast",
        broadcast_payload(msg, body.message_server_id, author_name or "User"),
        room=channel_id,
    )
    return JSONResponse({"success": True, "userMessage": user_message}, status_code=201)


@router.get("/channels/{channel_id}/messages", summary="A channel's messages, newest first")
async def channel_messages(
    channel_id: str,
    manager: Manager,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[int | None, Query(ge=0)] = None,
) -> JSONResponse:
    _channel_id_or_400(channel_id)
    messages = await manager.central.messages(channel_id, limit=limit, before=before)
    return ok({"messages": [gui_message(m) for m in messages]})


@router.get("/dm-channel", summary="Find or create the DM channel of two users")
async def dm_channel(
    manager: Manager,
    targetUserId: str | None = None,
    currentUserId: str | None = None,
    dmServerId: str | None = None,
) -> JSONResponse:
    if not is_uuid(targetUserId) or not is_uuid(currentUserId):
        raise flat_error(400, "Missing targetUserId or currentUserId")
    assert targetUserId is not None and currentUserId is not None
    if targetUserId == currentUserId:
        raise flat_error(400, "Cannot create DM channel with oneself")
    server_id = manager.server_id
    if dmServerId is not None and is_uuid(dmServerId) and await manager.central.get_server(dmServerId):
        server_id = dmServerId
    channel = await manager.central.find_dm_channel(currentUserId, targetUserId, server_id)
    return ok(channel.to_wire())


@router.post("/channels", summary="Create a channel with participants", status_code=201)
async def create_channel(body: CreateChannelBody, manager: Manager) -> JSONResponse:
    if await manager.central.get_server(body.message_server_id) is None:
        raise flat_error(404, f"Server {body.message_server_id} does not exist")
    channel = await manager.central.create_channel(
        server_id=body.message_server_id,
        name=body.name,
        type=ChannelType(body.type),
        metadata=body.metadata or {},
        participants=body.participantCentralUserIds,
    )
    return ok(channel.to_wire(), 201)


async def _channel_or_404(manager: AgentManager, channel_id: str) -> Channel:
    channel = await manager.central.get_channel(channel_id)
    if channel is None:
        raise flat_error(404, "Channel not found")
    return channel


@router.get("/channels/{channel_id}/details", summary="One channel")
async def channel_details(channel_id: str, manager: Manager) -> JSONResponse:
    _channel_id_or_400(channel_id)
    return ok((await _channel_or_404(manager, channel_id)).to_wire())


@router.get("/channels/{channel_id}/participants", summary="Ids of a channel's participants")
async def channel_participants(channel_id: str, manager: Manager) -> JSONResponse:
    _channel_id_or_400(channel_id)
    return ok(await manager.central.participants(channel_id))


@router.post("/channels/{channel_id}/agents", summary="Add an agent to a channel", status_code=201)
async def add_channel_agent(channel_id: str, body: AgentIdBody, manager: Manager) -> JSONResponse:
    _channel_id_or_400(channel_id, "Invalid channelId or agentId format")
    await _channel_or_404(manager, channel_id)
    await manager.central.add_participants(channel_id, [body.agentId])
    return ok(
        {"channelId": channel_id, "agentId": body.agentId, "message": "Agent added to channel successfully"},
        201,
    )


@router.delete("/channels/{channel_id}/agents/{agent_id}", summary="Remove an agent from a channel")
async def remove_channel_agent(channel_id: str, agent_id: str, manager: Manager) -> JSONResponse:
    if not is_uuid(channel_id) or not is_uuid(agent_id):
        raise flat_error(400, "Invalid channelId or agentId format")
    await _channel_or_404(manager, channel_id)
    current = await manager.central.participants(channel_id)
    if agent_id not in current:
        raise flat_error(404, "Agent is not a participant in this channel")
    await manager.central.update_channel(channel_id, participants=[p for p in current if p != agent_id])
    return ok(
        {"channelId": channel_id, "agentId": agent_id, "message": "Agent removed from channel successfully"}
    )


@router.get("/channels/{channel_id}/agents", summary="A channel's participants")
async def channel_agents(channel_id: str, manager: Manager) -> JSONResponse:
    _channel_id_or_400(channel_id, "Invalid channelId format")
    return ok({"channelId": channel_id, "participants": await manager.central.participants(channel_id)})


@router.delete("/channels/{channel_id}/messages/{message_id}", summary="Delete one message", status_code=204)
async def delete_channel_message(channel_id: str, message_id: str, manager: Manager) -> Response:
    if not is_uuid(channel_id) or not is_uuid(message_id):
        raise flat_error(400, "Invalid channelId or messageId")
    msg = await manager.central.get_message(message_id)
    if msg is not None and msg.channel_id == channel_id:
        await manager.central.delete_message(message_id)
        await manager.broadcaster.emit(
            "messageDeleted", {"messageId": message_id, "channelId": channel_id}, room=channel_id
        )
    return Response(status_code=204)


@router.delete(
    "/channels/{channel_id}/messages", summary="Delete all of a channel's messages", status_code=204
)
async def clear_channel(channel_id: str, manager: Manager) -> Response:
    _channel_id_or_400(channel_id)
    await manager.central.clear_channel(channel_id)
    await manager.broadcaster.emit("channelCleared", {"channelId": channel_id}, room=channel_id)
    return Response(status_code=204)


@router.patch("/channels/{channel_id}", summary="Rename a channel, replace its participants or metadata")
async def update_channel(channel_id: str, body: UpdateChannelBody, manager: Manager) -> JSONResponse:
    _channel_id_or_400(channel_id)
    channel = await manager.central.update_channel(
        channel_id, name=body.name, metadata=body.metadata, participants=body.participantCentralUserIds
    )
    if channel is None:
        raise flat_error(404, "Channel not found")
    await manager.broadcaster.emit(
        "channelUpdated", {"channelId": channel_id, "updates": channel.to_wire()}, room=channel_id
    )
    return ok(channel.to_wire())


@router.delete("/channels/{channel_id}", summary="Delete a channel and its messages", status_code=204)
async def delete_channel(channel_id: str, manager: Manager) -> Response:
    _channel_id_or_400(channel_id)
    await manager.central.delete_channel(channel_id)
    await manager.broadcaster.emit("channelDeleted", {"channelId": channel_id}, room=channel_id)
    return Response(status_code=204)


TITLE_PROMPT = """Write a title of three to six words for the chat below. Name its subject plainly; no quotes,
no hashtags, no words like "chat" or "conversation". Answer with the title only.

{messages}
"""
_TAG = re.compile(r"<[^>]*>")


@router.post("/channels/{channel_id}/generate-title", summary="Ask an agent for a title for a channel")
async def generate_title(
    channel_id: str, body: AgentIdBody, manager: Manager, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> JSONResponse:
    _channel_id_or_400(channel_id, "Invalid channel ID format")
    runtime = manager.get(body.agentId)
    if runtime is None:
        raise flat_error(404, "Agent not found or not active")
    messages = await manager.central.messages(channel_id, limit=limit)
    if len(messages) < 4:
        return ok(
            {"title": None, "channelId": channel_id, "reason": "Not enough messages to generate a title"}
        )
    lines = [
        f"{'Agent' if m.author_id == runtime.agent_id else 'User'}: {m.content[:500]}"
        for m in reversed(messages)
    ]
    answer = await runtime.use_model(
        ModelType.TEXT_SMALL,
        {"prompt": TITLE_PROMPT.format(messages="\n".join(lines)), "temperature": 0.3, "maxTokens": 50},
    )
    title = next((ln.strip() for ln in _TAG.sub(" ", str(answer)).splitlines() if ln.strip()), "")
    title = title.strip("\"' ")[:80]
    if not title:
        raise flat_error(500, "Failed to summarize channel", "the model gave no title")
    return ok({"title": title, "channelId": channel_id})
