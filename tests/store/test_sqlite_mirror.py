"""The int8 mirror behind large searches stays in sync with every kind of write."""

from __future__ import annotations

import math

import numpy as np
import pytest

from elizapy.store import _sqlite_memories
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Content, Memory, new_uuid

DIM = 384


def unit(i: int, j: int | None = None) -> list[float]:
    v = [0.0] * DIM
    v[i] = 1.0
    if j is not None:
        v[j] = 1.0
        n = math.sqrt(2)
        v = [x / n for x in v]
    return v


@pytest.fixture(autouse=True)
def force_knn_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sqlite_memories, "EXACT_SCAN_MAX", 3)


async def add(store: SqliteStore, vec: list[float], text: str, room: str | None = None) -> str:
    m = Memory(
        id=new_uuid(),
        entity_id=new_uuid(),
        room_id=room or new_uuid(),
        content=Content(text=text),
        embedding=vec,
    )
    await store.memories.create(m, "docs")
    return m.id or ""


async def top(store: SqliteStore, vec: list[float], **kw: object) -> list[str | None]:
    hits = await store.memories.search(table="docs", embedding=vec, count=3, **kw)  # type: ignore[arg-type]
    return [h.content.text for h in hits]


async def test_incremental_insert_update_delete(tmp_path):
    store = SqliteStore(tmp_path / "m.db")
    await store.open()
    for i in range(10):
        await add(store, unit(i + 10), f"filler {i}")
    a = await add(store, unit(1), "a")
    assert (await top(store, unit(1)))[0] == "a"  # builds the mirror
    b = await add(store, unit(2), "b")  # after the mirror exists
    assert (await top(store, unit(2)))[0] == "b"
    await store.memories.update(b, embedding=unit(3))
    assert (await top(store, unit(3)))[0] == "b"
    assert (await top(store, unit(2)))[0] != "b"
    await store.memories.delete(a)
    assert "a" not in await top(store, unit(1))
    hits = await store.memories.search(table="docs", embedding=unit(3), count=1)
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-6)
    await store.close()


async def test_writes_from_another_connection_are_seen(tmp_path):
    path = tmp_path / "shared.db"
    one, two = SqliteStore(path), SqliteStore(path)
    await one.open()
    await two.open()
    for i in range(6):
        await add(one, unit(i + 20), f"filler {i}")
    assert (await top(one, unit(5)))[0] != "from two"
    await add(two, unit(5), "from two")
    assert (await top(one, unit(5)))[0] == "from two"
    await one.close()
    await two.close()


async def test_room_cascade_delete_leaves_search(tmp_path):
    store = SqliteStore(tmp_path / "c.db")
    await store.open()
    room = new_uuid()
    for i in range(6):
        await add(store, unit(i + 30), f"filler {i}")
    await add(store, unit(7), "in room", room=room)
    assert (await top(store, unit(7)))[0] == "in room"
    await store.rooms.delete_room(room)
    assert "in room" not in await top(store, unit(7))
    await store.close()


async def test_matches_float_ranking_on_random_vectors(tmp_path):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((3000, DIM)).astype(np.float32)
    store = SqliteStore(tmp_path / "r.db")
    await store.open()
    room = new_uuid()
    for i, v in enumerate(data):
        await add(store, v.tolist(), str(i), room=room)
    q = rng.standard_normal(DIM).astype(np.float32)
    unitdata = data / np.linalg.norm(data, axis=1, keepdims=True)
    expected = [str(i) for i in np.argsort(-(unitdata @ (q / np.linalg.norm(q))))[:10]]
    hits = await store.memories.search(table="docs", embedding=q.tolist(), count=10)
    assert [h.content.text for h in hits] == expected
    await store.close()
