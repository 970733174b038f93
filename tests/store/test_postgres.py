"""What the conformance suite cannot see about the Postgres store: the HNSW path, halfvec for 3,072
dimensions, migrations under concurrency, URL handling and error conversion."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from elizapy.errors import StoreError
from elizapy.types import Content, Memory, new_uuid

from .conftest import BACKENDS

psycopg = pytest.importorskip("psycopg")

from elizapy.store.postgres import MIGRATIONS, PostgresStore, normalize_url  # noqa: E402


def unit(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def mem(room_id: str, text: str, embedding: list[float] | None = None, **fields: object) -> Memory:
    return Memory(entity_id=new_uuid(), room_id=room_id, content=Content(text=text), embedding=embedding,
                  **fields)  # type: ignore[arg-type]


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a fresh, migrated Postgres schema (the conformance backend's)."""
    store = BACKENDS["postgres"].build(tmp_path)
    assert isinstance(store, PostgresStore)
    await store.open()
    await store.close()
    yield store.url


async def explain(store: PostgresStore, sql: str, args: tuple[object, ...]) -> str:
    async with store._db.connection() as c:  # the plan is the point here
        rows = await c.all("EXPLAIN " + sql, args)
    return "\n".join(str(row[0]) for row in rows)


async def test_index_path_uses_hnsw_and_keeps_filtered_results_full(url: str) -> None:
    """With the exact scan switched off, search goes through HNSW; a selective filter whose rows are far from
    the query still yields ``count`` rows (iterative index scan), in similarity order.

    The filter is ``unique`` (no btree index), and sequential scans and sorts are discouraged for these
    connections, as the planner would otherwise sort a table this small: what is tested is the index path's
    behaviour, not the planner's choice."""
    rng = random.Random(7)
    steered = url.replace("options=", "options=-c%20enable_seqscan%3Doff%20-c%20enable_sort%3Doff%20", 1)
    async with PostgresStore(steered, exact_scan_max=0) as store:
        crowd, wanted = new_uuid(), new_uuid()
        for i in range(1500):
            near = unit([1.0, rng.uniform(0, 0.2)] + [rng.uniform(-0.05, 0.05) for _ in range(382)])
            await store.memories.create(mem(new_uuid(), f"c{i}", near, agent_id=crowd), "documents")
        for i in range(20):
            far = unit([1.0, 3.0 + i * 0.1] + [0.0] * 382)
            await store.memories.create(mem(new_uuid(), f"w{i}", far, agent_id=wanted), "documents",
                                        unique=True)
        async with store._db.connection() as c:
            await c.run("ANALYZE memories")

        query = unit([1.0, 0.0] + [0.0] * 382)
        plan = await explain(
            store,
            "SELECT id FROM memories m WHERE m.type = 'documents' AND m.is_unique AND m.embedding_dim = 384 "
            "ORDER BY m.dim_384 <=> %s::vector LIMIT 5",
            (str(query),),
        )
        assert "memories_dim_384_hnsw" in plan

        found = await store.memories.search(table="documents", embedding=query, unique=True, count=5)
        assert [m.content.text for m in found] == ["w0", "w1", "w2", "w3", "w4"]
        sims = [m.similarity or 0.0 for m in found]
        assert sims == sorted(sims, reverse=True)
        assert sims[0] == pytest.approx(1 / math.sqrt(10), abs=1e-4)

        top = await store.memories.search(table="documents", embedding=query, count=10)
        assert len(top) == 10 and all((m.content.text or "").startswith("c") for m in top)
        exact = sorted((m for m in await store.memories.list(table="documents", with_embeddings=True)
                        if m.agent_id == crowd),
                       key=lambda m: -sum(a * b for a, b in zip(m.embedding or [], query, strict=True)))
        recall = len({m.id for m in top} & {m.id for m in exact[:10]}) / 10
        assert recall >= 0.8  # approximate by design; typically 1.0


async def test_exact_path_does_not_use_the_index(url: str) -> None:
    async with PostgresStore(url) as store:
        plan = await explain(
            store,
            "SELECT * FROM (SELECT m.id, 1 - (m.dim_384 <=> %s::vector) AS similarity FROM memories m "
            "WHERE m.type = 'documents') s ORDER BY s.similarity DESC LIMIT 5",
            (str([1.0] + [0.0] * 383),),
        )
        assert "hnsw" not in plan


@pytest.mark.parametrize("exact_scan_max", [0, 5000])
async def test_3072_dimensions_via_halfvec(url: str, exact_scan_max: int) -> None:
    async with PostgresStore(url, exact_scan_max=exact_scan_max) as store:
        room = new_uuid()
        a = unit([1.0, 0.001] + [0.0] * 3070)
        b = unit([1.0, 1.0] + [0.0] * 3070)
        await store.memories.create(mem(room, "a", a), "facts")
        await store.memories.create(mem(room, "b", b), "facts")
        found = await store.memories.search(table="facts", embedding=unit([1.0] + [0.0] * 3071), count=2)
        assert [m.content.text for m in found] == ["a", "b"]
        # Full-precision similarity, not the half-precision index copy.
        assert found[1].similarity == pytest.approx(math.sqrt(0.5), abs=1e-6)
        assert found[0].embedding is not None and len(found[0].embedding) == 3072
        assert store._db.capabilities.halfvec


async def test_concurrent_first_opens_migrate_once(url: str) -> None:
    schema = "fresh_" + new_uuid().replace("-", "")[:12]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
    fresh = url.replace("search_path%3D", f"search_path%3D{schema}%2C", 1)
    stores = [PostgresStore(fresh) for _ in range(4)]
    try:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for s in stores:
                    tg.start_soon(s.open)
        for s in stores:
            assert await s.schema_version() == len(MIGRATIONS)
        async with stores[0]._db.connection() as c:
            rows = await c.all(f"SELECT version FROM {schema}.schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for s in stores:
            await s.close()


async def test_newer_schema_is_refused(url: str) -> None:
    async with PostgresStore(url) as store, store._db.connection() as c:
        await c.run("INSERT INTO schema_version (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer than this elizapy"):
        await PostgresStore(url).open()


async def test_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    store = PostgresStore(f"postgresql://nobody@/x?host={tmp_path}&port=1", connect_timeout_s=2)
    with pytest.raises(StoreError, match="cannot connect"):
        await store.open()
    with pytest.raises(StoreError, match="not open"):
        await store.memories.get(new_uuid())


async def test_json_postgres_cannot_hold_is_a_store_error(url: str) -> None:
    """JSONB refuses the NUL character (SQLite stores it): the caller gets a StoreError, the pool survives."""
    async with PostgresStore(url) as store:
        room = new_uuid()
        with pytest.raises(StoreError):
            await store.memories.create(mem(room, "nul \x00 inside"), "messages")
        assert await store.memories.count(room) == 0
        await store.memories.create(mem(room, "fine"), "messages")
        assert await store.memories.count(room) == 1


def test_normalize_url() -> None:
    assert normalize_url("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
    assert normalize_url(" postgres://h/db ") == "postgres://h/db"
    assert normalize_url("host=/tmp dbname=x") == "host=/tmp dbname=x"
    assert "secret" not in repr(PostgresStore("postgresql://u:secret@h/db"))
