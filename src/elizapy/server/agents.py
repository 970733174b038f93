"""``/api/agents``: agent records and lifecycle, worlds, panels, logs and runs (``@elizaos/server`` 1.7.2).

Envelope ``{"success": true, "data": …}``; errors ``{"success": false, "error": {"code", "message"}}``.
Memories and rooms live in :mod:`.memory` (mounted here and under ``/api/memory``, as ElizaOS does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from ..character import load_character, parse_character
from ..errors import CharacterError
from ..types import World, create_unique_uuid, is_uuid, now_ms
from .deps import Manager, agent_id_or_400, running_agent
from .errors import envelope_error
from .manager import AGENT_RECORD_KEYS
from .schemas import CreateAgentBody, CreateWorldBody

router = APIRouter(prefix="/api/agents", tags=["agents"])

MAX_CHARACTER_FILE_BYTES = 1024 * 1024


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status)


def _first_bio(bio: object) -> str:
    if isinstance(bio, list):
        return str(bio[0]) if bio else ""
    return bio if isinstance(bio, str) else ""


def character_file(request: Request, given: str) -> Path:
    """Resolve a client-supplied ``characterPath`` inside the server's character folders only."""
    roots: list[Path] = request.app.state.character_dirs
    candidate = Path(given)
    options = [candidate] if candidate.is_absolute() else [root / candidate for root in roots]
    for option in options:
        for path in (option, option.with_name(option.name + ".json")):
            real = Path(os.path.realpath(path))
            if real.suffix.lower() != ".json" or not real.is_file():
                continue
            if not any(real.is_relative_to(os.path.realpath(root)) for root in roots):
                continue
            if real.stat().st_size > MAX_CHARACTER_FILE_BYTES:
                raise envelope_error(
                    400, "CREATE_ERROR", f"character file is larger than {MAX_CHARACTER_FILE_BYTES} bytes"
                )
            return real
    raise envelope_error(
        400, "CREATE_ERROR", f"character file not found in the server's character folders: {given}"
    )


@router.get("", summary="List agents")
async def list_agents(manager: Manager) -> JSONResponse:
    agents = []
    for record in await manager.records():
        name = record.get("name") if isinstance(record.get("name"), str) else ""
        agents.append(
            {
                "id": record["id"],
                "name": name,
                "characterName": name,
                "bio": _first_bio(record.get("bio")),
                "status": "active" if manager.is_running(record["id"]) else "inactive",
            }
        )
    agents.sort(key=lambda a: (a["status"] != "active", a["name"].casefold()))
    return ok({"agents": agents})


@router.get("/worlds", summary="Worlds of the first running agent")
async def list_worlds(manager: Manager) -> JSONResponse:
    running = manager.running()
    if not running:
        raise envelope_error(404, "NOT_FOUND", "No active agents found to get worlds")
    worlds = await running[0].store.rooms.list_worlds(agent_id=running[0].agent_id)
    return ok({"worlds": [w.to_wire() for w in worlds]})


@router.get("/{agent_id}", summary="Get an agent")
async def get_agent(agent_id: str, manager: Manager) -> JSONResponse:
    agent_id_or_400(agent_id)
    record = await manager.record(agent_id)
    if record is None:
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    return ok({**record, "status": "active" if manager.is_running(agent_id) else "inactive"})


@router.post("", summary="Create an agent from characterJson or characterPath", status_code=201)
async def create_agent(body: CreateAgentBody, request: Request, manager: Manager) -> JSONResponse:
    try:
        if body.characterJson is not None:
            loaded = parse_character(body.characterJson, source="characterJson")
        elif body.characterPath is not None:
            loaded = load_character(character_file(request, body.characterPath))
        elif body.agent is not None:
            loaded = parse_character(body.agent, source="agent")
        else:
            raise envelope_error(400, "CREATE_ERROR", "No character configuration provided")
    except CharacterError as exc:
        raise envelope_error(400, "CREATE_ERROR", str(exc), str(exc)) from None
    character, record = await manager.save_character(loaded.character)
    return ok({"id": record["id"], "character": character.to_wire()}, 201)


