"""The connection pool every aggregate of a :class:`~elizapy.store.postgres.PostgresStore` shares.

It owns the driver set-up (psycopg 3 with a ``psycopg_pool`` async pool), the versioned migrations, the binary
adapter for pgvector's ``vector`` type and the conversion of driver errors into
:class:`~elizapy.errors.StoreError`. Every statement of the store goes through :meth:`PgDb.all`,
:meth:`PgDb.one`, :meth:`PgDb.run` or a :meth:`PgDb.tx` transaction, so errors are converted in one place.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import psycopg
from psycopg import AsyncConnection
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.rows import TupleRow
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb, set_json_dumps
from psycopg_pool import AsyncConnectionPool

from ..errors import StoreError
from ._shared import compact_dumps
from .base import EMBEDDING_DIMENSIONS

Row = tuple[Any, ...]
Conn = AsyncConnection[TupleRow]

MIGRATION_LOCK = 0x656C697A61707900  # pg_advisory_xact_lock key: serialises migrating processes
"""Any 64-bit number unlikely to clash with an application's own advisory locks ("elizapy" in hex)."""

_ID = 'text COLLATE "C" NOT NULL'
"""Ids are kept as the exact strings given (the SQLite store does the same; ``uuid`` would reject non-UUID
strings and change their case). Byte-wise collation keeps the btree indexes on them fast. Never change this:
released migrations below interpolate it."""
_REF = 'text COLLATE "C"'

HALFVEC_MIN = (0, 7)
"""pgvector version that brought ``halfvec``: HNSW indexes only take ``vector`` up to 2,000 dimensions, so
3,072-dimension embeddings are indexed through a ``halfvec`` expression when it is available."""
ITERATIVE_SCAN_MIN = (0, 8)
"""pgvector version that brought iterative index scans (filtered HNSW queries that keep scanning)."""
HNSW_MIN = (0, 5)

_DIM_COLUMNS = ",\n".join(f"dim_{d} vector({d})" for d in EMBEDDING_DIMENSIONS)
_HNSW_INDEXES = [
    f"CREATE INDEX memories_dim_{d}_hnsw ON memories USING hnsw (dim_{d} vector_cosine_ops)"
    for d in EMBEDDING_DIMENSIONS
    if d <= 2000
]

