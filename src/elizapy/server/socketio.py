"""Socket.IO at ``/socket.io/``, speaking ``@elizaos/server`` 1.7.2's protocol.

Clients connect with ``auth: {entityId}`` (a UUID; plus ``apiKey`` when the server has an auth token) and
send ``message`` events ``{type, payload}``: type 1 (ROOM_JOINING) joins a channel, type 2 (SEND_MESSAGE)
posts to one. The server answers ``authenticated``, ``connection_established``, ``channel_joined`` /
``room_joined``, ``messageBroadcast`` (the echo of the user's message, then each agent reply), ``messageAck``,
``messageStreamChunk``, ``messageComplete`` and ``messageError``. Anything malformed is answered with
``messageError`` and otherwise ignored; no payload can raise out of a handler.
"""

from __future__ import annotations

import logging
import random
import string
from typing import Any

import socketio

from ..types import is_uuid, now_ms
from .auth import key_matches
from .errors import ApiError
from .manager import AgentManager
from .messaging import ensure_channel
from .schemas import MAX_MESSAGE_CHARS, MAX_NAME_CHARS

log = logging.getLogger("elizapy.server.socketio")

ROOM_JOINING = 1
SEND_MESSAGE = 2
SEND_FIELDS_ERROR = (
    "For SEND_MESSAGE: channelId, messageServerId (message_server_id), senderId (author_id), "
    "and message are required."
)


