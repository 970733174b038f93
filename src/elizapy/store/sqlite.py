"""The embedded store: one SQLite file (or ``:memory:``) with sqlite-vec for vector search.

The tables mirror ElizaOS plugin-sql (agents, entities, components, worlds, rooms, participants, memories,
embeddings, relationships, tasks, cache, logs). Content, metadata, tags and other open objects are JSON text.
Embeddings of the plugin-sql sizes (384, 512, 768, 1024, 1536, 3072) live in ``embeddings`` and are indexed
by one sqlite-vec ``vec0`` table per size (``vec_<dim>``, cosine distance, created on first use, kept in
sync by triggers). How filtered vector search stays exact is described in ``_sqlite_memories``.

Why statements run synchronously inside the ``async`` methods
    A local SQLite statement on an indexed lookup takes microseconds, far less than handing it to a worker
    thread and back (tens of microseconds plus a loop wake-up), and the message pipeline this store sits on
    aims at about 2 ms per message all-in. So the methods are ``async`` for the protocol's sake (a Postgres
    store really awaits) but call ``sqlite3`` directly. The cost: a slow statement (a large exact scan, a
    big delete) blocks the event loop for its duration, and a write that finds another *process* holding the
    write lock waits up to ``busy_timeout`` (5 s) on the loop.

Why writes from concurrent tasks are safe without a lock
    All aggregates share one connection, used only from the event loop's thread. A method never awaits in
    the middle of its statements, so two tasks cannot interleave inside one method; multi-statement writes
    run in a ``BEGIN IMMEDIATE`` transaction (atomic, and serialised against other connections to the same
    file by SQLite's own lock). An ``anyio.Lock`` would add cost and protect nothing.

Other choices: WAL journal with ``synchronous=NORMAL`` (durable across process crashes, fsync at
checkpoints), ``foreign_keys=ON`` (memories → embeddings cascade), prepared statement text kept constant per
filter combination so sqlite3's statement cache hits, and indexes on every column a query filters by.
Aggregates are not tied by foreign keys (a memory may name a room the store has never seen), as the
protocol does not require it; ``rooms.delete_room`` cascades by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ._sqlite_db import Db
from ._sqlite_entities import SqliteEntityStore
from ._sqlite_memories import SqliteMemoryStore
from ._sqlite_records import (
    SqliteAgentStore,
    SqliteCacheStore,
    SqliteLogStore,
    SqliteRelationshipStore,
    SqliteTaskStore,
)
from ._sqlite_rooms import SqliteRoomStore
from .base import (
    AgentStore,
    CacheStore,
    EntityStore,
    LogStore,
    MemoryStore,
    RelationshipStore,
    RoomStore,
    TaskStore,
)


class SqliteStore:
    """A :class:`~elizapy.store.base.Store` on one SQLite connection.

    ``path`` is a file path (parent folders are created) or ``":memory:"``. Call ``await open()`` before use
    and ``await close()`` after; ``async with SqliteStore(...) as store`` does both.
    """

    def __init__(self, path: str | Path = ":memory:", *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self._db = Db(self.path)
        self.memories: MemoryStore = SqliteMemoryStore(self._db)
        self.entities: EntityStore = SqliteEntityStore(self._db)
        self.rooms: RoomStore = SqliteRoomStore(self._db)
        self.relationships: RelationshipStore = SqliteRelationshipStore(self._db)
        self.tasks: TaskStore = SqliteTaskStore(self._db)
        self.cache: CacheStore = SqliteCacheStore(self._db, clock)
        self.logs: LogStore = SqliteLogStore(self._db)
        self.agents: AgentStore = SqliteAgentStore(self._db)

    async def open(self) -> None:
        """Connect, set pragmas, load sqlite-vec and apply pending migrations; a no-op when already open."""
        self._db.open()

    async def close(self) -> None:
        self._db.close()

    @property
    def is_open(self) -> bool:
        return self._db.is_open

    async def schema_version(self) -> int:
        return self._db.schema_version()

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"
