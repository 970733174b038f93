"""Narrow storage protocols, one per aggregate.

The runtime *has* a :class:`Store`; it is not one
(contrast ElizaOS's ``IAgentRuntime extends IDatabaseAdapter``).
Every implementation (SQLite, Postgres) must pass the same conformance suite in
``tests/store/conformance.py``.

Conventions shared by all implementations:
- ids are UUID strings; a missing ``id`` on create is generated and returned;
- ``created_at`` is epoch milliseconds; list results are newest first unless stated;
- memories live in named tables (``messages``, ``documents``, ``fragments``, ``facts``…) and may carry an
  embedding of any dimension; search is cosine similarity (``1 - cosine distance``), filtered by
  ``match_threshold`` and sorted by similarity descending, with ``Memory.similarity`` set;
- ``agent_id`` filters scope reads to one agent when given (one database can serve many agents).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from ..types import (
    UUID,
    Component,
    Content,
    Entity,
    Log,
    Memory,
    MemoryMetadata,
    Relationship,
    Room,
    Task,
    World,
)

ParticipantState = Literal["FOLLOWED", "MUTED"]

EMBEDDING_DIMENSIONS: tuple[int, ...] = (384, 512, 768, 1024, 1536, 3072)
"""The per-dimension embedding columns of ElizaOS plugin-sql; other sizes are rejected with a clear error."""


class MemoryStore(Protocol):
    async def create(self, memory: Memory, table: str, *, unique: bool = False) -> UUID:
        """Insert; an existing id is left untouched (dedupe) and its id returned."""
        ...

    async def get(self, memory_id: UUID) -> Memory | None: ...

    async def get_many(self, ids: Sequence[UUID], *, table: str | None = None) -> builtins.list[Memory]: ...

    async def list(
        self,
        *,
        table: str,
        room_id: UUID | None = None,
        entity_id: UUID | None = None,
        agent_id: UUID | None = None,
        world_id: UUID | None = None,
        count: int | None = None,
        offset: int = 0,
        unique: bool | None = None,
        start: int | None = None,
        end: int | None = None,
        with_embeddings: bool = False,
    ) -> builtins.list[Memory]:
        """Newest first; ``start``/``end`` bound ``created_at`` inclusively. Vectors are left out (None)
        unless ``with_embeddings``: listings are hot and rarely need them; ``get``/``search`` include them."""
        ...

    async def list_by_rooms(
        self, *, table: str, room_ids: Sequence[UUID], limit: int | None = None,
        agent_id: UUID | None = None, with_embeddings: bool = False,
    ) -> builtins.list[Memory]: ...

    async def search(
        self,
        *,
        table: str,
        embedding: Sequence[float],
        match_threshold: float = 0.0,
        count: int = 10,
        room_id: UUID | None = None,
        world_id: UUID | None = None,
        entity_id: UUID | None = None,
        agent_id: UUID | None = None,
        unique: bool | None = None,
    ) -> builtins.list[Memory]: ...

    async def update(
        self,
        memory_id: UUID,
        *,
        content: Content | None = None,
        metadata: MemoryMetadata | None = None,
        embedding: Sequence[float] | None = None,
    ) -> bool:
        """Returns False when the memory does not exist."""
        ...

    async def delete(self, memory_id: UUID) -> None: ...

    async def delete_many(self, ids: Sequence[UUID]) -> None: ...

    async def delete_all(self, room_id: UUID, table: str) -> None: ...

    async def count(self, room_id: UUID, *, table: str = "messages", unique: bool | None = None) -> int: ...


class EntityStore(Protocol):
    async def create(self, entities: Sequence[Entity]) -> bool:
        """Insert; returns False (and inserts nothing) if any id already exists."""
        ...

    async def upsert(self, entity: Entity) -> None: ...

    async def get(self, entity_id: UUID) -> Entity | None: ...

    async def get_many(self, ids: Sequence[UUID]) -> builtins.list[Entity]: ...

    async def for_room(self, room_id: UUID, *, include_components: bool = False) -> builtins.list[Entity]: ...

    async def update(self, entity: Entity) -> None: ...

    async def delete(self, entity_id: UUID) -> None: ...

    async def get_component(
        self, entity_id: UUID, type: str, *, world_id: UUID | None = None,
        source_entity_id: UUID | None = None,
    ) -> Component | None: ...

    async def get_components(
        self, entity_id: UUID, *, world_id: UUID | None = None, source_entity_id: UUID | None = None,
    ) -> builtins.list[Component]: ...

    async def create_component(self, component: Component) -> bool: ...

    async def update_component(self, component: Component) -> None: ...

    async def delete_component(self, component_id: UUID) -> None: ...


class RoomStore(Protocol):
    """Rooms, worlds and room participants (they change together)."""

    async def create_world(self, world: World) -> UUID: ...

    async def get_world(self, world_id: UUID) -> World | None: ...

    async def list_worlds(self, *, agent_id: UUID | None = None) -> builtins.list[World]: ...

    async def update_world(self, world: World) -> None: ...

    async def delete_world(self, world_id: UUID) -> None: ...

    async def create_rooms(self, rooms: Sequence[Room]) -> builtins.list[UUID]:
        """Insert; rooms whose id exists are left untouched."""
        ...

    async def get_room(self, room_id: UUID) -> Room | None: ...

    async def get_rooms(self, ids: Sequence[UUID]) -> builtins.list[Room]: ...

    async def rooms_by_world(self, world_id: UUID) -> builtins.list[Room]: ...

    async def update_room(self, room: Room) -> None: ...

    async def delete_room(self, room_id: UUID) -> None:
        """Also removes the room's participants and memories."""
        ...

    async def add_participants(self, entity_ids: Sequence[UUID], room_id: UUID) -> bool: ...

    async def remove_participant(self, entity_id: UUID, room_id: UUID) -> bool: ...

    async def participants(self, room_id: UUID) -> builtins.list[UUID]: ...

    async def is_participant(self, room_id: UUID, entity_id: UUID) -> bool: ...

    async def rooms_for_participant(self, entity_id: UUID) -> builtins.list[UUID]: ...

    async def rooms_for_participants(self, entity_ids: Sequence[UUID]) -> builtins.list[UUID]: ...

    async def get_participant_state(self, room_id: UUID, entity_id: UUID) -> ParticipantState | None: ...

    async def set_participant_state(
        self, room_id: UUID, entity_id: UUID, state: ParticipantState | None
    ) -> None: ...


