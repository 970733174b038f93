"""Memories and vector search for :class:`~elizapy.store.postgres.PostgresStore`.

Vector search strategy (correctness first, then speed), parallel to the SQLite store's:

1. Count the memories with a vector of the query's size that pass the filters, stopping at
   ``exact_scan_max + 1`` so the count stays cheap (it walks a btree index).
2. Few candidates (the usual case with a room, entity or agent filter): an exact scan over just those rows,
   ordered by ``1 - (vector <=> query)``. pgvector only serves ``ORDER BY vector <=> constant`` from an HNSW
   index, so ordering by the similarity expression keeps the planner off the approximate index.
3. Many candidates: the HNSW index (``ORDER BY vector <=> query LIMIT count``) with ``hnsw.ef_search``
   raised to the count and, on pgvector 0.8+, ``hnsw.iterative_scan = strict_order``, so rows rejected by
   the filters do not starve the result. This path is approximate (HNSW's recall, typically > 0.95), as in
   plugin-sql. If it returns fewer than ``count`` rows while the threshold did not cut them (older pgvector
   without iterative scans), the exact scan runs instead.

3,072-dimension vectors are indexed as ``halfvec`` (HNSW takes ``vector`` only up to 2,000 dimensions);
similarities are always computed on the stored full-precision vectors. Zero vectors have no cosine distance
(pgvector returns NaN): they never match.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..types import UUID, Content, Memory, MemoryMetadata, new_uuid, now_ms
from ._pg_db import PgDb, Row, Tx, Vector, jsonb, vector
from ._shared import memory_filters
from .base import EMBEDDING_DIMENSIONS

DEFAULT_EXACT_SCAN_MAX = 5000
"""Up to this many filtered candidates, search scans them exactly instead of using the HNSW index (an exact
scan of 5,000 384-dimension vectors takes a few milliseconds)."""

_COLUMNS = (
    "m.id, m.type, m.entity_id, m.agent_id, m.room_id, m.world_id, m.created_at, m.is_unique, "
    "m.content, m.metadata"
)
_VECTOR = "COALESCE(" + ", ".join(f"m.dim_{d}" for d in EMBEDDING_DIMENSIONS) + ")"
_SELECT = f"SELECT {_COLUMNS}, {_VECTOR} FROM memories m"
_SELECT_NO_VECTOR = f"SELECT {_COLUMNS}, NULL::vector FROM memories m"
"""Listings skip the vectors unless asked: recent-message reads are on every turn's hot path."""
_NEWEST_FIRST = "ORDER BY m.created_at DESC, m.seq DESC"


def _to_memory(row: Row, similarity: float | None = None) -> Memory:
    metadata = row[9]
    return Memory(
        id=row[0],
        entity_id=row[2],
        agent_id=row[3],
        room_id=row[4],
        world_id=row[5],
        created_at=row[6],
        unique=bool(row[7]),
        content=Content.model_validate(row[8]),
        metadata=None if metadata is None else MemoryMetadata.model_validate(metadata),
        embedding=row[10],
        similarity=similarity,
    )


_filters = partial(memory_filters, mark="%s", always_true="TRUE", unique_param=bool)
"""Memory filters in this driver's placeholder style (see :func:`memory_filters`)."""


def _limit(count: int | None) -> int | None:
    """``LIMIT NULL`` is no limit in Postgres."""
    return None if count is None else max(count, 0)


def _embedding(embedding: Sequence[float] | None) -> Vector | None:
    """None for no (or an empty) embedding; otherwise the parameter, after checking its size."""
    if not embedding:
        return None
    return vector(embedding)


