"""An agent's memories and rooms, mounted under ``/api/agents`` and ``/api/memory`` (as ElizaOS mounts them).

Only running agents are reachable (404 otherwise), and only their own memories can be changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ..types import (
    ChannelType,
    Content,
    Memory,
    MemoryMetadata,
    Room,
    World,
    create_unique_uuid,
    is_uuid,
    now_ms,
)
from .deps import Manager, running_agent
from .errors import envelope_error
from .schemas import CreateRoomBody, UpdateMemoryBody

TABLES = ("messages", "documents", "fragments", "facts", "descriptions", "knowledge")
"""Memory tables cleared by ``DELETE /:agentId/memories``."""
MAX_LISTED = 10_000

TableName = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_:-]+$")]


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status)


def _wire(memory: Memory, with_embedding: bool) -> dict[str, Any]:
    out = memory.to_wire()
    if not with_embedding:
        out.pop("embedding", None)
    return out


def _entity(request: Request) -> str | None:
    header = request.headers.get("x-entity-id")
    return header if is_uuid(header) else None


def memory_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["memory"])

    @router.get(
        "/{agent_id}/rooms/{channel_id}/memories", summary="Memories of the room mapped from a channel"
    )
    async def room_memories(
        agent_id: str,
        channel_id: str,
        request: Request,
        manager: Manager,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        before: int | None = None,
        includeEmbedding: str | None = None,
        tableName: TableName = "messages",
    ) -> JSONResponse:
        if not is_uuid(agent_id) or not is_uuid(channel_id):
            raise envelope_error(400, "INVALID_ID", "Invalid agent ID or channel ID format")
        runtime = running_agent(manager, agent_id)
        room_id = create_unique_uuid(runtime.agent_id, channel_id)
        with_embedding = includeEmbedding == "true"
        memories = await runtime.store.memories.list(
            table=tableName,
            room_id=room_id,
            count=limit,
            end=before if before is not None else now_ms(),
            entity_id=_entity(request),
            with_embeddings=with_embedding,
        )
        return ok({"memories": [_wire(m, with_embedding) for m in memories]})

    @router.get("/{agent_id}/memories", summary="An agent's memories (optionally of one channel or room)")
    async def agent_memories(
        agent_id: str,
        request: Request,
        manager: Manager,
        tableName: TableName = "messages",
        includeEmbedding: str | None = None,
        channelId: str | None = None,
        roomId: str | None = None,
    ) -> JSONResponse:
        runtime = running_agent(manager, agent_id, invalid="Invalid agent ID")
        room_id = None
        if channelId:
            if not is_uuid(channelId):
                raise envelope_error(400, "INVALID_ID", "Invalid channel ID format")
            room_id = create_unique_uuid(runtime.agent_id, channelId)
        elif roomId:
            if not is_uuid(roomId):
                raise envelope_error(400, "INVALID_ID", "Invalid room ID format")
            room_id = roomId
        with_embedding = includeEmbedding == "true"
        memories = await runtime.store.memories.list(
            table=tableName,
            room_id=room_id,
            agent_id=runtime.agent_id,
            entity_id=_entity(request),
            count=MAX_LISTED,
            with_embeddings=with_embedding,
        )
        return ok({"memories": [_wire(m, with_embedding) for m in memories]})

    @router.patch("/{agent_id}/memories/{memory_id}", summary="Update a memory's content or metadata")
    async def update_memory(
        agent_id: str, memory_id: str, body: UpdateMemoryBody, manager: Manager
    ) -> JSONResponse:
        if not is_uuid(agent_id) or not is_uuid(memory_id):
            raise envelope_error(400, "INVALID_ID", "Invalid agent ID or memory ID format")
        runtime = running_agent(manager, agent_id)
        current = await runtime.store.memories.get(memory_id)
        if current is None or current.agent_id != runtime.agent_id:
            raise envelope_error(404, "NOT_FOUND", "Memory not found")
        try:
            content = Content.model_validate(body.content) if body.content is not None else None
            metadata = MemoryMetadata.model_validate(body.metadata) if body.metadata is not None else None
        except ValueError as exc:
            raise envelope_error(400, "UPDATE_ERROR", "Failed to update memory", str(exc)) from None
        await runtime.store.memories.update(memory_id, content=content, metadata=metadata)
        return ok({"id": memory_id, "message": "Memory updated successfully"})

    @router.delete("/{agent_id}/memories", summary="Delete all of an agent's memories")
    async def clear_memories(agent_id: str, manager: Manager) -> JSONResponse:
        runtime = running_agent(manager, agent_id, invalid="Invalid agent ID")
        ids: list[str] = []
        for table in TABLES:
            ids += [
                m.id
                for m in await runtime.store.memories.list(table=table, agent_id=runtime.agent_id)
                if m.id is not None
            ]
        await runtime.store.memories.delete_many(ids)
        return ok({"deleted": len(ids), "message": "All agent memories cleared successfully"})

    @router.delete(
        "/{agent_id}/memories/all/{room_id}",
        summary="Delete a room's messages and documents",
        status_code=204,
    )
    async def clear_room(agent_id: str, room_id: str, manager: Manager) -> Response:
        runtime = running_agent(manager, agent_id, invalid="Invalid agent ID")
        if not is_uuid(room_id):
            raise envelope_error(400, "INVALID_ID", "Invalid room ID")
        room = await runtime.store.rooms.get_room(room_id)
        if room is not None and room.agent_id not in (None, runtime.agent_id):
            raise envelope_error(404, "NOT_FOUND", "Room not found")
        await runtime.store.memories.delete_all(room_id, "messages")
        await runtime.store.memories.delete_all(room_id, "documents")
        return Response(status_code=204)

    @router.delete("/{agent_id}/memories/{memory_id}", summary="Delete one memory")
    async def delete_memory(agent_id: str, memory_id: str, manager: Manager) -> JSONResponse:
        if not is_uuid(agent_id) or not is_uuid(memory_id):
            raise envelope_error(400, "INVALID_ID", "Invalid agent ID or memory ID format")
        runtime = running_agent(manager, agent_id)
        current = await runtime.store.memories.get(memory_id)
        if current is not None and current.agent_id == runtime.agent_id:
            await runtime.store.memories.delete(memory_id)
        return ok({"message": "Memory deleted successfully"})

    @router.post("/{agent_id}/rooms", summary="Create a room for a running agent", status_code=201)
    async def create_room(agent_id: str, body: CreateRoomBody, manager: Manager) -> JSONResponse:
        runtime = running_agent(manager, agent_id)
        stamp = now_ms()
        room_id = create_unique_uuid(runtime.agent_id, f"room-{stamp}-{body.name}")
        world_id = body.worldId
        if world_id is None:
            world_id = create_unique_uuid(runtime.agent_id, f"world-{stamp}-{body.name}")
            await runtime.store.rooms.create_world(
                World(
                    id=world_id,
                    name=f"World for {body.name}",
                    agent_id=runtime.agent_id,
                    message_server_id=body.messageServerId,
                    metadata=body.metadata or {},
                )
            )
        await runtime.store.rooms.create_rooms(
            [
                Room(
                    id=room_id,
                    name=body.name,
                    agent_id=runtime.agent_id,
                    source=body.source,
                    type=ChannelType(body.type),
                    channel_id=room_id,
                    message_server_id=body.messageServerId,
                    world_id=world_id,
                    metadata=body.metadata,
                )
            ]
        )
        await runtime.store.rooms.add_participants([runtime.agent_id], room_id)
        await runtime.store.rooms.set_participant_state(room_id, runtime.agent_id, "FOLLOWED")
        data = {
            "id": room_id,
            "name": body.name,
            "agentId": runtime.agent_id,
            "createdAt": stamp,
            "source": body.source,
            "type": ChannelType(body.type).value,
            "worldId": world_id,
            "messageServerId": body.messageServerId,
            "metadata": body.metadata,
        }
        return ok({k: v for k, v in data.items() if v is not None}, 201)

    @router.get("/{agent_id}/rooms", summary="Rooms a running agent takes part in")
    async def list_rooms(agent_id: str, manager: Manager) -> JSONResponse:
        runtime = running_agent(manager, agent_id)
        ids = await runtime.store.rooms.rooms_for_participant(runtime.agent_id)
        rooms = await runtime.store.rooms.get_rooms(ids) if ids else []
        return ok({"rooms": [r.to_wire() for r in rooms]})

    @router.get("/{agent_id}/rooms/{room_id}", summary="One room, with its world's name")
    async def get_room(agent_id: str, room_id: str, manager: Manager) -> JSONResponse:
        if not is_uuid(agent_id) or not is_uuid(room_id):
            raise envelope_error(400, "INVALID_ID", "Invalid agent ID or room ID format")
        runtime = running_agent(manager, agent_id)
        room = await runtime.store.rooms.get_room(room_id)
        if room is None:
            raise envelope_error(404, "NOT_FOUND", "Room not found")
        data = room.to_wire()
        if room.world_id:
            world = await runtime.store.rooms.get_world(room.world_id)
            if world is not None and world.name:
                data["worldName"] = world.name
        return ok(data)

    return router