def _merge(current: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in updates.items():
        if key in ("settings", "secrets") and isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = {**merged[key], **value}
            if isinstance(value.get("secrets"), dict) and isinstance(merged[key].get("secrets"), dict):
                inner["secrets"] = {**merged[key]["secrets"], **value["secrets"]}
            merged[key] = inner
        else:
            merged[key] = value
    return merged


@router.patch("/{agent_id}", summary="Update an agent's character (a running agent restarts)")
async def update_agent(
    agent_id: str, manager: Manager, updates: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    agent_id_or_400(agent_id)
    record = await manager.record(agent_id)
    if record is None:
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    current = {k: v for k, v in record.items() if k not in AGENT_RECORD_KEYS}
    clean = {k: v for k, v in updates.items() if k not in AGENT_RECORD_KEYS and k != "id"}
    try:
        character = parse_character(_merge(current, clean), source="update").character
    except CharacterError as exc:
        raise envelope_error(400, "UPDATE_ERROR", str(exc), str(exc)) from None
    saved = await manager.update_record(agent_id, character)
    return ok({**saved, "status": "active" if manager.is_running(agent_id) else "inactive"})


@router.delete("/{agent_id}", summary="Delete an agent (stops it first)", status_code=204)
async def delete_agent(agent_id: str, manager: Manager) -> Response:
    agent_id_or_400(agent_id)
    if await manager.record(agent_id) is None:
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    await manager.delete(agent_id)
    return Response(status_code=204)


@router.post("/{agent_id}/start", summary="Start an agent")
async def start_agent(agent_id: str, manager: Manager) -> JSONResponse:
    agent_id_or_400(agent_id)
    record = await manager.record(agent_id)
    if record is None:
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    try:
        await manager.start(agent_id)
    except CharacterError as exc:
        raise envelope_error(500, "START_ERROR", "Error starting agent", str(exc)) from None
    return ok({"id": agent_id, "name": record.get("name"), "status": "active"})


@router.post("/{agent_id}/stop", summary="Stop a running agent")
async def stop_agent(agent_id: str, manager: Manager) -> JSONResponse:
    agent_id_or_400(agent_id)
    if not await manager.stop(agent_id):
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    return ok({"message": "Agent stopped"})


@router.post("/{agent_id}/worlds", summary="Create a world for a running agent", status_code=201)
async def create_world(agent_id: str, body: CreateWorldBody, manager: Manager) -> JSONResponse:
    runtime = running_agent(manager, agent_id)
    world_id = create_unique_uuid(runtime.agent_id, f"world-{now_ms()}")
    await runtime.store.rooms.create_world(
        World(
            id=world_id,
            name=body.name,
            agent_id=runtime.agent_id,
            message_server_id=body.messageServerId,
            metadata=body.metadata or {},
        )
    )
    world = await runtime.store.rooms.get_world(world_id)
    return ok({"world": world.to_wire() if world else None}, 201)


@router.get("/{agent_id}/panels", summary="Public GET routes of the agent's plugins")
async def panels(agent_id: str, manager: Manager) -> JSONResponse:
    runtime = running_agent(manager, agent_id)
    out = [
        {"name": r.name, "path": f"/api/agents/{agent_id}/plugins/{r.path.lstrip('/')}?agentId={agent_id}"}
        for r in runtime.routes
        if r.public and r.method.upper() == "GET" and r.name
    ]
    return ok(out)


@router.get("/{agent_id}/logs", summary="Stored logs of a running agent")
async def logs(
    agent_id: str,
    request: Request,
    manager: Manager,
    roomId: str | None = None,
    type: str | None = None,
    count: Annotated[int | None, Query(ge=0, le=5000)] = None,
    offset: Annotated[int | None, Query(ge=0)] = None,
    excludeTypes: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    runtime = running_agent(manager, agent_id)
    if roomId is not None and not is_uuid(roomId):
        raise envelope_error(400, "INVALID_ID", "Invalid room ID format")
    header = request.headers.get("x-entity-id")
    entity = header if is_uuid(header) else runtime.agent_id
    entries = await runtime.store.logs.list(
        entity_id=entity,
        room_id=roomId,
        type=type,
        count=count if count is not None else 100,
        offset=offset or 0,
    )
    excluded = set(excludeTypes or [])
    return ok([e.to_wire() for e in entries if e.type not in excluded])


@router.delete("/{agent_id}/logs/{log_id}", summary="Delete one log entry", status_code=204)
async def delete_log(agent_id: str, log_id: str, manager: Manager) -> Response:
    if not is_uuid(agent_id) or not is_uuid(log_id):
        raise envelope_error(400, "INVALID_ID", "Invalid agent or log ID format")
    runtime = running_agent(manager, agent_id)
    await runtime.store.logs.delete(log_id)
    return Response(status_code=204)


@router.get("/{agent_id}/runs", summary="Recent message runs of a running agent")
async def runs(
    agent_id: str,
    manager: Manager,
    roomId: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 20,
) -> JSONResponse:
    running_agent(manager, agent_id)
    if roomId is not None and not is_uuid(roomId):
        raise envelope_error(400, "INVALID_ID", "Invalid room ID format")
    limit = min(limit, 100)
    records = [r for r in manager.runs(agent_id) if roomId is None or r.room_id == roomId]
    if status in ("started", "completed", "timeout", "error"):
        records = [r for r in records if r.status == status]
    return ok(
        {
            "runs": [r.to_wire() for r in records[:limit]],
            "total": len(records),
            "hasMore": len(records) > limit,
        }
    )


@router.get("/{agent_id}/runs/{run_id}", summary="One run of a running agent")
async def run_detail(agent_id: str, run_id: str, manager: Manager) -> JSONResponse:
    if not is_uuid(agent_id) or not is_uuid(run_id):
        raise envelope_error(400, "INVALID_ID", "Invalid agent or run ID format")
    running_agent(manager, agent_id)
    for record in manager.runs(agent_id):
        if record.run_id == run_id:
            wire = record.to_wire()
            summary = {
                k: wire[k]
                for k in (
                    "runId",
                    "status",
                    "startedAt",
                    "endedAt",
                    "durationMs",
                    "messageId",
                    "roomId",
                    "entityId",
                    "counts",
                )
            }
            events = [
                {"type": "RUN_STARTED", "timestamp": record.started_at, "data": {}},
                {"type": "RUN_ENDED", "timestamp": record.ended_at, "data": {"status": record.status}},
            ]
            return ok({"summary": summary, "events": events})
    raise envelope_error(404, "NOT_FOUND", "Run not found")
