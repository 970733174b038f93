"""The server store: PostgreSQL with pgvector, shared by any number of processes (``POSTGRES_URL``).

The tables mirror ElizaOS plugin-sql (agents, entities, components, worlds, rooms, participants, memories,
relationships, tasks, cache, logs). Content, metadata, tags and other open objects are JSONB. Embeddings of
the plugin-sql sizes (384, 512, 768, 1024, 1536, 3072) live in one nullable ``vector(N)`` column per size on
the memory row, each with an HNSW index for cosine distance (3,072 through ``halfvec``). How search chooses
between an exact scan and the index is described in ``_pg_memories``.

Why psycopg 3 (and not asyncpg)
    psycopg 3 is fully typed (the project runs strict mypy; asyncpg needs third-party stubs), ships an async
    pool with health handling (``psycopg_pool``), prepares hot statements server-side on its own, pipelines
    ``executemany`` and adapts types per connection, which the ``vector`` type needs (its OID differs per
    database). asyncpg's raw speed edge is small next to a network round trip and a model call.

Concurrency
    Each method takes a pooled connection for one statement (autocommit) or one transaction; tasks and
    processes interleave at statement boundaries, with Postgres providing isolation (read committed). Writes
    that must be all-or-nothing (entity batches, room deletion with its memories) run in a transaction.
    Migrations take an advisory lock, so workers starting together on an empty database apply them once.

Ids stay the exact strings given (``text`` with byte-wise collation), as in the SQLite store; the pgvector
extension must be installable (``CREATE EXTENSION vector``) by the connecting role on first open.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._pg_db import MIGRATIONS, PgDb
from ._pg_entities import PgEntityStore
from ._pg_local import LocalPostgres
from ._pg_memories import DEFAULT_EXACT_SCAN_MAX, PgMemoryStore
from ._pg_records import PgAgentStore, PgCacheStore, PgLogStore, PgRelationshipStore, PgTaskStore
from ._pg_rooms import PgRoomStore
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


def normalize_url(url: str) -> str:
    """libpq's URL from what users write: ``postgres://``, ``postgresql://`` or SQLAlchemy's
    ``postgresql+psycopg://`` (the driver suffix is dropped)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return url.strip()  # a key=value connection string
    if scheme.lower().startswith("postgresql+"):
        scheme = "postgresql"
    return f"{scheme}://{rest}"


class PostgresStore:
    """A :class:`~elizapy.store.base.Store` on a PostgreSQL database with the pgvector extension.

    ``url`` is a libpq URL or connection string. ``min_size``/``max_size`` bound the connection pool;
    ``exact_scan_max`` is how many filtered candidates vector search still scans exactly;
    ``prepare_threshold`` is psycopg's (``None`` disables server-side prepared statements, needed behind
    PgBouncer in transaction mode). Call ``await open()`` before use and ``await close()`` after;
    ``async with`` does both.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        exact_scan_max: int = DEFAULT_EXACT_SCAN_MAX,
        connect_timeout_s: float = 10.0,
        prepare_threshold: int | None = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = normalize_url(url)
        self._db = PgDb(self.url, min_size=min_size, max_size=max_size, connect_timeout_s=connect_timeout_s,
                        prepare_threshold=prepare_threshold)
        self.memories: MemoryStore = PgMemoryStore(self._db, exact_scan_max=exact_scan_max)
        self.entities: EntityStore = PgEntityStore(self._db)
        self.rooms: RoomStore = PgRoomStore(self._db)
        self.relationships: RelationshipStore = PgRelationshipStore(self._db)
        self.tasks: TaskStore = PgTaskStore(self._db)
        self.cache: CacheStore = PgCacheStore(self._db, clock)
        self.logs: LogStore = PgLogStore(self._db)
        self.agents: AgentStore = PgAgentStore(self._db)

    async def open(self) -> None:
        """Connect, apply pending migrations and open the pool; a no-op when already open."""
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    @property
    def is_open(self) -> bool:
        return self._db.is_open

    async def schema_version(self) -> int:
        return await self._db.schema_version()

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self.url)!r})"


def _redact(url: str) -> str:
    """The URL without its password, for logs and reprs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


__all__ = ["MIGRATIONS", "LocalPostgres", "PostgresStore", "normalize_url"]
