"""The server's messaging tables (``CentralStore``): migrations, ordering, DM channels, cascades."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from elizapy.errors import StoreError
from elizapy.server.central import DEFAULT_SERVER_ID, CentralStore, iso
from elizapy.store.sqlite import SqliteStore


async def test_tables_share_the_agent_store_file_and_survive_a_reopen(tmp_path: Path) -> None:
    db = tmp_path / "both.db"
    async with SqliteStore(db):
        pass
    store = CentralStore(db)
    await store.open()
    await store.open()  # idempotent
    await store.create_server(name="Default Server", source_type="eliza_default", server_id=DEFAULT_SERVER_ID)
    channel = await store.create_channel(server_id=DEFAULT_SERVER_ID, name="c", participants=["a", "b", "a"])
    msg = await store.create_message(
        channel_id=channel.id, author_id="a", content="hello", raw_message={"x": 1}, metadata={"k": [1, 2]}
    )
    await store.close()

    again = CentralStore(db)
    await again.open()
    assert [s.id for s in await again.list_servers()] == [DEFAULT_SERVER_ID]
    assert await again.participants(channel.id) == ["a", "b"]
    stored = await again.get_message(msg.id)
    assert stored is not None and stored.raw_message == {"x": 1} and stored.metadata == {"k": [1, 2]}
    await again.close()
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"memories", "agents", "central_messages", "channels", "message_servers"} <= tables


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    store = CentralStore(db)
    await store.open()
    await store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO elizapy_server_schema (version) VALUES (99)")
    with pytest.raises(StoreError, match="newer than this elizapy"):
        await CentralStore(db).open()


async def test_messages_are_newest_first_and_paginate_by_time() -> None:
    store = CentralStore()
    await store.open()
    channel = await store.create_channel(server_id=DEFAULT_SERVER_ID, name="c")
    sent = [
        await store.create_message(channel_id=channel.id, author_id="u", content=str(i)) for i in range(5)
    ]
    assert len({m.created_at for m in sent}) == 5  # strictly increasing even within one millisecond
    assert [m.content for m in await store.messages(channel.id)] == ["4", "3", "2", "1", "0"]
    assert [m.content for m in await store.messages(channel.id, limit=2, before=sent[3].created_at)] == [
        "2",
        "1",
    ]
    assert [m.content for m in await store.messages(channel.id, after=sent[2].created_at)] == ["4", "3"]
    with pytest.raises(StoreError, match="already exists"):
        await store.create_message(channel_id=channel.id, author_id="u", content="dup", message_id=sent[0].id)
    await store.close()


async def test_dm_channels_are_found_either_way_round_and_deleting_cascades() -> None:
    store = CentralStore()
    await store.open()
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    first = await store.find_dm_channel(a, b, DEFAULT_SERVER_ID)
    assert (await store.find_dm_channel(b, a, DEFAULT_SERVER_ID)).id == first.id
    assert first.type == "DM" and sorted(await store.participants(first.id)) == sorted([a, b])
    updated = await store.update_channel(first.id, name="renamed", participants=[a])
    assert updated is not None and updated.name == "renamed" and await store.participants(first.id) == [a]
    assert await store.update_channel(str(uuid.uuid4()), name="x") is None
    await store.create_message(channel_id=first.id, author_id=a, content="bye")
    await store.delete_channel(first.id)
    assert await store.get_channel(first.id) is None
    assert await store.messages(first.id) == [] and await store.participants(first.id) == []
    await store.close()


def test_iso_matches_javascript_date_json() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
