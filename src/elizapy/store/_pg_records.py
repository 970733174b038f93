"""Relationships, tasks, cache, logs and agent records for :class:`~elizapy.store.postgres.PostgresStore`."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..types import UUID, Log, Relationship, Task, new_uuid, now_ms
from ._pg_db import PgDb, Row, Tx, jsonb, jsonb_or_none
from ._shared import apply_task_changes, task_changes

# --- relationships ----------------------------------------------------------------------------------------

_RELATIONSHIP = (
    "SELECT id, source_entity_id, target_entity_id, agent_id, tags, metadata, created_at FROM relationships"
)


def _to_relationship(row: Row) -> Relationship:
    return Relationship(
        id=row[0], source_entity_id=row[1], target_entity_id=row[2], agent_id=row[3], tags=row[4],
        metadata=row[5], created_at=row[6],
    )


class PgRelationshipStore:
    def __init__(self, db: PgDb) -> None:
        self._db = db

    async def create(self, relationship: Relationship) -> bool:
        """False when the (source, target, agent) triple, or the id, already exists."""
        created = relationship.created_at or datetime.now(UTC).isoformat(timespec="milliseconds")
        changed = await self._db.run(
            "INSERT INTO relationships (id, source_entity_id, target_entity_id, agent_id, tags, metadata, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                relationship.id, relationship.source_entity_id, relationship.target_entity_id,
                relationship.agent_id, jsonb(relationship.tags), jsonb(relationship.metadata), created,
            ),
        )
        return changed > 0

    async def get(self, source_entity_id: UUID, target_entity_id: UUID) -> Relationship | None:
        row = await self._db.one(
            f"{_RELATIONSHIP} WHERE source_entity_id = %s AND target_entity_id = %s "
            "ORDER BY created_at, seq LIMIT 1",
            (source_entity_id, target_entity_id),
        )
        return None if row is None else _to_relationship(row)

    async def list(
        self, entity_id: UUID, *, tags: Sequence[str] | None = None
    ) -> builtins.list[Relationship]:
        sql = f"{_RELATIONSHIP} WHERE (source_entity_id = %s OR target_entity_id = %s)"
        args: builtins.list[Any] = [entity_id, entity_id]
        if tags:
            sql += " AND tags ?| %s"  # has any of the tags
            args.append(list(tags))
        rows = await self._db.all(sql + " ORDER BY created_at, seq", args)
        return [_to_relationship(row) for row in rows]

    async def update(self, relationship: Relationship) -> None:
        """Replaces tags and metadata of the relationship with the same (source, target, agent)."""
        await self._db.run(
            "UPDATE relationships SET tags = %s, metadata = %s "
            "WHERE source_entity_id = %s AND target_entity_id = %s AND agent_id = %s",
            (
                jsonb(relationship.tags), jsonb(relationship.metadata), relationship.source_entity_id,
                relationship.target_entity_id, relationship.agent_id,
            ),
        )


# --- tasks ------------------------------------------------------------------------------------------------

_TASK = "SELECT id, name, description, room_id, world_id, entity_id, tags, metadata, updated_at FROM tasks t"
def _to_task(row: Row) -> Task:
    return Task(
        id=row[0], name=row[1], description=row[2], room_id=row[3], world_id=row[4], entity_id=row[5],
        tags=row[6], metadata=row[7], updated_at=row[8],
    )


class PgTaskStore:
    def __init__(self, db: PgDb) -> None:
        self._db = db

    @staticmethod
    async def _write(tx: Tx, task: Task, task_id: UUID) -> None:
        await tx.run(
            "INSERT INTO tasks (id, name, description, room_id, world_id, entity_id, tags, metadata, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, "
            "room_id = excluded.room_id, world_id = excluded.world_id, "
            "entity_id = excluded.entity_id, tags = excluded.tags, metadata = excluded.metadata, "
            "updated_at = excluded.updated_at",
            (
                task_id, task.name, task.description, task.room_id, task.world_id, task.entity_id,
                jsonb(task.tags), jsonb_or_none(task.metadata), now_ms(), task.updated_at,
            ),
        )

    async def create(self, task: Task) -> UUID:
        """Inserts (an existing id is overwritten); ``updated_at`` defaults to now."""
        task_id = task.id or new_uuid()
        if task.updated_at is None:
            task = task.model_copy(update={"updated_at": now_ms()})
        async with self._db.connection() as c:
            await self._write(c, task, task_id)
        return task_id

    async def get(self, task_id: UUID) -> Task | None:
        row = await self._db.one(f"{_TASK} WHERE id = %s", (task_id,))
        return None if row is None else _to_task(row)

    async def list(
        self, *, room_id: UUID | None = None, tags: Sequence[str] | None = None,
        entity_id: UUID | None = None,
    ) -> builtins.list[Task]:
        """Newest first; with ``tags``, only tasks having all of them."""
        clauses: builtins.list[str] = []
        args: builtins.list[Any] = []
        if room_id is not None:
            clauses.append("t.room_id = %s")
            args.append(room_id)
        if entity_id is not None:
            clauses.append("t.entity_id = %s")
            args.append(entity_id)
        if tags:
            clauses.append("t.tags @> %s")  # JSONB containment: every wanted tag is in the array
            args.append(jsonb(list(tags)))
        where = " AND ".join(clauses) or "TRUE"
        rows = await self._db.all(f"{_TASK} WHERE {where} ORDER BY t.created_at DESC, t.seq DESC", args)
        return [_to_task(row) for row in rows]

    async def by_name(self, name: str) -> builtins.list[Task]:
        rows = await self._db.all(f"{_TASK} WHERE name = %s ORDER BY t.created_at DESC, t.seq DESC", (name,))
        return [_to_task(row) for row in rows]

    async def update(self, task_id: UUID, **changes: Any) -> None:
        """Sets the given fields (snake_case or camelCase names), keeps the others; ``updated_at`` becomes now
        unless given. Metadata is replaced, not deep-merged. An unknown task is a no-op."""
        normalized = task_changes(changes)
        async with self._db.tx() as tx:
            row = await tx.one(f"{_TASK} WHERE id = %s FOR UPDATE", (task_id,))
            if row is None:
                return
            current = _to_task(row)
            merged = apply_task_changes(current, normalized)
            await self._write(tx, merged, task_id)

    async def delete(self, task_id: UUID) -> None:
        await self._db.run("DELETE FROM tasks WHERE id = %s", (task_id,))


# --- cache ------------------------------------------------------------------------------------------------

PURGE_EVERY = 1000
"""Every this many ``set`` calls, expired entries are deleted in one bounded batch (reads skip them
anyway)."""


class PgCacheStore:
    """JSON values under full keys (scoping keys by agent is the caller's job). Expiry uses wall-clock
    milliseconds, comparable across processes sharing the database; ``clock`` is injectable for tests."""

    def __init__(self, db: PgDb, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._sets = 0

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def get(self, key: str) -> Any | None:
        row = await self._db.one("SELECT value, expires_at FROM cache WHERE key = %s", (key,))
        if row is None:
            return None
        if row[1] is not None and row[1] <= self._now_ms():
            await self._db.run("DELETE FROM cache WHERE key = %s AND expires_at <= %s", (key, self._now_ms()))
            return None
        return row[0]

    async def set(self, key: str, value: Any, *, ttl_s: float | None = None) -> bool:
        now = self._now_ms()
        expires = None if ttl_s is None else now + int(ttl_s * 1000)
        await self._db.run(
            "INSERT INTO cache (key, value, expires_at, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, "
            "created_at = excluded.created_at",
            (key, jsonb(value), expires, now),
        )
        self._sets += 1
        if self._sets % PURGE_EVERY == 0:
            await self._db.run(
                "DELETE FROM cache WHERE key IN (SELECT key FROM cache WHERE expires_at <= %s LIMIT 500)",
                (now,),
            )
        return True

    async def delete(self, key: str) -> bool:
        """False when there was nothing (live) to delete."""
        row = await self._db.one("DELETE FROM cache WHERE key = %s RETURNING expires_at", (key,))
        return row is not None and (row[0] is None or row[0] > self._now_ms())


# --- logs -------------------------------------------------------------------------------------------------


def _to_log(row: Row) -> Log:
    return Log(id=row[0], entity_id=row[1], room_id=row[2], type=row[3], body=row[4], created_at=row[5])


class PgLogStore:
    def __init__(self, db: PgDb) -> None:
        self._db = db

    async def add(self, log: Log) -> UUID:
        log_id = log.id or new_uuid()
        await self._db.run(
            "INSERT INTO logs (id, entity_id, room_id, type, body, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (log_id, log.entity_id, log.room_id, log.type, jsonb(log.body), log.created_at),
        )
        return log_id

    async def list(
        self, *, entity_id: UUID | None = None, room_id: UUID | None = None, type: str | None = None,
        count: int | None = None, offset: int = 0,
    ) -> builtins.list[Log]:
        """Newest first."""
        clauses: builtins.list[str] = []
        args: builtins.list[Any] = []
        for column, value in (("entity_id", entity_id), ("room_id", room_id), ("type", type)):
            if value is not None:
                clauses.append(f"{column} = %s")
                args.append(value)
        where = " AND ".join(clauses) or "TRUE"
        rows = await self._db.all(
            f"SELECT id, entity_id, room_id, type, body, created_at FROM logs WHERE {where} "
            "ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
            (*args, None if count is None else max(count, 0), max(offset, 0)),
        )
        return [_to_log(row) for row in rows]

    async def delete(self, log_id: UUID) -> None:
        await self._db.run("DELETE FROM logs WHERE id = %s", (log_id,))


# --- agents -----------------------------------------------------------------------------------------------


_AGENT = "SELECT id, character, enabled, created_at, updated_at FROM agents"


def _to_agent(row: Row) -> dict[str, Any]:
    character = row[1]
    record: dict[str, Any] = character if isinstance(character, dict) else {}
    record.update(id=row[0], enabled=bool(row[2]), createdAt=row[3], updatedAt=row[4])
    return record


class PgAgentStore:
    """Agent records: the character JSON, with ``id``, ``enabled``, ``createdAt`` and ``updatedAt`` (ms)
    added on read, as ElizaOS's ``Agent`` type has them."""

    def __init__(self, db: PgDb) -> None:
        self._db = db

    async def upsert(self, agent_id: UUID, character: dict[str, Any], *, enabled: bool = True) -> None:
        now = now_ms()
        name = character.get("name")
        await self._db.run(
            "INSERT INTO agents (id, name, enabled, character, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "enabled = excluded.enabled, character = excluded.character, updated_at = excluded.updated_at",
            (agent_id, name if isinstance(name, str) else None, enabled, jsonb(character), now, now),
        )

    async def get(self, agent_id: UUID) -> dict[str, Any] | None:
        row = await self._db.one(f"{_AGENT} WHERE id = %s", (agent_id,))
        return None if row is None else _to_agent(row)

    async def list(self) -> builtins.list[dict[str, Any]]:
        """Oldest first (creation order)."""
        rows = await self._db.all(f"{_AGENT} ORDER BY created_at, seq")
        return [_to_agent(row) for row in rows]

    async def delete(self, agent_id: UUID) -> bool:
        return await self._db.run("DELETE FROM agents WHERE id = %s", (agent_id,)) > 0
