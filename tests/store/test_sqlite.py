"""SQLite-specific behaviour beyond the protocol: URLs, pragmas, migrations, the vector search strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from elizapy.errors import ConfigError, StoreError
from elizapy.store import SqliteStore, open_store
from elizapy.store import _sqlite_memories as memories_module
from elizapy.store._sqlite_db import MIGRATIONS
from elizapy.types import new_uuid

from .conformance import mem, texts, vec


@pytest.mark.parametrize(
    ("url", "path"),
    [
        (None, ":memory:"),
        (":memory:", ":memory:"),
        ("sqlite://", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:///data/eliza.db", "data/eliza.db"),
        ("sqlite:////tmp/eliza.db", "/tmp/eliza.db"),
        ("./eliza.db", "./eliza.db"),
    ],
)
def test_open_store_urls(url: str | None, path: str) -> None:
    store = open_store(url)
    assert isinstance(store, SqliteStore) and store.path == path


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"])
def test_open_store_routes_postgres_urls(url: str) -> None:
    pytest.importorskip("psycopg")
    from elizapy.store.postgres import PostgresStore

    assert isinstance(open_store(url), PostgresStore)


@pytest.mark.parametrize("url", ["mysql://h/db", "sqlite:relative.db", ""])
def test_open_store_rejects_other_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


async def test_use_before_open_is_a_clear_error() -> None:
    store = SqliteStore()
    with pytest.raises(StoreError, match="open"):
        await store.memories.get(new_uuid())
    await store.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="open"):
        await store.cache.get("k")


async def test_file_store_pragmas_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "eliza.db"
    async with SqliteStore(path) as store:
        assert path.exists()
        assert store._db.one("PRAGMA journal_mode") == ("wal",)
        assert store._db.one("PRAGMA foreign_keys") == (1,)
        assert store._db.one("PRAGMA synchronous") == (1,)  # NORMAL
        assert await store.schema_version() == len(MIGRATIONS)
    async with SqliteStore(path) as again:
        assert await again.schema_version() == len(MIGRATIONS)
        rows = again._db.all("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(MIGRATIONS) + 1)]  # each migration applied once


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "eliza.db"
    async with SqliteStore(path) as store:
        store._db.run("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer"):
        await SqliteStore(path).open()


async def test_vec_tables_are_created_lazily_per_dimension() -> None:
    async with SqliteStore() as store:

        def vec_tables() -> list[str]:
            rows = store._db.all(
                "SELECT name FROM sqlite_master WHERE name GLOB 'vec_[0-9]*' AND sql LIKE '%vec0%'"
            )
            return sorted(name for (name,) in rows)

        assert vec_tables() == []
        await store.memories.create(mem(new_uuid(), embedding=vec(1)), "messages")
        assert vec_tables() == ["vec_384"]
        await store.memories.create(mem(new_uuid(), embedding=vec(1, dim=1024)), "messages")
        assert vec_tables() == ["vec_1024", "vec_384"]


async def test_second_connection_sees_a_vec_table_created_after_it_opened(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "db") as first, SqliteStore(tmp_path / "db") as second:
        memory_id = await first.memories.create(mem(new_uuid(), embedding=vec(1, dim=512)), "facts")
        found = await second.memories.search(table="facts", embedding=vec(1, dim=512))
        assert [m.id for m in found] == [memory_id]


async def test_knn_overfetch_falls_back_to_an_exact_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the index path with a tiny k limit: the filtered rows lie beyond it, so the exact scan runs."""
    monkeypatch.setattr(memories_module, "EXACT_SCAN_MAX", 0)
    monkeypatch.setattr(memories_module, "VEC0_K_MAX", 64)
    async with SqliteStore() as store:
        crowd, wanted = new_uuid(), new_uuid()
        for i in range(200):
            await store.memories.create(mem(crowd, f"c{i}", embedding=vec(1, 0.001 * i)), "messages")
        await store.memories.create(mem(wanted, "far", embedding=vec(1, 3)), "messages")
        await store.memories.create(mem(wanted, "near", embedding=vec(1, 2)), "messages")
        found = await store.memories.search(table="messages", embedding=vec(1, 0), room_id=wanted)
        assert texts(found) == ["near", "far"]
        # Unfiltered beyond the table's share: still the true nearest.
        assert texts(await store.memories.search(table="messages", embedding=vec(1, 0), count=2)) == [
            "c0",
            "c1",
        ]


async def test_cache_expiry_follows_the_injected_clock() -> None:
    now = [1_000_000.0]
    async with SqliteStore(clock=lambda: now[0]) as store:
        await store.cache.set("k", [1, 2], ttl_s=10)
        now[0] += 9.9
        assert await store.cache.get("k") == [1, 2]
        now[0] += 0.2
        assert await store.cache.get("k") is None
        assert await store.cache.delete("k") is False


async def test_zero_vectors_are_stored_but_never_match() -> None:
    async with SqliteStore() as store:
        room_id = new_uuid()
        await store.memories.create(mem(room_id, "zero", embedding=[0.0] * 384), "messages")
        await store.memories.create(mem(room_id, "one", embedding=vec(1)), "messages")
        assert texts(await store.memories.search(table="messages", embedding=vec(1), match_threshold=-1)) == [
            "one"
        ]
        assert texts(
            await store.memories.search(
                table="messages", embedding=vec(1), room_id=room_id, match_threshold=-1
            )
        ) == ["one"]
