"""Entities and their components for :class:`~elizapy.store.postgres.PostgresStore`."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..types import UUID, Component, Entity, new_uuid, now_ms
from ._pg_db import PgDb, Row, jsonb

_ENTITY = "SELECT e.id, e.agent_id, e.names, e.metadata FROM entities e"
_COMPONENT = (
    "SELECT c.id, c.entity_id, c.agent_id, c.room_id, c.world_id, c.source_entity_id, c.type, c.created_at, "
    "c.data FROM components c"
)


def _to_entity(row: Row, components: list[Component] | None) -> Entity:
    return Entity(id=row[0], agent_id=row[1], names=row[2], metadata=row[3], components=components)


def _to_component(row: Row) -> Component:
    return Component(
        id=row[0], entity_id=row[1], agent_id=row[2], room_id=row[3], world_id=row[4],
        source_entity_id=row[5], type=row[6], created_at=row[7], data=row[8],
    )


def _component_filters(world_id: UUID | None, source_entity_id: UUID | None) -> tuple[str, list[str]]:
    clauses: list[str] = []
    args: list[str] = []
    if world_id is not None:
        clauses.append(" AND c.world_id = %s")
        args.append(world_id)
    if source_entity_id is not None:
        clauses.append(" AND c.source_entity_id = %s")
        args.append(source_entity_id)
    return "".join(clauses), args


class PgEntityStore:
    def __init__(self, db: PgDb) -> None:
        self._db = db

    async def create(self, entities: Sequence[Entity]) -> bool:
        """All or nothing: False (and nothing inserted) if any id exists or repeats within the batch.

        Only the entity rows are written; components are created with :meth:`create_component`.
        """
        ids = [entity.id or new_uuid() for entity in entities]
        if not ids:
            return True
        if len(set(ids)) != len(ids):
            return False
        created = now_ms()
        inserted = 0
        async with self._db.tx() as tx:
            inserted = await tx.run_many(
                "INSERT INTO entities (id, agent_id, names, metadata, created_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                [
                    (entity_id, entity.agent_id, jsonb(entity.names), jsonb(entity.metadata), created)
                    for entity_id, entity in zip(ids, entities, strict=True)
                ],
            )
            if inserted != len(ids):
                raise psycopg.Rollback()  # one existed (or a concurrent create won): insert none
        return inserted == len(ids)

    async def upsert(self, entity: Entity) -> None:
        await self._db.run(
            "INSERT INTO entities (id, agent_id, names, metadata, created_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id, names = excluded.names, "
            "metadata = excluded.metadata",
            (entity.id or new_uuid(), entity.agent_id, jsonb(entity.names), jsonb(entity.metadata), now_ms()),
        )

    async def get(self, entity_id: UUID) -> Entity | None:
        found = await self.get_many([entity_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[UUID]) -> list[Entity]:
        """With their components (a list, possibly empty), in the order of ``ids``; unknown ids skipped."""
        if not ids:
            return []
        rows = await self._db.all(f"{_ENTITY} WHERE e.id = ANY(%s)", (list(ids),))
        components = await self._components_of([row[0] for row in rows])
        by_id = {row[0]: row for row in rows}
        return [_to_entity(by_id[i], components.get(i, [])) for i in dict.fromkeys(ids) if i in by_id]

    async def for_room(self, room_id: UUID, *, include_components: bool = False) -> list[Entity]:
        """The room's participants that have an entity row, in the order they joined."""
        rows = await self._db.all(
            f"{_ENTITY} JOIN participants p ON p.entity_id = e.id WHERE p.room_id = %s "
            "ORDER BY p.created_at, p.seq",
            (room_id,),
        )
        if not include_components:
            return [_to_entity(row, None) for row in rows]
        components = await self._components_of([row[0] for row in rows])
        return [_to_entity(row, components.get(row[0], [])) for row in rows]

    async def _components_of(self, entity_ids: list[UUID]) -> dict[UUID, list[Component]]:
        """Components of many entities in one query (no N+1)."""
        found: dict[UUID, list[Component]] = {}
        if entity_ids:
            rows = await self._db.all(
                f"{_COMPONENT} WHERE c.entity_id = ANY(%s) ORDER BY c.created_at, c.seq", (entity_ids,)
            )
            for row in rows:
                found.setdefault(row[1], []).append(_to_component(row))
        return found

    async def update(self, entity: Entity) -> None:
        """Replaces names, metadata and agent id; an unknown entity is left absent."""
        if entity.id is None:
            return
        await self._db.run(
            "UPDATE entities SET agent_id = %s, names = %s, metadata = %s WHERE id = %s",
            (entity.agent_id, jsonb(entity.names), jsonb(entity.metadata), entity.id),
        )

    async def delete(self, entity_id: UUID) -> None:
        """Also removes components it owns or sourced, and its room memberships."""
        async with self._db.tx() as tx:
            await tx.run(
                "DELETE FROM components WHERE entity_id = %s OR source_entity_id = %s", (entity_id, entity_id)
            )
            await tx.run("DELETE FROM participants WHERE entity_id = %s", (entity_id,))
            await tx.run("DELETE FROM entities WHERE id = %s", (entity_id,))

    async def get_component(
        self, entity_id: UUID, type: str, *, world_id: UUID | None = None,
        source_entity_id: UUID | None = None,
    ) -> Component | None:
        extra, args = _component_filters(world_id, source_entity_id)
        row = await self._db.one(
            f"{_COMPONENT} WHERE c.entity_id = %s AND c.type = %s{extra} "
            "ORDER BY c.created_at, c.seq LIMIT 1",
            (entity_id, type, *args),
        )
        return None if row is None else _to_component(row)

    async def get_components(
        self, entity_id: UUID, *, world_id: UUID | None = None, source_entity_id: UUID | None = None,
    ) -> list[Component]:
        extra, args = _component_filters(world_id, source_entity_id)
        rows = await self._db.all(
            f"{_COMPONENT} WHERE c.entity_id = %s{extra} ORDER BY c.created_at, c.seq", (entity_id, *args)
        )
        return [_to_component(row) for row in rows]

    async def create_component(self, component: Component) -> bool:
        """False when a component with that id exists."""
        changed = await self._db.run(
            "INSERT INTO components (id, entity_id, agent_id, room_id, world_id, source_entity_id, type, "
            "data, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                component.id, component.entity_id, component.agent_id, component.room_id, component.world_id,
                component.source_entity_id, component.type, jsonb(component.data), component.created_at,
            ),
        )
        return changed > 0

    async def update_component(self, component: Component) -> None:
        await self._db.run(
            "UPDATE components SET entity_id = %s, agent_id = %s, room_id = %s, world_id = %s, "
            "source_entity_id = %s, type = %s, data = %s WHERE id = %s",
            (
                component.entity_id, component.agent_id, component.room_id, component.world_id,
                component.source_entity_id, component.type, jsonb(component.data), component.id,
            ),
        )

    async def delete_component(self, component_id: UUID) -> None:
        await self._db.run("DELETE FROM components WHERE id = %s", (component_id,))