class RelationshipStore(Protocol):
    async def create(self, relationship: Relationship) -> bool:
        """False when the (source, target, agent) pair already exists."""
        ...

    async def get(self, source_entity_id: UUID, target_entity_id: UUID) -> Relationship | None: ...

    async def list(
        self, entity_id: UUID, *, tags: Sequence[str] | None = None
    ) -> builtins.list[Relationship]:
        """Relationships where the entity is source or target; with ``tags``, those having any of them."""
        ...

    async def update(self, relationship: Relationship) -> None: ...


class TaskStore(Protocol):
    async def create(self, task: Task) -> UUID: ...

    async def get(self, task_id: UUID) -> Task | None: ...

    async def list(
        self, *, room_id: UUID | None = None, tags: Sequence[str] | None = None,
        entity_id: UUID | None = None,
    ) -> builtins.list[Task]:
        """With ``tags``, tasks having *all* of them (as plugin-sql does)."""
        ...

    async def by_name(self, name: str) -> builtins.list[Task]: ...

    async def update(self, task_id: UUID, **changes: Any) -> None: ...

    async def delete(self, task_id: UUID) -> None: ...


class CacheStore(Protocol):
    async def get(self, key: str) -> Any | None: ...

    async def set(self, key: str, value: Any, *, ttl_s: float | None = None) -> bool: ...

    async def delete(self, key: str) -> bool: ...


class LogStore(Protocol):
    async def add(self, log: Log) -> UUID: ...

    async def list(
        self, *, entity_id: UUID | None = None, room_id: UUID | None = None, type: str | None = None,
        count: int | None = None, offset: int = 0,
    ) -> builtins.list[Log]: ...

    async def delete(self, log_id: UUID) -> None: ...


class AgentStore(Protocol):
    """Agent records (the character JSON plus enabled flag), used by the server's /api/agents."""

    async def upsert(self, agent_id: UUID, character: dict[str, Any], *, enabled: bool = True) -> None: ...

    async def get(self, agent_id: UUID) -> dict[str, Any] | None: ...

    async def list(self) -> builtins.list[dict[str, Any]]: ...

    async def delete(self, agent_id: UUID) -> bool: ...


@runtime_checkable
class Store(Protocol):
    """A whole database: one object per aggregate, plus lifecycle."""

    memories: MemoryStore
    entities: EntityStore
    rooms: RoomStore
    relationships: RelationshipStore
    tasks: TaskStore
    cache: CacheStore
    logs: LogStore
    agents: AgentStore

    async def open(self) -> None:
        """Create the schema (idempotent migrations); safe to call twice."""
        ...

    async def close(self) -> None: ...