# Each migration is a list of statements run in one transaction; the index + 1 is the schema version it
# brings the database to. Append new migrations; never edit a released one.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE EXTENSION IF NOT EXISTS vector",
        f"""CREATE TABLE agents (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            name text,
            enabled boolean NOT NULL DEFAULT true,
            character jsonb NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        )""",
        f"""CREATE TABLE entities (
            id {_ID} PRIMARY KEY,
            agent_id {_ID},
            names jsonb NOT NULL,
            metadata jsonb NOT NULL,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX entities_agent ON entities (agent_id)",
        f"""CREATE TABLE components (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            entity_id {_ID},
            agent_id {_ID},
            room_id {_ID},
            world_id {_ID},
            source_entity_id {_ID},
            type text NOT NULL,
            data jsonb NOT NULL,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX components_entity ON components (entity_id, type)",
        "CREATE INDEX components_source ON components (source_entity_id)",
        f"""CREATE TABLE worlds (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            agent_id {_ID},
            name text,
            message_server_id {_REF},
            metadata jsonb,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX worlds_agent ON worlds (agent_id)",
        f"""CREATE TABLE rooms (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            agent_id {_REF},
            source text NOT NULL,
            type text NOT NULL,
            channel_id text,
            message_server_id {_REF},
            world_id {_REF},
            name text,
            metadata jsonb,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX rooms_world ON rooms (world_id)",
        f"""CREATE TABLE participants (
            room_id {_ID},
            entity_id {_ID},
            seq bigint GENERATED ALWAYS AS IDENTITY,
            agent_id {_REF},
            room_state text CHECK (room_state IN ('FOLLOWED', 'MUTED')),
            created_at bigint NOT NULL,
            PRIMARY KEY (room_id, entity_id)
        )""",
        "CREATE INDEX participants_entity ON participants (entity_id, room_id)",
        # One nullable vector column per plugin-sql size, on the memory row itself: filters and vector live in
        # one table, so a filtered HNSW scan needs no join, and an unset column costs one null-bitmap bit.
        f"""CREATE TABLE memories (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            type text NOT NULL,
            entity_id {_ID},
            agent_id {_REF},
            room_id {_ID},
            world_id {_REF},
            created_at bigint NOT NULL,
            is_unique boolean NOT NULL DEFAULT false,
            content jsonb NOT NULL,
            metadata jsonb,
            embedding_dim smallint,
            {_DIM_COLUMNS}
        )""",
        "CREATE INDEX memories_room ON memories (room_id, type, created_at DESC, seq DESC)",
        "CREATE INDEX memories_agent ON memories (agent_id, type)",
        "CREATE INDEX memories_entity ON memories (entity_id)",
        "CREATE INDEX memories_world ON memories (world_id)",
        "CREATE INDEX memories_type ON memories (type, created_at DESC, seq DESC)",
        *_HNSW_INDEXES,
        # 3,072 dimensions exceed HNSW's limit for `vector`: index a half-precision copy when pgvector can.
        """DO $$ BEGIN
            IF (SELECT string_to_array(extversion, '.')::int[] FROM pg_extension WHERE extname = 'vector')
                    >= ARRAY[0, 7] THEN
                CREATE INDEX memories_dim_3072_hnsw ON memories
                    USING hnsw ((dim_3072::halfvec(3072)) halfvec_cosine_ops);
            END IF;
        END $$""",
        f"""CREATE TABLE relationships (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            source_entity_id {_ID},
            target_entity_id {_ID},
            agent_id {_ID},
            tags jsonb NOT NULL,
            metadata jsonb NOT NULL,
            created_at text NOT NULL,
            UNIQUE (source_entity_id, target_entity_id, agent_id)
        )""",
        "CREATE INDEX relationships_target ON relationships (target_entity_id)",
        f"""CREATE TABLE tasks (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            name text NOT NULL,
            description text NOT NULL,
            room_id {_REF},
            world_id {_REF},
            entity_id {_REF},
            tags jsonb NOT NULL,
            metadata jsonb,
            created_at bigint NOT NULL,
            updated_at bigint
        )""",
        "CREATE INDEX tasks_room ON tasks (room_id)",
        "CREATE INDEX tasks_name ON tasks (name)",
        "CREATE INDEX tasks_entity ON tasks (entity_id)",
        """CREATE TABLE cache (
            key text COLLATE "C" PRIMARY KEY,
            value jsonb NOT NULL,
            expires_at bigint,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX cache_expires ON cache (expires_at) WHERE expires_at IS NOT NULL",
        f"""CREATE TABLE logs (
            id {_ID} PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            entity_id {_ID},
            room_id {_REF},
            type text NOT NULL,
            body jsonb NOT NULL,
            created_at bigint NOT NULL
        )""",
        "CREATE INDEX logs_entity ON logs (entity_id, created_at DESC)",
        "CREATE INDEX logs_room ON logs (room_id, created_at DESC)",
        "CREATE INDEX logs_type ON logs (type, created_at DESC)",
    ],
]


# --- JSON and vectors -------------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """Compact JSON text; pydantic models are written in their wire form."""
    return compact_dumps(value)


def jsonb(value: Any) -> Jsonb:
    """A JSONB parameter, checked here so a bad value is a StoreError before any statement runs."""
    try:
        dumps(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from exc
    return Jsonb(value)


def jsonb_or_none(value: Any) -> Jsonb | None:
    return None if value is None else jsonb(value)


@dataclass(frozen=True, slots=True)
class Vector:
    """An embedding as a statement parameter (a plain list would be sent as a Postgres array)."""

    values: tuple[float, ...]

    @property
    def dim(self) -> int:
        return len(self.values)


def vector(embedding: Sequence[float]) -> Vector:
    """The parameter for an embedding; rejects sizes plugin-sql has no column for."""
    if len(embedding) not in EMBEDDING_DIMENSIONS:
        sizes = ", ".join(str(d) for d in EMBEDDING_DIMENSIONS)
        raise StoreError(f"embedding has {len(embedding)} dimensions; supported sizes are {sizes}")
    try:
        values = tuple(float(v) for v in embedding)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"embedding must be a sequence of floats: {exc}") from exc
    return Vector(values)


class _VectorDumper(Dumper):
    """pgvector's binary input (``vector_recv``): dimension and an unused word (uint16 each), then float4s,
    all big-endian. The ``oid`` is set per database by :func:`_vector_adapters`."""

    format = Format.BINARY

    def dump(self, obj: Vector) -> Buffer:
        n = len(obj.values)
        return struct.pack(f"!HH{n}f", n, 0, *obj.values)


class _VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> list[float]:
        (n,) = struct.unpack_from("!H", data)
        return list(struct.unpack_from(f"!{n}f", data, 4))


class _VectorTextLoader(Loader):
    """``[1,2,3]``: pgvector's text output is a JSON array."""

    def load(self, data: Buffer) -> list[float]:
        values: list[float] = json.loads(bytes(data))
        return values


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


# --- the pool -----------------------------------------------------------------------------------------------


def _fail(exc: Exception, sql: str) -> NoReturn:
    raise StoreError(f"PostgreSQL error: {str(exc).strip()} (in: {_head(sql)})") from exc


def _head(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 80 else text[:77] + "..."


class Tx:
    """Statements on one connection (inside :meth:`PgDb.tx`, one transaction)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            cur = await self.conn.execute(sql, args, binary=True)
            return await cur.fetchall()
        except psycopg.Error as exc:
            _fail(exc, sql)

    async def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        try:
            cur = await self.conn.execute(sql, args, binary=True)
            return await cur.fetchone()
        except psycopg.Error as exc:
            _fail(exc, sql)

    async def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; returns the number of rows changed."""
        try:
            cur = await self.conn.execute(sql, args)
            return cur.rowcount
        except psycopg.Error as exc:
            _fail(exc, sql)

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement per row (pipelined); returns the rows changed in all."""
        if not rows:
            return 0
        try:
            async with self.conn.cursor() as cur:
                await cur.executemany(sql, rows)
                return cur.rowcount
        except psycopg.Error as exc:
            _fail(exc, sql)


@dataclass(frozen=True, slots=True)
class Capabilities:
    pgvector: tuple[int, ...]

    @property
    def iterative_scan(self) -> bool:
        return self.pgvector >= ITERATIVE_SCAN_MIN

    @property
    def halfvec(self) -> bool:
        return self.pgvector >= HALFVEC_MIN


class PgDb:
    def __init__(self, url: str, *, min_size: int, max_size: int, connect_timeout_s: float,
                 prepare_threshold: int | None) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._prepare_threshold = prepare_threshold
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._dumper: type[Dumper] | None = None
        self._vector_oid = 0
        self.capabilities = Capabilities(pgvector=(0,))

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    @property
    def pool(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise StoreError("the store is not open: call `await store.open()` first")
        return self._pool

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            conn = await AsyncConnection.connect(self.url, autocommit=True,
                                                 connect_timeout=max(1, round(self._connect_timeout_s)))
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {str(exc).strip()}") from exc
        async with conn:
            await self._migrate(conn)
            try:
                info = await TypeInfo.fetch(conn, "vector")
                row = await (await conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'vector'")).fetchone()
            except psycopg.Error as exc:
                _fail(exc, "TypeInfo.fetch(vector)")
        if info is None or row is None:
            raise StoreError("the pgvector extension is missing after migration")
        self.capabilities = Capabilities(pgvector=_version(str(row[0])))
        if self.capabilities.pgvector < HNSW_MIN:
            raise StoreError(f"pgvector {row[0]} is too old: elizapy needs 0.5 or newer (HNSW)")
        self._vector_oid = info.oid
        self._dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self.url, min_size=self._min_size, max_size=self._max_size, open=False, name="elizapy",
            kwargs={"autocommit": True, "prepare_threshold": self._prepare_threshold},
            configure=self._configure, timeout=self._connect_timeout_s * 3,
        )
        try:
            await pool.open(wait=True, timeout=self._connect_timeout_s)
        except psycopg.Error as exc:  # PoolTimeout is one
            await pool.close()
            raise StoreError(f"cannot open the PostgreSQL pool: {str(exc).strip()}") from exc
        self._pool = pool

    async def _configure(self, conn: Conn) -> None:
        assert self._dumper is not None
        conn.adapters.register_dumper(Vector, self._dumper)
        conn.adapters.register_loader(self._vector_oid, _VectorBinaryLoader)
        conn.adapters.register_loader(self._vector_oid, _VectorTextLoader)
        set_json_dumps(dumps, conn)

    async def _migrate(self, conn: Conn) -> None:
        sql = "migrations"
        try:
            async with conn.transaction():
                # Concurrent processes opening a fresh database queue here, then see the first one's work.
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
                current = int(row[0]) if row and row[0] is not None else 0
                if current > len(MIGRATIONS):
                    raise StoreError(
                        f"the database has schema version {current}, newer than this elizapy "
                        f"({len(MIGRATIONS)}); upgrade elizapy"
                    )
                for version in range(current + 1, len(MIGRATIONS) + 1):
                    for sql in MIGRATIONS[version - 1]:
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        except psycopg.Error as exc:
            _fail(exc, sql)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=10)

    # --- statements -------------------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Tx]:
        """A pooled connection in autocommit mode (each statement commits on its own)."""
        try:
            async with self.pool.connection() as conn:
                yield Tx(conn)
        except psycopg.Error as exc:  # pool timeouts, broken connections on return
            _fail(exc, "connection")

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """A transaction; ``raise psycopg.Rollback()`` inside ends it quietly without committing."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                yield Tx(conn)
        except psycopg.Error as exc:
            _fail(exc, "transaction")

    async def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        async with self.connection() as c:
            return await c.all(sql, args)

    async def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        async with self.connection() as c:
            return await c.one(sql, args)

    async def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self.connection() as c:
            return await c.run(sql, args)

    async def schema_version(self) -> int:
        row = await self.one("SELECT max(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0
