"""Memories and vector search for :class:`~elizapy.store.sqlite.SqliteStore`.

Vector search strategy (correctness first, then speed):

1. Count the memories that pass the filters (``table`` always, plus room/world/entity/agent/unique), stopping
   at ``EXACT_SCAN_MAX + 1`` so the count itself stays cheap (it walks an index).
2. Few candidates (the usual case with a room or entity filter): an exact scan over just those rows, with
   ``vec_distance_cosine`` on the stored vectors. Exact by construction.
3. Many candidates: a ``vec0`` KNN query (``embedding MATCH ? AND k = ?``) over-fetching
   ``k = max(count * 8, 64)`` nearest vectors, then applying the filters to them; while fewer than
   ``count`` pass, ``k`` grows fourfold.
   This is exact too: every vector outside the first ``k`` is farther than every one inside, so the best
   ``count`` filtered rows among the candidates are the best overall. It stops early when the KNN ran out of
   vectors or the farthest candidate is already below ``match_threshold``; past vec0's ``k`` limit (4096)
   it falls back to the exact scan of step 2.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..types import UUID, Content, Memory, MemoryMetadata, new_uuid, now_ms
from ._shared import memory_filters
from ._sqlite_db import Db, Row, blob_vector, dumps, loads, vector_blob

EXACT_SCAN_MAX = 2000
"""Up to this many filtered candidates, search scans them exactly instead of querying the vec0 index."""

VEC0_K_MAX = 4096
"""sqlite-vec's largest ``k`` for a KNN query."""

_COLUMNS = (
    "m.id, m.type, m.entity_id, m.agent_id, m.room_id, m.world_id, m.created_at, m.is_unique, "
    "m.content, m.metadata, e.vector"
)
_SELECT = f"SELECT {_COLUMNS} FROM memories m LEFT JOIN embeddings e ON e.memory_seq = m.seq"
_SELECT_NO_VECTOR = f"SELECT {_COLUMNS.replace('e.vector', 'NULL')} FROM memories m"
"""Listings skip the vectors unless asked: recent-message reads are on every turn's hot path."""
_NEWEST_FIRST = "ORDER BY m.created_at DESC, m.seq DESC"


def _to_memory(row: Row, similarity: float | None = None) -> Memory:
    metadata = loads(row[9])
    return Memory(
        id=row[0],
        entity_id=row[2],
        agent_id=row[3],
        room_id=row[4],
        world_id=row[5],
        created_at=row[6],
        unique=bool(row[7]),
        content=Content.model_validate(loads(row[8])),
        metadata=None if metadata is None else MemoryMetadata.model_validate(metadata),
        embedding=blob_vector(row[10]),
        similarity=similarity,
    )


_filters = partial(memory_filters, mark="?", always_true="1", unique_param=int)
"""Memory filters in this driver's placeholder style (see :func:`memory_filters`)."""


def _limit(count: int | None) -> int:
    return -1 if count is None else max(count, 0)


def _embedding_blob(embedding: Sequence[float] | None) -> bytes | None:
    """None for no (or an empty) embedding; otherwise the float32 blob, after checking its size."""
    if not embedding:
        return None
    return vector_blob(embedding)


class SqliteMemoryStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def create(self, memory: Memory, table: str, *, unique: bool = False) -> UUID:
        memory_id = memory.id or new_uuid()
        blob = _embedding_blob(memory.embedding)
        if blob is not None:
            self._db.ensure_vec_table(len(blob) // 4)
        metadata = None if memory.metadata is None else dumps(memory.metadata.to_wire())
        with self._db.tx():
            row = self._db.one(
                "INSERT INTO memories (id, type, entity_id, agent_id, room_id, world_id, created_at, "
                "is_unique, content, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING RETURNING seq",
                (
                    memory_id, table, memory.entity_id, memory.agent_id, memory.room_id, memory.world_id,
                    memory.created_at if memory.created_at is not None else now_ms(),
                    int(unique or bool(memory.unique)), dumps(memory.content.to_wire()), metadata,
                ),
            )
            if row is not None and blob is not None:
                self._db.run(
                    "INSERT INTO embeddings (memory_seq, dim, vector) VALUES (?, ?, ?)",
                    (row[0], len(blob) // 4, blob),
                )
        return memory_id

    async def get(self, memory_id: UUID) -> Memory | None:
        row = self._db.one(f"{_SELECT} WHERE m.id = ?", (memory_id,))
        return None if row is None else _to_memory(row)

    async def get_many(self, ids: Sequence[UUID], *, table: str | None = None) -> builtins.list[Memory]:
        """In the order of ``ids``; unknown ids (or ones in another table) are skipped."""
        if not ids:
            return []
        sql = f"{_SELECT} WHERE m.id IN (SELECT value FROM json_each(?))"
        if table is None:
            rows = self._db.all(sql, (dumps(list(ids)),))
        else:
            rows = self._db.all(f"{sql} AND m.type = ?", (dumps(list(ids)), table))
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
        rows = self._db.all(
            f"{_SELECT if with_embeddings else _SELECT_NO_VECTOR} WHERE {where} {_NEWEST_FIRST} "
            "LIMIT ? OFFSET ?",
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
        rows = self._db.all(
            f"{_SELECT if with_embeddings else _SELECT_NO_VECTOR} WHERE {where} "
            "AND m.room_id IN (SELECT value FROM json_each(?)) "
            f"{_NEWEST_FIRST} LIMIT ?",
            (*args, dumps(list(room_ids)), _limit(limit)),
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
        """See the module docstring for how filtered KNN stays exact."""
        query = vector_blob(embedding)
        dim = len(embedding)
        if count <= 0 or not self._db.has_vec_table(dim):
            return []
        where, args = _filters(
            table, room_id=room_id, world_id=world_id, entity_id=entity_id, agent_id=agent_id, unique=unique,
        )
        candidates = self._db.one(
            f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {where} LIMIT ?)",
            (*args, EXACT_SCAN_MAX + 1),
        )
        if count > VEC0_K_MAX or (candidates is not None and candidates[0] <= EXACT_SCAN_MAX):
            scored = self._exact(where, args, query, dim, count)
        else:
            scored = self._knn(where, args, query, dim, count, match_threshold)
        return [
            _to_memory(row, 1.0 - distance)
            for row, distance in scored
            if distance is not None and 1.0 - distance >= match_threshold
        ]

    def _exact(
        self, where: str, args: builtins.list[Any], query: bytes, dim: int, count: int,
    ) -> builtins.list[tuple[Row, float | None]]:
        rows = self._db.all(
            f"SELECT {_COLUMNS}, vec_distance_cosine(e.vector, ?) AS distance "
            f"FROM memories m JOIN embeddings e ON e.memory_seq = m.seq "
            f"WHERE e.dim = ? AND {where} AND distance IS NOT NULL ORDER BY distance LIMIT ?",
            (query, dim, *args, count),
        )
        return [(row[:-1], row[-1]) for row in rows]

    def _knn(
        self, where: str, args: builtins.list[Any], query: bytes, dim: int, count: int,
        match_threshold: float,
    ) -> builtins.list[tuple[Row, float | None]]:
        k = min(max(count * 8, 64), VEC0_K_MAX)
        mirror = self._db.mirror(dim)
        while True:
            if mirror is not None:
                nearest = mirror.nearest(self._db.conn, query, k)
            else:
                nearest = self._db.all(
                    f"SELECT rowid, distance FROM vec_{dim} WHERE embedding MATCH ? AND k = ? "
                    "ORDER BY distance",
                    (query, k),
                )
            distances = {seq: distance for seq, distance in nearest}
            # CROSS JOIN pins the candidates as the outer loop: rowid lookups, never an index scan over
            # every memory of the table/agent.
            rows = self._db.all(
                f"SELECT m.seq, {_COLUMNS} FROM json_each(?) AS c CROSS JOIN memories m ON m.seq = c.value "
                f"JOIN embeddings e ON e.memory_seq = m.seq WHERE {where}",
                (dumps(list(distances)), *args),
            )
            # Zero vectors have no cosine distance (NULL): they never match, so they do not count.
            scored = sorted(
                ((row[1:], distances[row[0]]) for row in rows if distances[row[0]] is not None),
                key=lambda item: item[1] or 0.0,
            )
            exhausted = len(nearest) < k
            farthest = nearest[-1][1] if nearest else None
            beyond_threshold = farthest is not None and 1.0 - farthest < match_threshold
            if len(scored) >= count or exhausted or beyond_threshold:
                return scored[:count]
            if k >= VEC0_K_MAX:
                return self._exact(where, args, query, dim, count)
            k = min(k * 4, VEC0_K_MAX)

    async def update(
        self,
        memory_id: UUID,
        *,
        content: Content | None = None,
        metadata: MemoryMetadata | None = None,
        embedding: Sequence[float] | None = None,
    ) -> bool:
        """An empty ``embedding`` removes the stored one."""
        blob = _embedding_blob(embedding)
        if blob is not None:
            self._db.ensure_vec_table(len(blob) // 4)
        with self._db.tx():
            row = self._db.one("SELECT seq FROM memories WHERE id = ?", (memory_id,))
            if row is None:
                return False
            seq = row[0]
            if content is not None:
                self._db.run(
                    "UPDATE memories SET content = ? WHERE seq = ?", (dumps(content.to_wire()), seq)
                )
            if metadata is not None:
                self._db.run(
                    "UPDATE memories SET metadata = ? WHERE seq = ?", (dumps(metadata.to_wire()), seq)
                )
            if embedding is not None:
                # vec0 has no upsert: delete (the trigger clears the index row) and insert afresh.
                self._db.run("DELETE FROM embeddings WHERE memory_seq = ?", (seq,))
                if blob is not None:
                    self._db.run(
                        "INSERT INTO embeddings (memory_seq, dim, vector) VALUES (?, ?, ?)",
                        (seq, len(blob) // 4, blob),
                    )
        return True

    # Deleting memories cascades to embeddings (foreign key) and from there to vec_<dim> (triggers), all in
    # the one statement, which SQLite runs atomically.

    async def delete(self, memory_id: UUID) -> None:
        self._db.run("DELETE FROM memories WHERE id = ?", (memory_id,))

    async def delete_many(self, ids: Sequence[UUID]) -> None:
        if ids:
            self._db.run(
                "DELETE FROM memories WHERE id IN (SELECT value FROM json_each(?))", (dumps(list(ids)),)
            )

    async def delete_all(self, room_id: UUID, table: str) -> None:
        self._db.run("DELETE FROM memories WHERE room_id = ? AND type = ?", (room_id, table))

    async def count(self, room_id: UUID, *, table: str = "messages", unique: bool | None = None) -> int:
        where, args = _filters(table, room_id=room_id, unique=unique)
        row = self._db.one(f"SELECT count(*) FROM memories m WHERE {where}", args)
        return int(row[0]) if row else 0