class SocketBroadcaster:
    """The manager's :class:`~.manager.Broadcaster` over a Socket.IO server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(self, event: str, data: dict[str, Any], *, room: str | None = None) -> None:
        await self.sio.emit(event, data, room=room)


def _short_str(value: object, limit: int = MAX_NAME_CHARS) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _uuid_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and is_uuid(value) else None


class ElizaSocketServer:
    """Connection, join and send handlers; one per server."""

    def __init__(
        self, manager: AgentManager, *, auth_token: str | None, cors_origins: str | list[str] = "*"
    ) -> None:
        self.manager = manager
        self.auth_token = auth_token or None
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            cors_allowed_origins=cors_origins,
            max_http_buffer_size=1_000_000,
            ping_interval=25,
            ping_timeout=20,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self.on_connect)
        self.sio.on("message", self.on_message)
        self.sio.on(str(ROOM_JOINING), self.join)
        self.sio.on(str(SEND_MESSAGE), self.send)
        self.sio.on("subscribe_logs", self.on_subscribe_logs)
        self.sio.on("unsubscribe_logs", self.on_unsubscribe_logs)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        if self.auth_token is not None:
            presented = (
                auth.get("apiKey") if isinstance(auth.get("apiKey"), str) else environ.get("HTTP_X_API_KEY")
            )
            if not key_matches(presented, self.auth_token):
                raise socketio.exceptions.ConnectionRefusedError("Invalid or missing API Key")
        entity_id = auth.get("entityId")
        if not is_uuid(entity_id):
            raise socketio.exceptions.ConnectionRefusedError("Valid entityId required")
        await self.sio.save_session(sid, {"entityId": entity_id})
        await self.sio.emit("authenticated", {"entityId": entity_id, "timestamp": now_ms()}, to=sid)
        await self.sio.emit(
            "connection_established",
            {"message": "Connected to Eliza Socket.IO server", "socketId": sid},
            to=sid,
        )

    async def on_message(self, sid: str, data: Any = None) -> None:
        if not isinstance(data, dict) or "type" not in data or "payload" not in data:
            await self.error(sid, "Malformed message: expected {type, payload}")
            return
        kind = data["type"]
        if kind in (ROOM_JOINING, str(ROOM_JOINING)):
            await self.join(sid, data["payload"])
        elif kind in (SEND_MESSAGE, str(SEND_MESSAGE)):
            await self.send(sid, data["payload"])
        else:
            await self.error(sid, f"Unknown message type: {str(kind)[:32]}")

    async def error(self, sid: str, message: str) -> None:
        await self.sio.emit("messageError", {"error": message}, to=sid)

    async def join(self, sid: str, payload: Any = None) -> None:
        payload = payload if isinstance(payload, dict) else {}
        channel_id = _short_str(payload.get("channelId")) or _short_str(payload.get("roomId"))
        if channel_id is None:
            await self.error(sid, "channelId is required for joining.")
            return
        await self.sio.enter_room(sid, channel_id)
        response: dict[str, Any] = {
            "message": f"Socket {sid} successfully joined channel {channel_id}.",
            "channelId": channel_id,
            "roomId": channel_id,
        }
        agent_id = payload.get("agentId")
        if is_uuid(agent_id):
            response["agentId"] = agent_id
        await self.sio.emit("channel_joined", response, to=sid)
        await self.sio.emit("room_joined", response, to=sid)

    async def send(self, sid: str, payload: Any = None) -> None:
        try:
            await self._send(sid, payload if isinstance(payload, dict) else {})
        except ApiError as exc:
            await self.error(sid, exc.message)
        except Exception as exc:
            log.exception("SEND_MESSAGE from %s failed", sid)
            await self.error(sid, f"Error processing your message: {type(exc).__name__}")

    async def _send(self, sid: str, payload: dict[str, Any]) -> None:
        manager = self.manager
        channel_id = _uuid_or_none(payload.get("channelId") or payload.get("roomId"))
        server_id = _uuid_or_none(payload.get("messageServerId"))
        sender_id = _uuid_or_none(payload.get("senderId"))
        message = payload.get("message")
        if (
            channel_id is None
            or server_id is None
            or sender_id is None
            or not isinstance(message, str)
            or not message
        ):
            await self.error(sid, SEND_FIELDS_ERROR)
            return
        if len(message) > MAX_MESSAGE_CHARS:
            await self.error(sid, f"message is longer than {MAX_MESSAGE_CHARS} characters")
            return
        metadata = payload.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            await self.error(sid, "metadata must be an object")
            return
        sender_name = _short_str(payload.get("senderName"))
        source = _short_str(payload.get("source")) or "socketio_client"
        client_message_id = _short_str(payload.get("messageId"), 128)
        attachments = payload.get("attachments") if isinstance(payload.get("attachments"), list) else None
        await ensure_channel(manager, channel_id, server_id, sender_id, metadata, "socketio_auto_creation")
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
        msg = await manager.central.create_message(
            channel_id=channel_id,
            author_id=sender_id,
            content=message,
            raw_message=dict(payload),
            source_type=source,
            source_id=client_message_id or f"socketio-{now_ms()}-{suffix}",
            metadata={
                **(metadata or {}),
                "user_display_name": sender_name,
                "socket_id": sid,
                "messageServerId": server_id,
                "attachments": attachments,
            },
        )
        broadcast = {
            "id": msg.id,
            "senderId": sender_id,
            "senderName": sender_name or "User",
            "text": message,
            "channelId": channel_id,
            "roomId": channel_id,
            "messageServerId": server_id,
            "createdAt": msg.created_at,
            "source": source,
            "attachments": attachments,
        }
        await self.sio.emit("messageBroadcast", broadcast, room=channel_id, skip_sid=sid)
        await self.sio.emit("messageBroadcast", {**broadcast, "clientMessageId": client_message_id}, to=sid)
        await self.sio.emit(
            "messageAck",
            {
                "clientMessageId": client_message_id,
                "messageId": msg.id,
                "status": "received_by_server_and_processing",
                "channelId": channel_id,
                "roomId": channel_id,
            },
            to=sid,
        )
        manager.dispatch(msg, server_id, author_name=sender_name)

    async def on_subscribe_logs(self, sid: str, *args: Any) -> None:
        await self.sio.emit(
            "log_subscription_confirmed",
            {"subscribed": True, "message": "Successfully subscribed to log stream"},
            to=sid,
        )

    async def on_unsubscribe_logs(self, sid: str, *args: Any) -> None:
        await self.sio.emit(
            "log_subscription_confirmed",
            {"subscribed": False, "message": "Successfully unsubscribed from log stream"},
            to=sid,
        )