class PgMemoryStore:
    def __init__(self, db: PgDb, *, exact_scan_max: int = DEFAULT_EXACT_SCAN_MAX) -> None:
        self._db = db
        self.exact_scan_max = exact_scan_max

    async def create(self, memory: Memory, table: str, *, unique: bool = False) -> UUID:
        memory_id = memory.id or new_uuid()
        vec = _embedding(memory.embedding)
        vector_columns, vector_values = "", ""
        args: list[Any] = [
            memory_id, table, memory.entity_id, memory.agent_id, memory.room_id, memory.world_id,
            memory.created_at if memory.created_at is not None else now_ms(),
            unique or bool(memory.unique), jsonb(memory.content.to_wire()),
            None if memory.metadata is None else jsonb(memory.metadata.to_wire()),
        ]
        if vec is not None:
            vector_columns, vector_values = f", embedding_dim, dim_{vec.dim}", ", %s, %b"
            args += [vec.dim, vec]
        await self._db.run(
            "INSERT INTO memories (id, type, entity_id, agent_id, room_id, world_id, created_at, is_unique, "
            f"content, metadata{vector_columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s"
            f"{vector_values}) ON CONFLICT (id) DO NOTHING",
            args,
        )
        return memory_id

    async def get(self, memory_id: UUID) -> Memory | None:
        row = await self._db.one(f"{_SELECT} WHERE m.id = %s", (memory_id,))
        return None if row is None else _to_memory(row)

    async def get_many(self, ids: Sequence[UUID], *, table: str | None = None) -> builtins.list[Memory]:
        """In the order of ``ids``; unknown ids (or ones in another table) are skipped."""
        if not ids:
            return []
        if table is None:
            rows = await self._db.all(f"{_SELECT} WHERE m.id = ANY(%s)", (list(ids),))
        else:
            rows = await self._db.all(f"{_SELECT} WHERE m.id = ANY(%s) AND m.type = %s", (list(ids), table))
        by_id = {row[0]: row for row in rows}
        return [_to_memory(by_id[i]) for i in dict.fromkeys(ids) if i in by_id]

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
        where, args = _filters(
            table, room_id=room_id, entity_id=entity_id, agent_id=agent_id, world_id=world_id,
            unique=unique, start=start, end=end,
        )
        rows = await self._db.all(
            f"{_SELECT if with_embeddings else _SELECT_NO_VECTOR} WHERE {where} {_NEWEST_FIRST} "
            "LIMIT %s OFFSET %s",
            (*args, _limit(count), max(offset, 0)),
        )
        return [_to_memory(row) for row in rows]

    async def list_by_rooms(
        self, *, table: str, room_ids: Sequence[UUID], limit: int | None = None,
        agent_id: UUID | None = None, with_embeddings: bool = False,
    ) -> builtins.list[Memory]:
        """Newest first across all the rooms; ``limit`` caps the total."""
        if not room_ids:
            return []
        where, args = _filters(table, agent_id=agent_id)
        rows = await self._db.all(
            f"{_SELECT if with_embeddings else _SELECT_NO_VECTOR} WHERE {where} AND m.room_id = ANY(%s) "
            f"{_NEWEST_FIRST} LIMIT %s",
            (*args, list(room_ids), _limit(limit)),
        )
        return [_to_memory(row) for row in rows]

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
    ) -> builtins.list[Memory]:
        """See the module docstring for when the search is exact."""
        query = vector(embedding)
        if count <= 0:
            return []
        where, args = _filters(
            table, room_id=room_id, world_id=world_id, entity_id=entity_id, agent_id=agent_id, unique=unique,
        )
        where = f"{where} AND m.embedding_dim = %s"
        args.append(query.dim)
        candidates = await self._db.one(
            f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {where} LIMIT %s) c",
            (*args, self.exact_scan_max + 1),
        )
        if candidates is not None and candidates[0] <= self.exact_scan_max:
            scored = await self._exact(where, args, query, count, match_threshold)
        else:
            scored = await self._index(where, args, query, count, match_threshold)
        return [_to_memory(row, similarity) for row, similarity in scored]

    async def _exact(
        self, where: str, args: builtins.list[Any], query: Vector, count: int, match_threshold: float,
    ) -> builtins.list[tuple[Row, float]]:
        column = f"m.dim_{query.dim}"
        rows = await self._db.all(
            f"SELECT * FROM (SELECT {_COLUMNS}, {column}, 1 - ({column} <=> %b) AS similarity "
            f"FROM memories m WHERE {where}) s "
            "WHERE s.similarity >= %s AND s.similarity <> 'NaN' ORDER BY s.similarity DESC LIMIT %s",
            (query, *args, match_threshold, count),
        )
        return [(row[:-1], float(row[-1])) for row in rows]

    async def _index(
        self, where: str, args: builtins.list[Any], query: Vector, count: int, match_threshold: float,
    ) -> builtins.list[tuple[Row, float]]:
        column = f"m.dim_{query.dim}"
        if query.dim > 2000:
            if not self._db.capabilities.halfvec:  # no index on this size: the scan is the only way
                return await self._exact(where, args, query, count, match_threshold)
            order = f"({column}::halfvec({query.dim})) <=> (%b::halfvec({query.dim}))"
        else:
            order = f"{column} <=> %b"
        async with self._db.tx() as tx:
            await self._tune(tx, count)
            rows = await tx.all(
                f"SELECT {_COLUMNS}, {column}, 1 - ({column} <=> %b) AS similarity FROM memories m "
                f"WHERE {where} ORDER BY {order} LIMIT %s",
                (query, *args, query, count),
            )
        scored = [(row[:-1], float(row[-1])) for row in rows if row[-1] == row[-1]]  # drop NaN
        kept = [(row, s) for row, s in scored if s >= match_threshold]
        if len(rows) < count and len(kept) == len(scored):
            # Fewer than asked although nothing fell below the threshold: the index scan gave up early.
            return await self._exact(where, args, query, count, match_threshold)
        return kept

    async def _tune(self, tx: Tx, count: int) -> None:
        await tx.one("SELECT set_config('hnsw.ef_search', %s, true)", (str(min(max(count, 40), 1000)),))
        if self._db.capabilities.iterative_scan:
            await tx.one("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")

    async def update(
        self,
        memory_id: UUID,
        *,
        content: Content | None = None,
        metadata: MemoryMetadata | None = None,
        embedding: Sequence[float] | None = None,
    ) -> bool:
        """An empty ``embedding`` removes the stored one."""
        sets: builtins.list[str] = []
        args: builtins.list[Any] = []
        if content is not None:
            sets.append("content = %s")
            args.append(jsonb(content.to_wire()))
        if metadata is not None:
            sets.append("metadata = %s")
            args.append(jsonb(metadata.to_wire()))
        if embedding is not None:
            vec = _embedding(embedding)
            kept = None if vec is None else vec.dim
            # A column may be assigned once per UPDATE: clear every other size, then set the new one.
            sets.append(", ".join(f"dim_{d} = NULL" for d in EMBEDDING_DIMENSIONS if d != kept))
            if vec is None:
                sets.append("embedding_dim = NULL")
            else:
                sets.append(f"embedding_dim = %s, dim_{vec.dim} = %b")
                args += [vec.dim, vec]
        if not sets:
            return await self._db.one("SELECT 1 FROM memories WHERE id = %s", (memory_id,)) is not None
        changed = await self._db.run(
            f"UPDATE memories SET {', '.join(sets)} WHERE id = %s", (*args, memory_id)
        )
        return changed > 0

    async def delete(self, memory_id: UUID) -> None:
        await self._db.run("DELETE FROM memories WHERE id = %s", (memory_id,))

    async def delete_many(self, ids: Sequence[UUID]) -> None:
        if ids:
            await self._db.run("DELETE FROM memories WHERE id = ANY(%s)", (list(ids),))

    async def delete_all(self, room_id: UUID, table: str) -> None:
        await self._db.run("DELETE FROM memories WHERE room_id = %s AND type = %s", (room_id, table))

    async def count(self, room_id: UUID, *, table: str = "messages", unique: bool | None = None) -> int:
        where, args = _filters(table, room_id=room_id, unique=unique)
        row = await self._db.one(f"SELECT count(*) FROM memories m WHERE {where}", args)
        return int(row[0]) if row else 0
