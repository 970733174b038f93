"""Entities and their components for :class:`~elizapy.store.sqlite.SqliteStore`."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import UUID, Component, Entity, new_uuid, now_ms
from ._sqlite_db import Db, Row, dumps, loads

_ENTITY = "SELECT e.id, e.agent_id, e.names, e.metadata FROM entities e"
_COMPONENT = (
    "SELECT c.id, c.entity_id, c.agent_id, c.room_id, c.world_id, c.source_entity_id, c.type, c.created_at, "
    "c.data FROM components c"
)


def _to_entity(row: Row, components: list[Component] | None) -> Entity:
    return Entity(
        id=row[0], agent_id=row[1], names=loads(row[2]), metadata=loads(row[3]), components=components
    )


def _to_component(row: Row) -> Component:
    return Component(
        id=row[0], entity_id=row[1], agent_id=row[2], room_id=row[3], world_id=row[4],
        source_entity_id=row[5], type=row[6], created_at=row[7], data=loads(row[8]),
    )


def _component_filters(world_id: UUID | None, source_entity_id: UUID | None) -> tuple[str, list[str]]:
    clauses: list[str] = []
    args: list[str] = []
    if world_id is not None:
        clauses.append(" AND c.world_id = ?")
        args.append(world_id)
    if source_entity_id is not None:
        clauses.append(" AND c.source_entity_id = ?")
        args.append(source_entity_id)
    return "".join(clauses), args


class SqliteEntityStore:
    def __init__(self, db: Db) -> None:
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
        with self._db.tx():
            taken = self._db.one(
                "SELECT 1 FROM entities WHERE id IN (SELECT value FROM json_each(?)) LIMIT 1", (dumps(ids),)
            )
            if taken is not None:
                return False
            self._db.run_many(
                "INSERT INTO entities (id, agent_id, names, metadata, created_at) VALUES (?, ?, ?, ?, ?)",
                [
                    (entity_id, entity.agent_id, dumps(entity.names), dumps(entity.metadata), created)
                    for entity_id, entity in zip(ids, entities, strict=True)
                ],
            )
        return True

    async def upsert(self, entity: Entity) -> None:
        self._db.run(
            "INSERT INTO entities (id, agent_id, names, metadata, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id, names = excluded.names, "
            "metadata = excluded.metadata",
            (entity.id or new_uuid(), entity.agent_id, dumps(entity.names), dumps(entity.metadata), now_ms()),
        )

    async def get(self, entity_id: UUID) -> Entity | None:
        found = await self.get_many([entity_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[UUID]) -> list[Entity]:
        """With their components (a list, possibly empty), in the order of ``ids``; unknown ids skipped."""
        if not ids:
            return []
        rows = self._db.all(f"{_ENTITY} WHERE e.id IN (SELECT value FROM json_each(?))", (dumps(list(ids)),))
        components = self._components_of([row[0] for row in rows])
        by_id = {row[0]: row for row in rows}
        return [_to_entity(by_id[i], components.get(i, [])) for i in dict.fromkeys(ids) if i in by_id]

    async def for_room(self, room_id: UUID, *, include_components: bool = False) -> list[Entity]:
        """The room's participants that have an entity row, in the order they joined."""
        rows = self._db.all(
            f"{_ENTITY} JOIN participants p ON p.entity_id = e.id WHERE p.room_id = ? "
            "ORDER BY p.created_at, p.rowid",
            (room_id,),
        )
        if not include_components:
            return [_to_entity(row, None) for row in rows]
        components = self._components_of([row[0] for row in rows])
        return [_to_entity(row, components.get(row[0], [])) for row in rows]

    def _components_of(self, entity_ids: list[UUID]) -> dict[UUID, list[Component]]:
        """Components of many entities in one query (no N+1)."""
        found: dict[UUID, list[Component]] = {}
        if entity_ids:
            rows = self._db.all(
                f"{_COMPONENT} WHERE c.entity_id IN (SELECT value FROM json_each(?)) ORDER BY c.created_at",
                (dumps(entity_ids),),
            )
            for row in rows:
                found.setdefault(row[1], []).append(_to_component(row))
        return found

    async def update(self, entity: Entity) -> None:
        """Replaces names, metadata and agent id; an unknown entity is left absent."""
        if entity.id is None:
            return
        self._db.run(
            "UPDATE entities SET agent_id = ?, names = ?, metadata = ? WHERE id = ?",
            (entity.agent_id, dumps(entity.names), dumps(entity.metadata), entity.id),
        )

    async def delete(self, entity_id: UUID) -> None:
        """Also removes components it owns or sourced, and its room memberships."""
        with self._db.tx():
            self._db.run(
                "DELETE FROM components WHERE entity_id = ? OR source_entity_id = ?", (entity_id, entity_id)
            )
            self._db.run("DELETE FROM participants WHERE entity_id = ?", (entity_id,))
            self._db.run("DELETE FROM entities WHERE id = ?", (entity_id,))

    async def get_component(
        self, entity_id: UUID, type: str, *, world_id: UUID | None = None,
        source_entity_id: UUID | None = None,
    ) -> Component | None:
        extra, args = _component_filters(world_id, source_entity_id)
        row = self._db.one(
            f"{_COMPONENT} WHERE c.entity_id = ? AND c.type = ?{extra} ORDER BY c.created_at LIMIT 1",
            (entity_id, type, *args),
        )
        return None if row is None else _to_component(row)

    async def get_components(
        self, entity_id: UUID, *, world_id: UUID | None = None, source_entity_id: UUID | None = None,
    ) -> list[Component]:
        extra, args = _component_filters(world_id, source_entity_id)
        rows = self._db.all(
            f"{_COMPONENT} WHERE c.entity_id = ?{extra} ORDER BY c.created_at", (entity_id, *args)
        )
        return [_to_component(row) for row in rows]

    async def create_component(self, component: Component) -> bool:
        """False when a component with that id exists."""
        changed = self._db.run(
            "INSERT INTO components (id, entity_id, agent_id, room_id, world_id, source_entity_id, type, "
            "data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                component.id, component.entity_id, component.agent_id, component.room_id, component.world_id,
                component.source_entity_id, component.type, dumps(component.data), component.created_at,
            ),
        )
        return changed > 0

    async def update_component(self, component: Component) -> None:
        self._db.run(
            "UPDATE components SET entity_id = ?, agent_id = ?, room_id = ?, world_id = ?, "
            "source_entity_id = ?, type = ?, data = ? WHERE id = ?",
            (
                component.entity_id, component.agent_id, component.room_id, component.world_id,
                component.source_entity_id, component.type, dumps(component.data), component.id,
            ),
        )

    async def delete_component(self, component_id: UUID) -> None:
        self._db.run("DELETE FROM components WHERE id = ?", (component_id,))
