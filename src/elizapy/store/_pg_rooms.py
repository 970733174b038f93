"""Worlds, rooms and room participants for :class:`~elizapy.store.postgres.PostgresStore`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from ..types import UUID, Room, World, now_ms
from ._pg_db import PgDb, Row, jsonb_or_none
from .base import ParticipantState

_WORLD = "SELECT id, agent_id, name, message_server_id, metadata FROM worlds"
_ROOM = (
    "SELECT id, agent_id, source, type, channel_id, message_server_id, world_id, name, metadata FROM rooms"
)


def _to_world(row: Row) -> World:
    return World(id=row[0], agent_id=row[1], name=row[2], message_server_id=row[3], metadata=row[4])


def _to_room(row: Row) -> Room:
    return Room(
        id=row[0], agent_id=row[1], source=row[2], type=row[3], channel_id=row[4], message_server_id=row[5],
        world_id=row[6], name=row[7], metadata=row[8],
    )


class PgRoomStore:
    def __init__(self, db: PgDb) -> None:
        self._db = db

    # --- worlds -----------------------------------------------------------------------------------------

    async def create_world(self, world: World) -> UUID:
        """Inserts; an existing world with that id is left untouched."""
        await self._db.run(
            "INSERT INTO worlds (id, agent_id, name, message_server_id, metadata, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                world.id, world.agent_id, world.name, world.message_server_id, jsonb_or_none(world.metadata),
                now_ms(),
            ),
        )
        return world.id

    async def get_world(self, world_id: UUID) -> World | None:
        row = await self._db.one(f"{_WORLD} WHERE id = %s", (world_id,))
        return None if row is None else _to_world(row)

    async def list_worlds(self, *, agent_id: UUID | None = None) -> list[World]:
        """Oldest first (creation order)."""
        if agent_id is None:
            rows = await self._db.all(f"{_WORLD} ORDER BY created_at, seq")
        else:
            rows = await self._db.all(f"{_WORLD} WHERE agent_id = %s ORDER BY created_at, seq", (agent_id,))
        return [_to_world(row) for row in rows]

    async def update_world(self, world: World) -> None:
        await self._db.run(
            "UPDATE worlds SET agent_id = %s, name = %s, message_server_id = %s, metadata = %s WHERE id = %s",
            (world.agent_id, world.name, world.message_server_id, jsonb_or_none(world.metadata), world.id),
        )

    async def delete_world(self, world_id: UUID) -> None:
        """Removes the world row only; its rooms keep their (now dangling) ``world_id``."""
        await self._db.run("DELETE FROM worlds WHERE id = %s", (world_id,))

    # --- rooms ------------------------------------------------------------------------------------------

    async def create_rooms(self, rooms: Sequence[Room]) -> list[UUID]:
        """Inserts the new ones; returns the ids of all rooms passed (each exists afterwards)."""
        created = now_ms()
        async with self._db.tx() as tx:
            await tx.run_many(
                "INSERT INTO rooms (id, agent_id, source, type, channel_id, message_server_id, world_id, "
                "name, metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                [
                    (
                        room.id, room.agent_id, room.source, str(room.type), room.channel_id,
                        room.message_server_id, room.world_id, room.name, jsonb_or_none(room.metadata),
                        created,
                    )
                    for room in rooms
                ],
            )
        return [room.id for room in rooms]

    async def get_room(self, room_id: UUID) -> Room | None:
        row = await self._db.one(f"{_ROOM} WHERE id = %s", (room_id,))
        return None if row is None else _to_room(row)

    async def get_rooms(self, ids: Sequence[UUID]) -> list[Room]:
        """In the order of ``ids``; unknown ids skipped."""
        if not ids:
            return []
        rows = await self._db.all(f"{_ROOM} WHERE id = ANY(%s)", (list(ids),))
        by_id = {row[0]: row for row in rows}
        return [_to_room(by_id[i]) for i in dict.fromkeys(ids) if i in by_id]

    async def rooms_by_world(self, world_id: UUID) -> list[Room]:
        rows = await self._db.all(f"{_ROOM} WHERE world_id = %s ORDER BY created_at, seq", (world_id,))
        return [_to_room(row) for row in rows]

    async def update_room(self, room: Room) -> None:
        await self._db.run(
            "UPDATE rooms SET agent_id = %s, source = %s, type = %s, channel_id = %s, "
            "message_server_id = %s, world_id = %s, name = %s, metadata = %s WHERE id = %s",
            (
                room.agent_id, room.source, str(room.type), room.channel_id, room.message_server_id,
                room.world_id, room.name, jsonb_or_none(room.metadata), room.id,
            ),
        )

    async def delete_room(self, room_id: UUID) -> None:
        """Also removes its participants and memories."""
        async with self._db.tx() as tx:
            await tx.run("DELETE FROM memories WHERE room_id = %s", (room_id,))
            await tx.run("DELETE FROM participants WHERE room_id = %s", (room_id,))
            await tx.run("DELETE FROM rooms WHERE id = %s", (room_id,))

    # --- participants -----------------------------------------------------------------------------------

    async def add_participants(self, entity_ids: Sequence[UUID], room_id: UUID) -> bool:
        """Idempotent; the membership's agent is the room's."""
        created = now_ms()
        async with self._db.tx() as tx:
            await tx.run_many(
                "INSERT INTO participants (room_id, entity_id, agent_id, created_at) "
                "VALUES (%s, %s, (SELECT agent_id FROM rooms WHERE id = %s), %s) ON CONFLICT DO NOTHING",
                [(room_id, entity_id, room_id, created) for entity_id in entity_ids],
            )
        return True

    async def remove_participant(self, entity_id: UUID, room_id: UUID) -> bool:
        """False when the entity was not in the room."""
        sql = "DELETE FROM participants WHERE room_id = %s AND entity_id = %s"
        return await self._db.run(sql, (room_id, entity_id)) > 0

    async def participants(self, room_id: UUID) -> list[UUID]:
        """Entity ids, in the order they joined."""
        rows = await self._db.all(
            "SELECT entity_id FROM participants WHERE room_id = %s ORDER BY created_at, seq", (room_id,)
        )
        return [row[0] for row in rows]

    async def is_participant(self, room_id: UUID, entity_id: UUID) -> bool:
        sql = "SELECT 1 FROM participants WHERE room_id = %s AND entity_id = %s"
        return await self._db.one(sql, (room_id, entity_id)) is not None

    async def rooms_for_participant(self, entity_id: UUID) -> list[UUID]:
        sql = "SELECT room_id FROM participants WHERE entity_id = %s ORDER BY room_id"
        rows = await self._db.all(sql, (entity_id,))
        return [row[0] for row in rows]

    async def rooms_for_participants(self, entity_ids: Sequence[UUID]) -> list[UUID]:
        """Rooms any of the entities is in, each once."""
        if not entity_ids:
            return []
        rows = await self._db.all(
            "SELECT DISTINCT room_id FROM participants WHERE entity_id = ANY(%s) ORDER BY room_id",
            (list(entity_ids),),
        )
        return [row[0] for row in rows]

    async def get_participant_state(self, room_id: UUID, entity_id: UUID) -> ParticipantState | None:
        row = await self._db.one(
            "SELECT room_state FROM participants WHERE room_id = %s AND entity_id = %s", (room_id, entity_id)
        )
        return None if row is None else cast(ParticipantState | None, row[0])

    async def set_participant_state(
        self, room_id: UUID, entity_id: UUID, state: ParticipantState | None
    ) -> None:
        """``None`` clears the state; a non-participant is left alone."""
        sql = "UPDATE participants SET room_state = %s WHERE room_id = %s AND entity_id = %s"
        await self._db.run(sql, (state, room_id, entity_id))
