"""``/api/messaging/sessions``: the sessions API of ``@elizaos/server`` 1.7.2.

A session is a DM channel between a user and a running agent, with an expiry that activity renews. As in
ElizaOS, sessions live in memory (a restart forgets them; their channels and messages stay stored), bodies
are bare (no ``data`` envelope) and errors read ``{"error": {"code", "message", "timestamp", …}}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..types import ChannelType, new_uuid
from .central import CentralMessage, iso
from .deps import Manager
from .errors import ApiError, session_error
from .messaging import bus_message, http_turn, sse_response
from .schemas import MAX_SESSION_METADATA_BYTES, CreateSessionBody, SessionMessageBody, TimeoutConfig

DEFAULT_TIMEOUT_MINUTES = 30.0
MIN_TIMEOUT_MINUTES = 5.0
MAX_TIMEOUT_MINUTES = 1440.0
DEFAULT_MAX_DURATION_MINUTES = 720.0
DEFAULT_WARNING_MINUTES = 5.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    id: str
    agent_id: str
    channel_id: str
    user_id: str
    metadata: dict[str, Any]
    created_at: int
    last_activity: int
    expires_at: int
    config: dict[str, Any]
    renewal_count: int = 0
    warned: bool = False

    def remaining(self, now: int) -> int:
        return max(0, self.expires_at - now)

    def near_expiration(self, now: int) -> bool:
        left = self.expires_at - now
        return bool(0 < left <= self.config["warningThresholdMinutes"] * 60_000)

    def info(self, now: int) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "channelId": self.channel_id,
            "agentId": self.agent_id,
            "userId": self.user_id,
            "createdAt": iso(self.created_at),
            "lastActivity": iso(self.last_activity),
            "metadata": self.metadata,
            "expiresAt": iso(self.expires_at),
            "timeoutConfig": self.config,
            "renewalCount": self.renewal_count,
            "timeRemaining": self.remaining(now),
            "isNearExpiration": self.near_expiration(now),
        }


def merged_config(requested: TimeoutConfig | None) -> dict[str, Any]:
    """Defaults overridden by the request, clamped as ElizaOS clamps them."""
    config: dict[str, Any] = {
        "timeoutMinutes": DEFAULT_TIMEOUT_MINUTES,
        "autoRenew": True,
        "maxDurationMinutes": DEFAULT_MAX_DURATION_MINUTES,
        "warningThresholdMinutes": DEFAULT_WARNING_MINUTES,
    }
    if requested is None:
        return config
    if requested.timeoutMinutes is not None:
        config["timeoutMinutes"] = max(
            MIN_TIMEOUT_MINUTES, min(MAX_TIMEOUT_MINUTES, requested.timeoutMinutes)
        )
    if requested.autoRenew is not None:
        config["autoRenew"] = requested.autoRenew
    if requested.maxDurationMinutes is not None:
        config["maxDurationMinutes"] = max(
            config["timeoutMinutes"], min(MAX_TIMEOUT_MINUTES * 2, requested.maxDurationMinutes)
        )
    if requested.warningThresholdMinutes is not None:
        config["warningThresholdMinutes"] = max(1.0, requested.warningThresholdMinutes)
    return config


@dataclass
class SessionRegistry:
    clock: Callable[[], float] = time.time
    sessions: dict[str, Session] = field(default_factory=dict)

    def now(self) -> int:
        return int(self.clock() * 1000)

    def expiry(self, s: Session) -> int:
        base = s.last_activity if s.config["autoRenew"] else s.created_at
        timeout = int(s.config["timeoutMinutes"] * 60_000)
        max_duration = int(s.config["maxDurationMinutes"] * 60_000)
        if self.now() - s.created_at + timeout > max_duration:
            return s.created_at + max_duration
        return base + timeout

    def renew(self, s: Session) -> bool:
        if not s.config["autoRenew"]:
            return False
        now = self.now()
        if now - s.created_at >= s.config["maxDurationMinutes"] * 60_000:
            return False
        s.last_activity = now
        s.renewal_count += 1
        s.expires_at = self.expiry(s)
        s.warned = False
        return True

    def live(self, session_id: str) -> Session:
        s = self.sessions.get(session_id)
        if s is None:
            raise session_error(404, "SESSION_NOT_FOUND", f"Session with ID '{session_id}' not found")
        if s.expires_at <= self.now():
            del self.sessions[session_id]
            raise session_error(
                410, "SESSION_EXPIRED", f"Session '{session_id}' expired at {iso(s.expires_at)}"
            )
        return s

    def prune(self) -> None:
        now = self.now()
        for sid in [sid for sid, s in self.sessions.items() if s.expires_at <= now]:
            del self.sessions[sid]


def get_registry(request: Request) -> SessionRegistry:
    registry: SessionRegistry = request.app.state.sessions
    return registry


Registry = Annotated[SessionRegistry, Depends(get_registry)]

router = APIRouter(prefix="/api/messaging/sessions", tags=["sessions"])


def _check_metadata(metadata: dict[str, Any] | None) -> None:
    if metadata and len(json.dumps(metadata)) > MAX_SESSION_METADATA_BYTES:
        raise session_error(
            400,
            "VALIDATION_ERROR",
            f"Invalid metadata: Metadata exceeds maximum size of {MAX_SESSION_METADATA_BYTES} bytes",
        )


@router.get("/health", summary="Session bookkeeping health")
async def health(registry: Registry, request: Request) -> JSONResponse:
    now = registry.now()
    live = [s for s in registry.sessions.values() if s.expires_at > now]
    return JSONResponse(
        {
            "status": "healthy",
            "activeSessions": len(live),
            "timestamp": iso(now),
            "expiringSoon": sum(1 for s in live if s.near_expiration(now)),
            "uptime": time.monotonic() - request.app.state.manager.started_at,
        }
    )


@router.post("", summary="Create a session with a running agent", status_code=201)
async def create_session(body: CreateSessionBody, registry: Registry, manager: Manager) -> JSONResponse:
    if not manager.is_running(body.agentId):
        raise session_error(404, "AGENT_NOT_FOUND", f"Agent with ID '{body.agentId}' not found")
    _check_metadata(body.metadata)
    if len(registry.sessions) >= MAX_SESSIONS:
        registry.prune()
        if len(registry.sessions) >= MAX_SESSIONS:
            raise session_error(503, "SESSION_CREATION_FAILED", "Failed to create session: too many sessions")
    config = merged_config(body.timeoutConfig)
    now = registry.now()
    session = Session(
        id=new_uuid(),
        agent_id=body.agentId,
        channel_id=new_uuid(),
        user_id=body.userId,
        metadata=body.metadata or {},
        created_at=now,
        last_activity=now,
        expires_at=now,
        config=config,
    )
    session.expires_at = registry.expiry(session)
    await manager.central.create_channel(
        channel_id=session.channel_id,
        server_id=manager.server_id,
        name=f"session-{session.id}",
        type=ChannelType.DM,
        metadata={
            "sessionId": session.id,
            "agentId": body.agentId,
            "userId": body.userId,
            "timeoutConfig": config,
            **(body.metadata or {}),
        },
        participants=[body.agentId],
    )
    registry.sessions[session.id] = session
    return JSONResponse(
        {
            "sessionId": session.id,
            "channelId": session.channel_id,
            "agentId": session.agent_id,
            "userId": session.user_id,
            "createdAt": iso(session.created_at),
            "metadata": session.metadata,
            "expiresAt": iso(session.expires_at),
            "timeoutConfig": config,
        },
        status_code=201,
    )


@router.get("", summary="Live sessions")
async def list_sessions(registry: Registry) -> JSONResponse:
    now = registry.now()
    live = [s.info(now) for s in registry.sessions.values() if s.expires_at > now]
    total = len(registry.sessions)
    return JSONResponse(
        {
            "sessions": live,
            "total": len(live),
            "stats": {
                "totalSessions": total,
                "activeSessions": len(live),
                "expiredSessions": total - len(live),
            },
        }
    )


@router.get("/{session_id}", summary="One session")
async def get_session(session_id: str, registry: Registry) -> JSONResponse:
    return JSONResponse(registry.live(session_id).info(registry.now()))


@router.post(
    "/{session_id}/messages", summary="Send a message in a session", status_code=201, response_model=None
)
async def send_message(
    session_id: str, body: SessionMessageBody, registry: Registry, manager: Manager
) -> JSONResponse | StreamingResponse:
    session = registry.live(session_id)
    _check_metadata(body.metadata)
    was_renewed = registry.renew(session)
    if not session.config["autoRenew"]:
        session.last_activity = registry.now()
    now = registry.now()
    if session.near_expiration(now):
        session.warned = True
    channel = await manager.central.get_channel(session.channel_id)
    metadata = {
        **((channel.metadata if channel else None) or {}),
        "sessionId": session.id,
        **(body.metadata or {}),
    }
    msg: CentralMessage = await manager.central.create_message(
        channel_id=session.channel_id,
        author_id=session.user_id,
        content=body.content,
        raw_message={"content": body.content, "attachments": body.attachments},
        source_type="user",
        metadata=metadata,
    )
    user_message = bus_message(msg, manager.server_id)
    status = {
        "sessionStatus": {
            "expiresAt": iso(session.expires_at),
            "renewalCount": session.renewal_count,
            "wasRenewed": was_renewed,
            "isNearExpiration": session.near_expiration(now),
        }
    }
    transport = body.transport or body.mode or "websocket"
    if transport == "http":
        try:
            turn = await http_turn(manager, session.agent_id, msg, manager.server_id, None)
        except ApiError as exc:
            code = "AGENT_NOT_FOUND" if exc.status == 404 else "MESSAGE_SEND_FAILED"
            raise session_error(
                exc.status,
                code,
                f"Failed to send message in session '{session_id}': {exc.message}",
                exc.details,
            ) from None
        return JSONResponse(
            {
                "success": True,
                "userMessage": user_message,
                "agentResponse": turn.response_content(),
                **status,
            },
            status_code=201,
        )
    if transport == "sse":
        return sse_response(manager, session.agent_id, msg, manager.server_id, user_message, None)
    manager.dispatch(msg, manager.server_id)
    return JSONResponse({"success": True, "userMessage": user_message, **status}, status_code=201)


def _timestamp(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise session_error(
            400, "VALIDATION_ERROR", f"Invalid pagination parameter '{name}': Must be a valid timestamp"
        ) from None


@router.get("/{session_id}/messages", summary="A session's messages, newest first")
async def session_messages(
    session_id: str,
    registry: Registry,
    manager: Manager,
    limit: Annotated[str | None, Query(max_length=16)] = None,
    before: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> JSONResponse:
    session = registry.live(session_id)
    count = DEFAULT_LIMIT
    if limit:
        try:
            count = max(1, min(MAX_LIMIT, int(limit)))
        except ValueError:
            count = DEFAULT_LIMIT
    before_ms, after_ms = _timestamp("before", before), _timestamp("after", after)
    central = manager.central
    if after_ms is not None and before_ms is None:
        newer = await central.messages(session.channel_id, limit=count * 20, after=after_ms)
        messages = sorted(newer, key=lambda m: m.created_at)[:count][::-1] if len(newer) > count else newer
    else:
        messages = await central.messages(session.channel_id, limit=count, before=before_ms, after=after_ms)
    out = []
    for m in messages:
        raw = m.raw_message if isinstance(m.raw_message, dict) else {}
        meta = {**(m.metadata or {}), "thought": raw.get("thought"), "actions": raw.get("actions")}
        out.append(
            {
                "id": m.id,
                "content": m.content,
                "authorId": m.author_id,
                "isAgent": m.source_type == "agent_response",
                "createdAt": iso(m.created_at),
                "metadata": {k: v for k, v in meta.items() if v is not None},
            }
        )
    body: dict[str, Any] = {"messages": out, "hasMore": len(messages) == count}
    if messages:
        body["cursors"] = {"before": messages[-1].created_at, "after": messages[0].created_at}
    return JSONResponse(body)


@router.post("/{session_id}/renew", summary="Renew a session now")
async def renew(session_id: str, registry: Registry) -> JSONResponse:
    session = registry.live(session_id)
    auto = session.config["autoRenew"]
    session.config["autoRenew"] = True
    renewed = registry.renew(session)
    session.config["autoRenew"] = auto
    if not renewed:
        raise session_error(
            400, "SESSION_RENEWAL_FAILED", f"Cannot renew session '{session_id}': Maximum duration reached"
        )
    return JSONResponse(session.info(registry.now()))


@router.patch("/{session_id}/timeout", summary="Change a session's timeout configuration")
async def update_timeout(session_id: str, body: TimeoutConfig, registry: Registry) -> JSONResponse:
    session = registry.live(session_id)
    minutes = body.timeoutMinutes
    if minutes is not None and not MIN_TIMEOUT_MINUTES <= minutes <= MAX_TIMEOUT_MINUTES:
        raise session_error(
            400,
            "VALIDATION_ERROR",
            f"Invalid timeout configuration: Timeout must be between "
            f"{MIN_TIMEOUT_MINUTES:g} and {MAX_TIMEOUT_MINUTES:g} minutes",
        )
    session.config = merged_config(body)
    session.expires_at = registry.expiry(session)
    return JSONResponse(session.info(registry.now()))


@router.post("/{session_id}/heartbeat", summary="Keep a session alive")
async def heartbeat(session_id: str, registry: Registry) -> JSONResponse:
    session = registry.live(session_id)
    session.last_activity = registry.now()
    if session.config["autoRenew"]:
        registry.renew(session)
    return JSONResponse(session.info(registry.now()))


@router.delete("/{session_id}", summary="End a session (its channel and messages stay)")
async def delete_session(session_id: str, registry: Registry) -> JSONResponse:
    if registry.sessions.pop(session_id, None) is None:
        raise session_error(404, "SESSION_NOT_FOUND", f"Session with ID '{session_id}' not found")
    return JSONResponse({"success": True, "message": f"Session {session_id} deleted successfully"})
