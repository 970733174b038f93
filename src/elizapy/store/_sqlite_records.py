"""Relationships, tasks, cache, logs and agent records for :class:`~elizapy.store.sqlite.SqliteStore`."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..types import UUID, Log, Relationship, Task, new_uuid, now_ms
from ._shared import apply_task_changes, task_changes
from ._sqlite_db import Db, Row, dumps, loads

# --- relationships ----------------------------------------------------------------------------------------

_RELATIONSHIP = (
    "SELECT id, source_entity_id, target_entity_id, agent_id, tags, metadata, created_at FROM relationships"
)


def _to_relationship(row: Row) -> Relationship:
    return Relationship(
        id=row[0], source_entity_id=row[1], target_entity_id=row[2], agent_id=row[3], tags=loads(row[4]),
        metadata=loads(row[5]), created_at=row[6],
    )


class SqliteRelationshipStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def create(self, relationship: Relationship) -> bool:
        """False when the (source, target, agent) triple, or the id, already exists."""
        created = relationship.created_at or datetime.now(UTC).isoformat(timespec="milliseconds")
        changed = self._db.run(
            "INSERT INTO relationships (id, source_entity_id, target_entity_id, agent_id, tags, metadata, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                relationship.id, relationship.source_entity_id, relationship.target_entity_id,
                relationship.agent_id, dumps(relationship.tags), dumps(relationship.metadata), created,
            ),
        )
        return changed > 0

    async def get(self, source_entity_id: UUID, target_entity_id: UUID) -> Relationship | None:
        row = self._db.one(
            f"{_RELATIONSHIP} WHERE source_entity_id = ? AND target_entity_id = ? "
            "ORDER BY created_at LIMIT 1",
            (source_entity_id, target_entity_id),
        )
        return None if row is None else _to_relationship(row)

    async def list(
        self, entity_id: UUID, *, tags: Sequence[str] | None = None
    ) -> builtins.list[Relationship]:
        sql = f"{_RELATIONSHIP} WHERE (source_entity_id = ? OR target_entity_id = ?)"
        args: builtins.list[Any] = [entity_id, entity_id]
        if tags:
            sql += (
                " AND EXISTS (SELECT 1 FROM json_each(relationships.tags) AS t "
                "WHERE t.value IN (SELECT value FROM json_each(?)))"
            )
            args.append(dumps(list(tags)))
        rows = self._db.all(sql + " ORDER BY created_at, rowid", args)
        return [_to_relationship(row) for row in rows]

    async def update(self, relationship: Relationship) -> None:
        """Replaces tags and metadata of the relationship with the same (source, target, agent)."""
        self._db.run(
            "UPDATE relationships SET tags = ?, metadata = ? "
            "WHERE source_entity_id = ? AND target_entity_id = ? AND agent_id = ?",
            (
                dumps(relationship.tags), dumps(relationship.metadata), relationship.source_entity_id,
                relationship.target_entity_id, relationship.agent_id,
            ),
        )


# --- tasks ------------------------------------------------------------------------------------------------

_TASK = "SELECT id, name, description, room_id, world_id, entity_id, tags, metadata, updated_at FROM tasks t"
def _to_task(row: Row) -> Task:
    return Task(
        id=row[0], name=row[1], description=row[2], room_id=row[3], world_id=row[4], entity_id=row[5],
        tags=loads(row[6]), metadata=loads(row[7]), updated_at=row[8],
    )


class SqliteTaskStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _write(self, task: Task, task_id: UUID) -> None:
        self._db.run(
            "INSERT INTO tasks (id, name, description, room_id, world_id, entity_id, tags, metadata, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, "
            "room_id = excluded.room_id, world_id = excluded.world_id, "
            "entity_id = excluded.entity_id, tags = excluded.tags, metadata = excluded.metadata, "
            "updated_at = excluded.updated_at",
            (
                task_id, task.name, task.description, task.room_id, task.world_id, task.entity_id,
                dumps(task.tags), None if task.metadata is None else dumps(task.metadata), now_ms(),
                task.updated_at,
            ),
        )

    async def create(self, task: Task) -> UUID:
        """Inserts (an existing id is overwritten); ``updated_at`` defaults to now."""
        task_id = task.id or new_uuid()
        if task.updated_at is None:
            task = task.model_copy(update={"updated_at": now_ms()})
        self._write(task, task_id)
        return task_id

    def _get(self, task_id: UUID) -> Task | None:
        row = self._db.one(f"{_TASK} WHERE id = ?", (task_id,))
        return None if row is None else _to_task(row)

    async def get(self, task_id: UUID) -> Task | None:
        return self._get(task_id)

    async def list(
        self, *, room_id: UUID | None = None, tags: Sequence[str] | None = None,
        entity_id: UUID | None = None,
    ) -> builtins.list[Task]:
        """Newest first; with ``tags``, only tasks having all of them."""
        clauses: builtins.list[str] = []
        args: builtins.list[Any] = []
        if room_id is not None:
            clauses.append("t.room_id = ?")
            args.append(room_id)
        if entity_id is not None:
            clauses.append("t.entity_id = ?")
            args.append(entity_id)
        if tags:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM json_each(?) AS want "
                "WHERE want.value NOT IN (SELECT value FROM json_each(t.tags)))"
            )
            args.append(dumps(list(tags)))
        where = " AND ".join(clauses) or "1"
        rows = self._db.all(f"{_TASK} WHERE {where} ORDER BY t.created_at DESC, t.seq DESC", args)
        return [_to_task(row) for row in rows]

    async def by_name(self, name: str) -> builtins.list[Task]:
        rows = self._db.all(f"{_TASK} WHERE name = ? ORDER BY t.created_at DESC, t.seq DESC", (name,))
        return [_to_task(row) for row in rows]

    async def update(self, task_id: UUID, **changes: Any) -> None:
        """Sets the given fields (snake_case or camelCase names), keeps the others; ``updated_at`` becomes now
        unless given. Metadata is replaced, not deep-merged. An unknown task is a no-op."""
        normalized = task_changes(changes)
        with self._db.tx():
            current = self._get(task_id)
            if current is None:
                return
            merged = apply_task_changes(current, normalized)
            self._write(merged, task_id)

    async def delete(self, task_id: UUID) -> None:
        self._db.run("DELETE FROM tasks WHERE id = ?", (task_id,))


# --- cache ------------------------------------------------------------------------------------------------


class SqliteCacheStore:
    """JSON values under full keys (scoping keys by agent is the caller's job). Expiry uses wall-clock
    milliseconds, comparable across processes sharing the file; ``clock`` is injectable for tests."""

    def __init__(self, db: Db, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def get(self, key: str) -> Any | None:
        row = self._db.one("SELECT value, expires_at FROM cache WHERE key = ?", (key,))
        if row is None:
            return None
        if row[1] is not None and row[1] <= self._now_ms():
            self._db.run("DELETE FROM cache WHERE key = ? AND expires_at <= ?", (key, self._now_ms()))
            return None
        return loads(row[0])

    async def set(self, key: str, value: Any, *, ttl_s: float | None = None) -> bool:
        now = self._now_ms()
        expires = None if ttl_s is None else now + int(ttl_s * 1000)
        self._db.run(
            "INSERT INTO cache (key, value, expires_at, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, "
            "created_at = excluded.created_at",
            (key, dumps(value), expires, now),
        )
        return True

    async def delete(self, key: str) -> bool:
        """False when there was nothing (live) to delete."""
        row = self._db.one("DELETE FROM cache WHERE key = ? RETURNING expires_at", (key,))
        return row is not None and (row[0] is None or row[0] > self._now_ms())


# --- logs -------------------------------------------------------------------------------------------------


def _to_log(row: Row) -> Log:
    return Log(
        id=row[0], entity_id=row[1], room_id=row[2], type=row[3], body=loads(row[4]), created_at=row[5]
    )


class SqliteLogStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, log: Log) -> UUID:
        log_id = log.id or new_uuid()
        self._db.run(
            "INSERT INTO logs (id, entity_id, room_id, type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (log_id, log.entity_id, log.room_id, log.type, dumps(log.body), log.created_at),
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
                clauses.append(f"{column} = ?")
                args.append(value)
        where = " AND ".join(clauses) or "1"
        rows = self._db.all(
            f"SELECT id, entity_id, room_id, type, body, created_at FROM logs WHERE {where} "
            "ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
            (*args, -1 if count is None else max(count, 0), max(offset, 0)),
        )
        return [_to_log(row) for row in rows]

    async def delete(self, log_id: UUID) -> None:
        self._db.run("DELETE FROM logs WHERE id = ?", (log_id,))


# --- agents -----------------------------------------------------------------------------------------------


_AGENT = "SELECT id, character, enabled, created_at, updated_at FROM agents"


def _to_agent(row: Row) -> dict[str, Any]:
    character = loads(row[1])
    record: dict[str, Any] = character if isinstance(character, dict) else {}
    record.update(id=row[0], enabled=bool(row[2]), createdAt=row[3], updatedAt=row[4])
    return record


class SqliteAgentStore:
    """Agent records: the character JSON, with ``id``, ``enabled``, ``createdAt`` and ``updatedAt`` (ms)
    added on read, as ElizaOS's ``Agent`` type has them."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def upsert(self, agent_id: UUID, character: dict[str, Any], *, enabled: bool = True) -> None:
        now = now_ms()
        name = character.get("name")
        self._db.run(
            "INSERT INTO agents (id, name, enabled, character, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "enabled = excluded.enabled, "
            "character = excluded.character, updated_at = excluded.updated_at",
            (agent_id, name if isinstance(name, str) else None, int(enabled), dumps(character), now, now),
        )

    async def get(self, agent_id: UUID) -> dict[str, Any] | None:
        row = self._db.one(f"{_AGENT} WHERE id = ?", (agent_id,))
        return None if row is None else _to_agent(row)

    async def list(self) -> builtins.list[dict[str, Any]]:
        """Oldest first (creation order)."""
        rows = self._db.all(f"{_AGENT} ORDER BY created_at, rowid")
        return [_to_agent(row) for row in rows]

    async def delete(self, agent_id: UUID) -> bool:
        return self._db.run("DELETE FROM agents WHERE id = ?", (agent_id,)) > 0
