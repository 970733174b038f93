"""Health and system routes: ``/healthz``, ``/health`` (public), ``/api/server/*`` and ``/api/system/*``."""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from .. import __version__
from .deps import Manager
from .errors import envelope_error

ELIZAOS_COMPAT_VERSION = "1.7.2"

LOG_LEVELS = {
    "fatal": 60,
    "error": 50,
    "warn": 40,
    "info": 30,
    "log": 29,
    "progress": 28,
    "success": 27,
    "debug": 20,
    "trace": 10,
}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LogBuffer(logging.Handler):
    """The last ``capacity`` log records of the ``elizapy`` loggers, for ``GET /api/server/logs``."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self.entries: deque[dict[str, Any]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        level = {"CRITICAL": 60, "ERROR": 50, "WARNING": 40, "INFO": 30, "DEBUG": 20}.get(
            record.levelname, 30
        )
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        self.entries.append(
            {"time": int(record.created * 1000), "level": level, "msg": message[:2000], "logger": record.name}
        )


public = APIRouter(tags=["health"])
server = APIRouter(prefix="/api/server", tags=["server"])
system = APIRouter(prefix="/api/system", tags=["system"])


def _health(manager: Manager, *, with_count: bool) -> JSONResponse:
    count = len(manager.running())
    body: dict[str, Any] = {
        "status": "OK" if count else ("DEGRADED" if with_count else "OK"),
        "version": __version__,
        "timestamp": _now_iso(),
        "dependencies": {"agents": "healthy" if count else "no_agents"},
    }
    if with_count:
        body["agentCount"] = count
    return JSONResponse(body, status_code=200 if count else 503)


@public.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok", "timestamp": _now_iso()})


@public.get("/health", summary="Readiness: 503 while no agent runs")
async def health_public(manager: Manager) -> JSONResponse:
    return _health(manager, with_count=True)


@server.get("/ping", summary="Ping")
async def ping() -> JSONResponse:
    return JSONResponse({"pong": True, "timestamp": int(time.time() * 1000)})


@server.get("/hello", summary="Hello")
async def hello() -> JSONResponse:
    return JSONResponse({"message": "Hello World!"})


@server.get("/status", summary="Number of running agents")
async def status(manager: Manager) -> JSONResponse:
    return JSONResponse({"status": "ok", "agentCount": len(manager.running()), "timestamp": _now_iso()})


@server.get("/health", summary="Readiness: 503 while no agent runs")
async def health(manager: Manager) -> JSONResponse:
    return _health(manager, with_count=False)


@server.get("/debug/servers", summary="Message servers")
async def debug_servers(manager: Manager) -> JSONResponse:
    servers = [s.to_wire() for s in await manager.central.list_servers()]
    return JSONResponse({"success": True, "servers": servers, "count": len(servers)})


@server.get("/logs", summary="Recent server log lines")
@server.post(
    "/logs",
    summary="Recent server log lines (POST, as the ElizaOS client may send it)",
    operation_id="post_server_logs",
)
async def logs(
    request: Request, since: int | None = None, level: str = "all", limit: Annotated[int, Query(ge=1)] = 100
) -> JSONResponse:
    buffer: LogBuffer = request.app.state.log_buffer
    start = since if since is not None else int(time.time() * 1000) - 3_600_000
    wanted = LOG_LEVELS.get(level.lower(), LOG_LEVELS["info"]) if level.lower() != "all" else 0
    entries = [e for e in buffer.entries if e["time"] >= start and (not wanted or e["level"] == wanted)]
    limit = min(limit, 1000)
    return JSONResponse(
        {
            "logs": entries[-limit:],
            "count": len(entries[-limit:]),
            "total": len(buffer.entries),
            "requestedLevel": level,
            "agentName": "all",
            "agentId": "all",
            "levels": list(LOG_LEVELS),
        }
    )


@server.delete("/logs", summary="Clear the log buffer")
async def clear_logs(request: Request) -> JSONResponse:
    buffer: LogBuffer = request.app.state.log_buffer
    buffer.entries.clear()
    return JSONResponse({"status": "success", "message": "Logs cleared successfully"})


@system.get("/version", summary="Server version")
async def version(manager: Manager) -> JSONResponse:
    return JSONResponse(
        {
            "version": __version__,
            "source": "server",
            "timestamp": _now_iso(),
            "environment": "development",
            "uptime": time.monotonic() - manager.started_at,
            "implementation": "elizapy",
            "elizaosCompatibility": ELIZAOS_COMPAT_VERSION,
        }
    )


@system.get("/config", summary="Client configuration")
async def config() -> JSONResponse:
    return JSONResponse({"success": True, "data": {"requiresAuth": False}})


@system.get("/env/local", summary="Local environment (never exposed by this server)")
async def env_local() -> JSONResponse:
    # ElizaOS returns the server's .env here (secrets included); this server does not.
    return JSONResponse({"success": True, "data": {}})


@system.post("/env/local", summary="Edit the local environment (disabled)")
async def env_local_update() -> JSONResponse:
    raise envelope_error(403, "FORBIDDEN", "Local environment updates are disabled on this server")
