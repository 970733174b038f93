"""The store conformance suite: written against the protocols in ``elizapy.store.base`` only.

Every :class:`~elizapy.store.base.Store` implementation must pass it; ``test_conformance.py`` collects these
tests and ``conftest.py`` runs each once per backend.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from elizapy.errors import StoreError
from elizapy.store import EMBEDDING_DIMENSIONS, Store
from elizapy.types import (
    UUID,
    ChannelType,
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
    new_uuid,
)

from .conftest import OpenAnother

DIM = 384


def vec(*weights: float, dim: int = DIM) -> list[float]:
    """A unit vector whose leading components are proportional to ``weights`` (the rest zero)."""
    norm = math.sqrt(sum(w * w for w in weights))
    return [w / norm for w in weights] + [0.0] * (dim - len(weights))


def mem(
    room_id: UUID,
    text: str = "hello",
    *,
    entity_id: UUID | None = None,
    embedding: list[float] | None = None,
    **fields: Any,
) -> Memory:
    return Memory(
        id=fields.pop("id", new_uuid()),
        entity_id=entity_id or new_uuid(),
        room_id=room_id,
        content=Content(text=text),
        embedding=embedding,
        **fields,
    )


def texts(memories: list[Memory]) -> list[str | None]:
    return [m.content.text for m in memories]


def room(room_id: UUID | None = None, **fields: Any) -> Room:
    return Room(
        id=room_id or new_uuid(),
        source=fields.pop("source", "test"),
        type=fields.pop("type", ChannelType.GROUP),
        **fields,
    )


# --- memories ---------------------------------------------------------------------------------------------


class TestMemories:
    async def test_create_and_get_round_trip(self, store: Store) -> None:
        room_id, agent_id, world_id, entity_id = new_uuid(), new_uuid(), new_uuid(), new_uuid()
        memory = Memory(
            entity_id=entity_id,
            agent_id=agent_id,
            room_id=room_id,
            world_id=world_id,
            created_at=1_700_000_000_123,
            content=Content(text="hi there", actions=["REPLY"], source="discord", customKey={"a": [1, 2]}),
            metadata=MemoryMetadata(type="message", source="discord", tags=["x"]),
            embedding=vec(1, 2, 3),
        )
        memory_id = await store.memories.create(memory, "messages", unique=True)
        assert memory_id  # generated

        got = await store.memories.get(memory_id)
        assert got is not None
        assert got.id == memory_id
        assert (got.entity_id, got.agent_id, got.room_id, got.world_id) == (
            entity_id,
            agent_id,
            room_id,
            world_id,
        )
        assert got.created_at == 1_700_000_000_123
        assert got.unique is True
        assert got.content.to_wire() == {
            "text": "hi there",
            "actions": ["REPLY"],
            "source": "discord",
            "customKey": {"a": [1, 2]},
        }
        assert got.metadata is not None and got.metadata.tags == ["x"] and got.metadata.source == "discord"
        assert got.embedding is not None and got.embedding == pytest.approx(vec(1, 2, 3), abs=1e-6)
        assert got.similarity is None
        assert await store.memories.get(new_uuid()) is None

    async def test_created_at_defaults_to_now_and_unique_defaults_false(self, store: Store) -> None:
        memory_id = await store.memories.create(mem(new_uuid()), "messages")
        got = await store.memories.get(memory_id)
        assert got is not None and got.created_at is not None and got.created_at > 1_600_000_000_000
        assert got.unique is False and got.embedding is None and got.metadata is None

    async def test_same_id_is_deduplicated(self, store: Store) -> None:
        room_id = new_uuid()
        first = mem(room_id, "original")
        assert await store.memories.create(first, "messages") == first.id
        again = first.model_copy(update={"content": Content(text="changed")})
        assert await store.memories.create(again, "messages") == first.id
        assert await store.memories.count(room_id) == 1
        got = await store.memories.get(first.id or "")
        assert got is not None and got.content.text == "original"

    async def test_get_many_keeps_order_and_filters_by_table(self, store: Store) -> None:
        room_id = new_uuid()
        a = await store.memories.create(mem(room_id, "a"), "messages")
        b = await store.memories.create(mem(room_id, "b"), "facts")
        c = await store.memories.create(mem(room_id, "c"), "messages")
        assert texts(await store.memories.get_many([c, a, b, new_uuid()])) == ["c", "a", "b"]
        assert texts(await store.memories.get_many([c, a, b], table="messages")) == ["c", "a"]
        assert await store.memories.get_many([]) == []

    async def test_list_is_newest_first_with_count_offset_and_time_bounds(self, store: Store) -> None:
        room_id = new_uuid()
        for i in (3, 1, 5, 2, 4):
            await store.memories.create(mem(room_id, f"m{i}", created_at=i * 1000), "messages")
        await store.memories.create(mem(new_uuid(), "other room", created_at=9000), "messages")
        listed = await store.memories.list(table="messages", room_id=room_id)
        assert texts(listed) == ["m5", "m4", "m3", "m2", "m1"]
        assert texts(await store.memories.list(table="messages", room_id=room_id, count=2)) == ["m5", "m4"]
        assert texts(await store.memories.list(table="messages", room_id=room_id, count=2, offset=1)) == [
            "m4",
            "m3",
        ]
        assert texts(await store.memories.list(table="messages", room_id=room_id, offset=4)) == ["m1"]
        bounded = await store.memories.list(table="messages", room_id=room_id, start=2000, end=4000)
        assert texts(bounded) == ["m4", "m3", "m2"]  # inclusive on both ends
        assert texts(await store.memories.list(table="messages", room_id=room_id, start=4500)) == ["m5"]
        assert len(await store.memories.list(table="messages")) == 6

    async def test_list_filters(self, store: Store) -> None:
        room_id, alice, bob, agent_a, agent_b, world = (new_uuid() for _ in range(6))
        await store.memories.create(
            mem(room_id, "alice-a", entity_id=alice, agent_id=agent_a, world_id=world), "messages"
        )
        await store.memories.create(mem(room_id, "bob-a", entity_id=bob, agent_id=agent_a), "messages")
        await store.memories.create(
            mem(room_id, "bob-b", entity_id=bob, agent_id=agent_b), "messages", unique=True
        )
        await store.memories.create(mem(room_id, "alice-fact", entity_id=alice, agent_id=agent_a), "facts")

        def by(**kw: Any) -> Any:
            return store.memories.list(table="messages", room_id=room_id, **kw)

        assert sorted(texts(await by(entity_id=alice))) == ["alice-a"]
        assert sorted(texts(await by(entity_id=bob))) == ["bob-a", "bob-b"]
        assert sorted(texts(await by(agent_id=agent_a))) == ["alice-a", "bob-a"]
        assert sorted(texts(await by(world_id=world))) == ["alice-a"]
        assert sorted(texts(await by(unique=True))) == ["bob-b"]
        assert sorted(texts(await by(unique=False))) == ["alice-a", "bob-a"]
        assert texts(await store.memories.list(table="facts", room_id=room_id)) == ["alice-fact"]
        assert await store.memories.list(table="documents", room_id=room_id) == []
        assert sorted(
            texts(await store.memories.list(table="messages", entity_id=bob, agent_id=agent_b))
        ) == [
            "bob-b",
        ]

    async def test_list_leaves_vectors_out_unless_asked(self, store: Store) -> None:
        room_id = new_uuid()
        m = mem(room_id, "with vector", embedding=vec(1, 2))
        await store.memories.create(m, "messages")
        (plain,) = await store.memories.list(table="messages", room_id=room_id)
        assert plain.embedding is None
        (full,) = await store.memories.list(table="messages", room_id=room_id, with_embeddings=True)
        assert full.embedding is not None and math.isclose(full.embedding[1], vec(1, 2)[1], rel_tol=1e-6)
        (by_rooms,) = await store.memories.list_by_rooms(
            table="messages", room_ids=[room_id], with_embeddings=True
        )
        assert by_rooms.embedding is not None
        got = await store.memories.get(m.id or "")
        assert got is not None and got.embedding is not None

    async def test_list_by_rooms(self, store: Store) -> None:
        r1, r2, r3, agent = new_uuid(), new_uuid(), new_uuid(), new_uuid()
        await store.memories.create(mem(r1, "r1-old", created_at=1000, agent_id=agent), "messages")
        await store.memories.create(mem(r2, "r2", created_at=2000), "messages")
        await store.memories.create(mem(r1, "r1-new", created_at=3000, agent_id=agent), "messages")
        await store.memories.create(mem(r3, "r3", created_at=4000), "messages")
        await store.memories.create(mem(r1, "r1-fact", created_at=5000), "facts")
        found = await store.memories.list_by_rooms(table="messages", room_ids=[r1, r2])
        assert texts(found) == ["r1-new", "r2", "r1-old"]
        assert texts(await store.memories.list_by_rooms(table="messages", room_ids=[r1, r2], limit=2)) == [
            "r1-new",
            "r2",
        ]
        assert texts(
            await store.memories.list_by_rooms(table="messages", room_ids=[r1, r2], agent_id=agent)
        ) == [
            "r1-new",
            "r1-old",
        ]
        assert await store.memories.list_by_rooms(table="messages", room_ids=[]) == []

    async def test_update_content_metadata_and_embedding(self, store: Store) -> None:
        room_id = new_uuid()
        memory_id = await store.memories.create(mem(room_id, "before", embedding=vec(1, 0)), "messages")
        other_id = await store.memories.create(mem(room_id, "other", embedding=vec(1, 1)), "messages")

        assert await store.memories.update(memory_id, content=Content(text="after", extra=1))
        got = await store.memories.get(memory_id)
        assert got is not None and got.content.to_wire() == {"text": "after", "extra": 1}
        assert got.embedding == pytest.approx(vec(1, 0), abs=1e-6)  # untouched

        assert await store.memories.update(memory_id, metadata=MemoryMetadata(type="custom", tags=["t"]))
        got = await store.memories.get(memory_id)
        assert got is not None and got.metadata is not None and got.metadata.type == "custom"
        assert got.content.text == "after"

        assert await store.memories.update(memory_id, embedding=vec(0, 1))
        got = await store.memories.get(memory_id)
        assert got is not None and got.embedding == pytest.approx(vec(0, 1), abs=1e-6)
        near_old = await store.memories.search(table="messages", embedding=vec(1, 0), count=1)
        assert [m.id for m in near_old] == [other_id]  # the old vector no longer matches
        near_new = await store.memories.search(table="messages", embedding=vec(0, 1), count=1)
        assert [m.id for m in near_new] == [memory_id]

        assert await store.memories.update(new_uuid(), content=Content(text="x")) is False

    async def test_delete_delete_many_delete_all_and_count(self, store: Store) -> None:
        room_id, other_room = new_uuid(), new_uuid()
        ids = [
            await store.memories.create(mem(room_id, f"m{i}", unique=i % 2 == 0), "messages")
            for i in range(6)
        ]
        fact = await store.memories.create(mem(room_id, "fact"), "facts")
        elsewhere = await store.memories.create(mem(other_room, "elsewhere"), "messages")
        assert await store.memories.count(room_id) == 6
        assert await store.memories.count(room_id, unique=True) == 3
        assert await store.memories.count(room_id, unique=False) == 3
        assert await store.memories.count(room_id, table="facts") == 1

        await store.memories.delete(ids[0])
        assert await store.memories.get(ids[0]) is None
        assert await store.memories.count(room_id) == 5
        await store.memories.delete(new_uuid())  # unknown id: no error

        await store.memories.delete_many(ids[1:3])
        assert await store.memories.count(room_id) == 3
        await store.memories.delete_many([])

        await store.memories.delete_all(room_id, "messages")
        assert await store.memories.count(room_id) == 0
        assert await store.memories.get(fact) is not None  # another table
        assert await store.memories.get(elsewhere) is not None  # another room

    async def test_deleted_memories_leave_search(self, store: Store) -> None:
        room_id = new_uuid()
        a = await store.memories.create(mem(room_id, "a", embedding=vec(1, 0)), "messages")
        b = await store.memories.create(mem(room_id, "b", embedding=vec(1, 0.1)), "messages")
        c = await store.memories.create(mem(room_id, "c", embedding=vec(1, 0.2)), "messages")
        await store.memories.delete(a)
        assert [m.id for m in await store.memories.search(table="messages", embedding=vec(1, 0))] == [b, c]
        await store.memories.delete_many([b])
        assert [m.id for m in await store.memories.search(table="messages", embedding=vec(1, 0))] == [c]
        await store.memories.delete_all(room_id, "messages")
        assert await store.memories.search(table="messages", embedding=vec(1, 0)) == []


# --- vector search ----------------------------------------------------------------------------------------


class TestSearch:
    async def test_orders_by_similarity_and_limits_count(self, store: Store) -> None:
        room_id = new_uuid()
        # Angles 0°, 30°, 60°, 90° from the query vec(1, 0): similarities 1, .866, .5, 0.
        for name, angle in (("c", 60), ("a", 0), ("d", 90), ("b", 30)):
            rad = math.radians(angle)
            await store.memories.create(
                mem(room_id, name, embedding=vec(math.cos(rad), math.sin(rad))), "facts"
            )
        found = await store.memories.search(table="facts", embedding=vec(1, 0), count=10)
        assert texts(found) == ["a", "b", "c", "d"]
        assert [m.similarity for m in found] == pytest.approx(
            [1.0, math.cos(math.radians(30)), 0.5, 0.0], abs=1e-5
        )
        assert found[0].embedding is not None and len(found[0].embedding) == DIM
        assert texts(await store.memories.search(table="facts", embedding=vec(1, 0), count=2)) == ["a", "b"]
        assert await store.memories.search(table="messages", embedding=vec(1, 0)) == []  # other table

    async def test_match_threshold_excludes_far_vectors(self, store: Store) -> None:
        room_id = new_uuid()
        await store.memories.create(mem(room_id, "near", embedding=vec(1, 0.1)), "facts")
        await store.memories.create(mem(room_id, "mid", embedding=vec(1, 1)), "facts")
        await store.memories.create(mem(room_id, "far", embedding=vec(0, 1)), "facts")
        await store.memories.create(mem(room_id, "opposite", embedding=vec(-1, 0)), "facts")
        assert texts(
            await store.memories.search(table="facts", embedding=vec(1, 0), match_threshold=0.9)
        ) == [
            "near",
        ]
        assert texts(
            await store.memories.search(table="facts", embedding=vec(1, 0), match_threshold=0.5)
        ) == [
            "near",
            "mid",
        ]
        everything = await store.memories.search(table="facts", embedding=vec(1, 0), match_threshold=-1.0)
        assert texts(everything) == ["near", "mid", "far", "opposite"]
        assert everything[-1].similarity == pytest.approx(-1.0, abs=1e-5)
        # The default threshold (0.0) keeps orthogonal vectors and drops opposed ones.
        assert texts(await store.memories.search(table="facts", embedding=vec(1, 0))) == [
            "near",
            "mid",
            "far",
        ]

    async def test_room_filter_when_nearest_vectors_are_elsewhere(self, store: Store) -> None:
        busy, quiet = new_uuid(), new_uuid()
        for i in range(40):
            await store.memories.create(mem(busy, f"busy{i}", embedding=vec(1, 0.001 * i)), "messages")
        await store.memories.create(mem(quiet, "quiet-near", embedding=vec(1, 1)), "messages")
        await store.memories.create(mem(quiet, "quiet-far", embedding=vec(0.2, 1)), "messages")
        found = await store.memories.search(table="messages", embedding=vec(1, 0), room_id=quiet, count=5)
        assert texts(found) == ["quiet-near", "quiet-far"]
        assert all(m.room_id == quiet for m in found)

    async def test_filters_stay_exact_when_many_rows_match(self, store: Store) -> None:
        """Thousands of closer vectors from another agent must not crowd out the filtered agent's rows, even
        when the filter itself matches thousands of rows too (so an index over-fetch has to dig deep)."""
        crowd, wanted, world = new_uuid(), new_uuid(), new_uuid()
        rooms = [new_uuid() for _ in range(30)]
        for i in range(2_100):
            await store.memories.create(
                mem(rooms[i % 30], f"crowd{i}", agent_id=crowd, embedding=vec(1, 0.0001 * i)), "documents"
            )
        for i in range(2_050):
            await store.memories.create(
                mem(
                    rooms[i % 30],
                    f"w{i}",
                    agent_id=wanted,
                    world_id=world if i < 5 else None,
                    embedding=vec(1, 1 + 0.001 * i),
                ),
                "documents",
            )
        by_agent = await store.memories.search(
            table="documents", embedding=vec(1, 0), agent_id=wanted, count=3
        )
        assert texts(by_agent) == ["w0", "w1", "w2"]
        assert by_agent[0].similarity == pytest.approx(math.sqrt(0.5), abs=1e-5)
        by_world = await store.memories.search(
            table="documents", embedding=vec(1, 0), world_id=world, count=2
        )
        assert texts(by_world) == ["w0", "w1"]
        strict = await store.memories.search(
            table="documents", embedding=vec(1, 0), agent_id=wanted, match_threshold=0.99
        )
        assert strict == []
        unfiltered = await store.memories.search(table="documents", embedding=vec(1, 0), count=3)
        # The first crowd vectors are closer together than float32 can tell apart: check kind and order only.
        assert all((t or "").startswith("crowd") for t in texts(unfiltered)) and len(unfiltered) == 3
        similarities = [m.similarity or 0.0 for m in unfiltered]
        assert similarities == sorted(similarities, reverse=True) and similarities[-1] > 0.9999

    async def test_entity_agent_world_and_unique_filters(self, store: Store) -> None:
        room_id, alice, bob, agent, world = (new_uuid() for _ in range(5))
        await store.memories.create(mem(room_id, "alice", entity_id=alice, embedding=vec(1, 0)), "messages")
        await store.memories.create(
            mem(room_id, "bob", entity_id=bob, agent_id=agent, world_id=world, embedding=vec(1, 0.5)),
            "messages",
            unique=True,
        )
        q = vec(1, 0)
        assert texts(await store.memories.search(table="messages", embedding=q, entity_id=bob)) == ["bob"]
        assert texts(await store.memories.search(table="messages", embedding=q, agent_id=agent)) == ["bob"]
        assert texts(await store.memories.search(table="messages", embedding=q, world_id=world)) == ["bob"]
        assert texts(await store.memories.search(table="messages", embedding=q, unique=True)) == ["bob"]
        assert texts(await store.memories.search(table="messages", embedding=q, unique=False)) == ["alice"]

    async def test_two_dimensions_coexist(self, store: Store) -> None:
        room_id = new_uuid()
        await store.memories.create(mem(room_id, "small", embedding=vec(1, 0, dim=384)), "documents")
        await store.memories.create(mem(room_id, "large", embedding=vec(1, 0, dim=768)), "documents")
        await store.memories.create(mem(room_id, "large2", embedding=vec(0, 1, dim=768)), "documents")
        assert texts(await store.memories.search(table="documents", embedding=vec(1, 0, dim=768))) == [
            "large",
            "large2",
        ]
        assert texts(await store.memories.search(table="documents", embedding=vec(1, 0, dim=384))) == [
            "small"
        ]
        # A dimension never stored yet finds nothing (and is no error).
        assert await store.memories.search(table="documents", embedding=vec(1, 0, dim=1536)) == []
        assert len(await store.memories.list(table="documents", room_id=room_id)) == 3

    async def test_unsupported_dimension_is_a_store_error(self, store: Store) -> None:
        room_id = new_uuid()
        assert 100 not in EMBEDDING_DIMENSIONS
        with pytest.raises(StoreError, match="384"):
            await store.memories.create(mem(room_id, embedding=[0.1] * 100), "messages")
        assert await store.memories.count(room_id) == 0  # nothing half-written
        with pytest.raises(StoreError):
            await store.memories.search(table="messages", embedding=[0.1] * 100)
        memory_id = await store.memories.create(mem(room_id), "messages")
        with pytest.raises(StoreError):
            await store.memories.update(memory_id, embedding=[0.1] * 100)

    async def test_memories_without_embeddings_are_not_searched(self, store: Store) -> None:
        room_id = new_uuid()
        await store.memories.create(mem(room_id, "plain"), "messages")
        await store.memories.create(mem(room_id, "vector", embedding=vec(1)), "messages")
        assert texts(await store.memories.search(table="messages", embedding=vec(1), room_id=room_id)) == [
            "vector"
        ]


# --- worlds and rooms -------------------------------------------------------------------------------------


class TestWorldsAndRooms:
    async def test_worlds(self, store: Store) -> None:
        agent, other_agent = new_uuid(), new_uuid()
        world = World(
            id=new_uuid(),
            name="Guild",
            agent_id=agent,
            message_server_id=new_uuid(),
            metadata={"ownership": {"ownerId": "u1"}},
        )
        assert await store.rooms.create_world(world) == world.id
        second = World(id=new_uuid(), name="Second", agent_id=agent)
        await store.rooms.create_world(second)
        await store.rooms.create_world(World(id=new_uuid(), name="Theirs", agent_id=other_agent))

        assert await store.rooms.get_world(world.id) == world
        assert await store.rooms.get_world(new_uuid()) is None
        assert sorted(w.name or "" for w in await store.rooms.list_worlds(agent_id=agent)) == [
            "Guild",
            "Second",
        ]
        assert len(await store.rooms.list_worlds()) == 3

        renamed = world.model_copy(update={"name": "Renamed", "metadata": {"k": "v"}})
        await store.rooms.update_world(renamed)
        assert await store.rooms.get_world(world.id) == renamed

        await store.rooms.delete_world(second.id)
        assert await store.rooms.get_world(second.id) is None
        assert [w.id for w in await store.rooms.list_worlds(agent_id=agent)] == [world.id]

    async def test_rooms(self, store: Store) -> None:
        agent, world = new_uuid(), new_uuid()
        r1 = room(name="general", agent_id=agent, world_id=world, channel_id="c1", metadata={"topic": "x"})
        r2 = room(name="dm", type=ChannelType.DM, world_id=world)
        r3 = room(name="elsewhere")
        assert await store.rooms.create_rooms([r1, r2, r3]) == [r1.id, r2.id, r3.id]
        # An existing id is left untouched.
        await store.rooms.create_rooms([r1.model_copy(update={"name": "clobbered"})])
        assert await store.rooms.get_room(r1.id) == r1
        got = await store.rooms.get_room(r2.id)
        assert got is not None and got.type == ChannelType.DM and got.source == "test"
        assert await store.rooms.get_room(new_uuid()) is None
        assert [r.id for r in await store.rooms.get_rooms([r3.id, new_uuid(), r1.id])] == [r3.id, r1.id]
        assert sorted(r.id for r in await store.rooms.rooms_by_world(world)) == sorted([r1.id, r2.id])

        updated = r1.model_copy(update={"name": "renamed", "world_id": None, "metadata": None})
        await store.rooms.update_room(updated)
        assert await store.rooms.get_room(r1.id) == updated
        assert [r.id for r in await store.rooms.rooms_by_world(world)] == [r2.id]

    async def test_delete_room_cascades(self, store: Store) -> None:
        doomed, kept = room(), room()
        await store.rooms.create_rooms([doomed, kept])
        alice, bob = new_uuid(), new_uuid()
        await store.rooms.add_participants([alice, bob], doomed.id)
        await store.rooms.add_participants([alice], kept.id)
        gone = await store.memories.create(mem(doomed.id, "gone", embedding=vec(1, 0)), "messages")
        await store.memories.create(mem(doomed.id, "gone too"), "facts")
        stays = await store.memories.create(mem(kept.id, "stays", embedding=vec(1, 0.5)), "messages")

        await store.rooms.delete_room(doomed.id)
        assert await store.rooms.get_room(doomed.id) is None
        assert await store.rooms.participants(doomed.id) == []
        assert await store.rooms.rooms_for_participant(alice) == [kept.id]
        assert await store.memories.get(gone) is None
        assert await store.memories.count(doomed.id) == 0
        assert await store.memories.count(doomed.id, table="facts") == 0
        assert [m.id for m in await store.memories.search(table="messages", embedding=vec(1, 0))] == [stays]
        assert await store.rooms.get_room(kept.id) == kept


# --- participants -----------------------------------------------------------------------------------------


class TestParticipants:
    async def test_membership(self, store: Store) -> None:
        r1, r2, r3 = room(), room(), room()
        await store.rooms.create_rooms([r1, r2, r3])
        alice, bob, carol = new_uuid(), new_uuid(), new_uuid()
        assert await store.rooms.add_participants([alice, bob], r1.id)
        assert await store.rooms.add_participants([alice], r1.id)  # idempotent
        await store.rooms.add_participants([alice], r2.id)
        await store.rooms.add_participants([carol], r3.id)

        assert await store.rooms.participants(r1.id) == [alice, bob]
        assert await store.rooms.is_participant(r1.id, bob)
        assert not await store.rooms.is_participant(r2.id, bob)
        assert sorted(await store.rooms.rooms_for_participant(alice)) == sorted([r1.id, r2.id])
        assert sorted(await store.rooms.rooms_for_participants([bob, carol])) == sorted([r1.id, r3.id])
        assert sorted(await store.rooms.rooms_for_participants([alice, bob])) == sorted([r1.id, r2.id])
        assert await store.rooms.rooms_for_participants([]) == []

        assert await store.rooms.remove_participant(bob, r1.id) is True
        assert await store.rooms.remove_participant(bob, r1.id) is False
        assert await store.rooms.participants(r1.id) == [alice]
        assert not await store.rooms.is_participant(r1.id, bob)

    async def test_participant_state(self, store: Store) -> None:
        r = room()
        await store.rooms.create_rooms([r])
        alice = new_uuid()
        await store.rooms.add_participants([alice], r.id)
        assert await store.rooms.get_participant_state(r.id, alice) is None
        await store.rooms.set_participant_state(r.id, alice, "FOLLOWED")
        assert await store.rooms.get_participant_state(r.id, alice) == "FOLLOWED"
        await store.rooms.set_participant_state(r.id, alice, "MUTED")
        assert await store.rooms.get_participant_state(r.id, alice) == "MUTED"
        await store.rooms.set_participant_state(r.id, alice, None)
        assert await store.rooms.get_participant_state(r.id, alice) is None
        assert await store.rooms.get_participant_state(r.id, new_uuid()) is None


# --- entities and components ------------------------------------------------------------------------------


def component(entity_id: UUID, type: str, **fields: Any) -> Component:
    defaults: dict[str, Any] = {
        "id": new_uuid(),
        "agent_id": new_uuid(),
        "room_id": new_uuid(),
        "world_id": new_uuid(),
        "source_entity_id": new_uuid(),
        "data": {},
    }
    return Component(entity_id=entity_id, type=type, **(defaults | fields))


class TestEntities:
    async def test_create_get_and_get_many(self, store: Store) -> None:
        agent = new_uuid()
        alice = Entity(
            id=new_uuid(), names=["Alice", "al"], metadata={"discord": {"userName": "al"}}, agent_id=agent
        )
        bob = Entity(id=new_uuid(), names=["Bob"], agent_id=agent)
        assert await store.entities.create([alice, bob])
        got = await store.entities.get(alice.id or "")
        assert got is not None
        assert (got.id, got.names, got.metadata, got.agent_id) == (
            alice.id,
            alice.names,
            alice.metadata,
            agent,
        )
        assert not got.components
        assert await store.entities.get(new_uuid()) is None
        many = await store.entities.get_many([bob.id or "", new_uuid(), alice.id or ""])
        assert [e.id for e in many] == [bob.id, alice.id]
        assert await store.entities.get_many([]) == []

    async def test_create_rejects_a_batch_with_an_existing_id_atomically(self, store: Store) -> None:
        agent = new_uuid()
        existing = Entity(id=new_uuid(), names=["Existing"], agent_id=agent)
        assert await store.entities.create([existing])
        fresh = Entity(id=new_uuid(), names=["Fresh"], agent_id=agent)
        clash = Entity(id=existing.id, names=["Impostor"], agent_id=agent)
        assert await store.entities.create([fresh, clash]) is False
        assert await store.entities.get(fresh.id or "") is None  # nothing of the batch was inserted
        got = await store.entities.get(existing.id or "")
        assert got is not None and got.names == ["Existing"]
        twice = Entity(id=new_uuid(), names=["Twice"], agent_id=agent)
        assert await store.entities.create([twice, twice]) is False
        assert await store.entities.get(twice.id or "") is None

    async def test_upsert_update_and_delete(self, store: Store) -> None:
        agent = new_uuid()
        entity = Entity(id=new_uuid(), names=["Old"], agent_id=agent)
        await store.entities.upsert(entity)
        await store.entities.upsert(entity.model_copy(update={"names": ["Upserted"]}))
        got = await store.entities.get(entity.id or "")
        assert got is not None and got.names == ["Upserted"]

        await store.entities.update(
            entity.model_copy(update={"names": ["New", "Newer"], "metadata": {"a": 1}})
        )
        got = await store.entities.get(entity.id or "")
        assert got is not None and got.names == ["New", "Newer"] and got.metadata == {"a": 1}

        r = room()
        await store.rooms.create_rooms([r])
        await store.rooms.add_participants([entity.id or ""], r.id)
        await store.entities.create_component(component(entity.id or "", "profile"))
        await store.entities.delete(entity.id or "")
        assert await store.entities.get(entity.id or "") is None
        assert await store.entities.get_components(entity.id or "") == []
        assert await store.entities.for_room(r.id) == []

    async def test_for_room_via_participants(self, store: Store) -> None:
        agent = new_uuid()
        alice = Entity(id=new_uuid(), names=["Alice"], agent_id=agent)
        bob = Entity(id=new_uuid(), names=["Bob"], agent_id=agent)
        outsider = Entity(id=new_uuid(), names=["Outsider"], agent_id=agent)
        await store.entities.create([alice, bob, outsider])
        r = room()
        await store.rooms.create_rooms([r])
        await store.rooms.add_participants([alice.id or "", bob.id or ""], r.id)
        profile = component(alice.id or "", "profile", data={"bio": "hi"})
        await store.entities.create_component(profile)

        members = await store.entities.for_room(r.id)
        assert sorted(e.names[0] for e in members) == ["Alice", "Bob"]
        with_components = {
            e.names[0]: e for e in await store.entities.for_room(r.id, include_components=True)
        }
        assert with_components["Alice"].components == [profile]
        assert not with_components["Bob"].components
        assert await store.entities.for_room(new_uuid()) == []

    async def test_components(self, store: Store) -> None:
        entity_id, world_a, world_b, source = new_uuid(), new_uuid(), new_uuid(), new_uuid()
        a = component(entity_id, "profile", world_id=world_a, source_entity_id=source, data={"v": 1})
        b = component(entity_id, "profile", world_id=world_b, data={"v": 2})
        c = component(entity_id, "settings", world_id=world_a, data={"dark": True})
        for comp in (a, b, c):
            assert await store.entities.create_component(comp)
        assert await store.entities.create_component(a) is False  # same id

        assert {x.id for x in await store.entities.get_components(entity_id)} == {a.id, b.id, c.id}
        assert {x.id for x in await store.entities.get_components(entity_id, world_id=world_a)} == {
            a.id,
            c.id,
        }
        assert [x.id for x in await store.entities.get_components(entity_id, source_entity_id=source)] == [
            a.id
        ]
        assert await store.entities.get_component(entity_id, "profile", world_id=world_b) == b
        assert await store.entities.get_component(entity_id, "profile", source_entity_id=source) == a
        assert await store.entities.get_component(entity_id, "settings") == c
        assert await store.entities.get_component(entity_id, "missing") is None

        changed = a.model_copy(update={"data": {"v": 10, "new": [1]}})
        await store.entities.update_component(changed)
        assert await store.entities.get_component(entity_id, "profile", world_id=world_a) == changed

        await store.entities.delete_component(b.id)
        assert await store.entities.get_component(entity_id, "profile", world_id=world_b) is None
        assert {x.id for x in await store.entities.get_components(entity_id)} == {a.id, c.id}

        owner = Entity(id=entity_id, names=["Owner"], agent_id=new_uuid())
        await store.entities.create([owner])
        got = await store.entities.get(entity_id)
        assert got is not None and {x.id for x in got.components or []} == {a.id, c.id}


# --- relationships ----------------------------------------------------------------------------------------


class TestRelationships:
    async def test_relationships(self, store: Store) -> None:
        agent, alice, bob, carol = (new_uuid() for _ in range(4))
        friends = Relationship(
            id=new_uuid(),
            source_entity_id=alice,
            target_entity_id=bob,
            agent_id=agent,
            tags=["friend", "colleague"],
            metadata={"since": 2020},
        )
        rival = Relationship(
            id=new_uuid(), source_entity_id=carol, target_entity_id=alice, agent_id=agent, tags=["rival"]
        )
        assert await store.relationships.create(friends)
        assert await store.relationships.create(rival)
        duplicate = Relationship(id=new_uuid(), source_entity_id=alice, target_entity_id=bob, agent_id=agent)
        assert await store.relationships.create(duplicate) is False

        got = await store.relationships.get(alice, bob)
        assert got is not None and got.id == friends.id and got.tags == ["friend", "colleague"]
        assert got.metadata == {"since": 2020} and got.created_at
        assert await store.relationships.get(bob, alice) is None  # direction matters

        assert {r.id for r in await store.relationships.list(alice)} == {friends.id, rival.id}
        assert [r.id for r in await store.relationships.list(bob)] == [friends.id]
        assert [r.id for r in await store.relationships.list(alice, tags=["rival"])] == [rival.id]
        assert {r.id for r in await store.relationships.list(alice, tags=["colleague", "rival"])} == {
            friends.id,
            rival.id,
        }
        assert await store.relationships.list(alice, tags=["stranger"]) == []

        await store.relationships.update(
            friends.model_copy(update={"tags": ["best-friend"], "metadata": {"x": 1}})
        )
        got = await store.relationships.get(alice, bob)
        assert got is not None and got.tags == ["best-friend"] and got.metadata == {"x": 1}


# --- tasks ------------------------------------------------------------------------------------------------


class TestTasks:
    async def test_create_get_list_update_delete(self, store: Store) -> None:
        room_a, room_b, entity = new_uuid(), new_uuid(), new_uuid()
        t1 = Task(
            name="follow-up",
            description="ping",
            room_id=room_a,
            tags=["queue", "repeat"],
            metadata={"updateInterval": 1000},
        )
        t2 = Task(name="digest", room_id=room_a, entity_id=entity, tags=["queue"])
        t3 = Task(name="follow-up", room_id=room_b, tags=["repeat"])
        id1 = await store.tasks.create(t1)
        id2 = await store.tasks.create(t2)
        id3 = await store.tasks.create(t3)

        got = await store.tasks.get(id1)
        assert got is not None and got.id == id1 and got.name == "follow-up" and got.description == "ping"
        assert got.tags == ["queue", "repeat"] and got.metadata == {"updateInterval": 1000}
        assert got.room_id == room_a and got.updated_at is not None
        assert await store.tasks.get(new_uuid()) is None

        assert {t.id for t in await store.tasks.list(room_id=room_a)} == {id1, id2}
        assert {t.id for t in await store.tasks.list(tags=["queue"])} == {id1, id2}
        assert {t.id for t in await store.tasks.list(tags=["queue", "repeat"])} == {id1}  # all tags
        assert {t.id for t in await store.tasks.list(room_id=room_b, tags=["repeat"])} == {id3}
        assert [t.id for t in await store.tasks.list(entity_id=entity)] == [id2]
        assert {t.id for t in await store.tasks.list()} == {id1, id2, id3}
        assert {t.id for t in await store.tasks.by_name("follow-up")} == {id1, id3}
        assert await store.tasks.by_name("nothing") == []

        await store.tasks.update(id1, metadata={"updateInterval": 5}, tags=["done"])
        got = await store.tasks.get(id1)
        assert got is not None
        assert got.metadata == {"updateInterval": 5} and got.tags == ["done"]
        assert got.name == "follow-up" and got.description == "ping" and got.room_id == room_a  # kept
        await store.tasks.update(id2, description="changed")
        got2 = await store.tasks.get(id2)
        assert got2 is not None and got2.description == "changed" and got2.tags == ["queue"]

        await store.tasks.delete(id1)
        assert await store.tasks.get(id1) is None
        assert {t.id for t in await store.tasks.list(room_id=room_a)} == {id2}


# --- cache ------------------------------------------------------------------------------------------------


class TestCache:
    async def test_set_get_delete_json_values(self, store: Store) -> None:
        values: list[Any] = [{"a": [1, 2, {"b": None}], "ü": "ñ"}, [1, "two", 3.5], "text", 42, True]
        for i, value in enumerate(values):
            assert await store.cache.set(f"agent:key{i}", value)
        for i, value in enumerate(values):
            assert await store.cache.get(f"agent:key{i}") == value
        assert await store.cache.get("agent:missing") is None

        await store.cache.set("agent:key0", {"replaced": True})
        assert await store.cache.get("agent:key0") == {"replaced": True}

        assert await store.cache.delete("agent:key0") is True
        assert await store.cache.get("agent:key0") is None
        assert await store.cache.delete("agent:key0") is False

    async def test_expired_entries_are_missing(self, store: Store) -> None:
        await store.cache.set("past", "v", ttl_s=-1)
        assert await store.cache.get("past") is None
        await store.cache.set("soon", "v", ttl_s=0.05)
        await store.cache.set("later", "v", ttl_s=3600)
        assert await store.cache.get("soon") == "v"
        await anyio.sleep(0.1)
        assert await store.cache.get("soon") is None
        assert await store.cache.get("later") == "v"
        await store.cache.set("soon", "again")  # no ttl: lives on
        assert await store.cache.get("soon") == "again"


# --- logs -------------------------------------------------------------------------------------------------


class TestLogs:
    async def test_add_list_delete(self, store: Store) -> None:
        alice, bob, r1, r2 = new_uuid(), new_uuid(), new_uuid(), new_uuid()
        ids = []
        for i, (entity, room_id, kind) in enumerate(
            [(alice, r1, "action"), (alice, r2, "evaluator"), (bob, r1, "action"), (alice, r1, "model")]
        ):
            log = Log(
                entity_id=entity,
                room_id=room_id,
                type=kind,
                body={"i": i, "nested": {"ok": True}},
                created_at=1000 + i,
            )
            ids.append(await store.logs.add(log))
        assert all(ids)

        everything = await store.logs.list()
        assert [entry.body["i"] for entry in everything] == [3, 2, 1, 0]  # newest first
        assert everything[0].body == {"i": 3, "nested": {"ok": True}} and everything[0].created_at == 1003
        assert [e.body["i"] for e in await store.logs.list(entity_id=alice)] == [3, 1, 0]
        assert [e.body["i"] for e in await store.logs.list(room_id=r1)] == [3, 2, 0]
        assert [e.body["i"] for e in await store.logs.list(type="action")] == [2, 0]
        assert [e.body["i"] for e in await store.logs.list(entity_id=alice, room_id=r1, type="model")] == [3]
        assert [e.body["i"] for e in await store.logs.list(count=2)] == [3, 2]
        assert [e.body["i"] for e in await store.logs.list(count=2, offset=1)] == [2, 1]

        await store.logs.delete(ids[3])
        assert [e.body["i"] for e in await store.logs.list(entity_id=alice)] == [1, 0]


# --- agents -----------------------------------------------------------------------------------------------


class TestAgents:
    async def test_upsert_get_list_delete(self, store: Store) -> None:
        a, b = new_uuid(), new_uuid()
        await store.agents.upsert(a, {"name": "Eliza", "bio": ["helpful"], "settings": {"x": 1}})
        await store.agents.upsert(b, {"name": "Other"}, enabled=False)

        got = await store.agents.get(a)
        assert got is not None
        assert got["id"] == a and got["name"] == "Eliza" and got["bio"] == ["helpful"]
        assert got["settings"] == {"x": 1} and got["enabled"] is True
        assert await store.agents.get(new_uuid()) is None

        await store.agents.upsert(a, {"name": "Eliza 2"}, enabled=False)
        got = await store.agents.get(a)
        assert got is not None and got["name"] == "Eliza 2" and got["enabled"] is False and "bio" not in got

        listed = {agent["id"]: agent for agent in await store.agents.list()}
        assert set(listed) == {a, b} and listed[b]["enabled"] is False

        assert await store.agents.delete(a) is True
        assert await store.agents.delete(a) is False
        assert await store.agents.get(a) is None
        assert [agent["id"] for agent in await store.agents.list()] == [b]


# --- concurrency, persistence, lifecycle ------------------------------------------------------------------


class TestConcurrencyAndLifecycle:
    async def test_concurrent_creates_from_many_tasks(self, store: Store) -> None:
        room_id = new_uuid()
        ids: list[UUID] = []

        async def write(i: int) -> None:
            await anyio.lowlevel.checkpoint()
            embedding = vec(1, i / 200) if i % 2 == 0 else None
            ids.append(await store.memories.create(mem(room_id, f"m{i}", embedding=embedding), "messages"))

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(write, i)
        assert len(set(ids)) == 200
        assert await store.memories.count(room_id) == 200
        assert len(await store.memories.get_many(ids)) == 200
        found = await store.memories.search(table="messages", embedding=vec(1, 0), room_id=room_id, count=200)
        assert len(found) == 100

    async def test_concurrent_mixed_writes_stay_consistent(self, store: Store) -> None:
        room_id = new_uuid()
        seeded = [
            await store.memories.create(mem(room_id, f"s{i}", embedding=vec(1, i)), "messages")
            for i in range(50)
        ]

        async def churn(i: int) -> None:
            await anyio.lowlevel.checkpoint()
            if i < 25:
                await store.memories.delete(seeded[i])
            else:
                await store.memories.update(seeded[i], content=Content(text=f"u{i}"), embedding=vec(i, 1))
            await store.memories.create(mem(room_id, f"n{i}", embedding=vec(0, 1)), "messages")

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(churn, i)
        assert await store.memories.count(room_id) == 75
        found = await store.memories.search(
            table="messages", embedding=vec(1, 0), room_id=room_id, count=1000, match_threshold=-1
        )
        assert len(found) == 75
        assert sorted(t for t in texts(found) if t and t.startswith("u")) == sorted(
            f"u{i}" for i in range(25, 50)
        )

    async def test_two_stores_on_one_database_write_concurrently(
        self, store: Store, open_another: OpenAnother
    ) -> None:
        other = await open_another()
        room_id = new_uuid()

        async def write(target: Store, prefix: str) -> None:
            for i in range(100):
                await target.memories.create(mem(room_id, f"{prefix}{i}", embedding=vec(1, i)), "messages")
                if i % 10 == 0:
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(write, store, "a")
            tg.start_soon(write, other, "b")
        assert await store.memories.count(room_id) == 200
        assert await other.memories.count(room_id) == 200
        found = await other.memories.search(
            table="messages", embedding=vec(1, 0), room_id=room_id, count=500, match_threshold=-1
        )
        assert len(found) == 200

    async def test_reopen_keeps_data(self, store: Store, open_another: OpenAnother) -> None:
        room_id, agent = new_uuid(), new_uuid()
        memory_id = await store.memories.create(
            mem(room_id, "persisted", embedding=vec(1, 0, dim=768)), "facts"
        )
        await store.rooms.create_rooms([room(room_id)])
        await store.agents.upsert(agent, {"name": "Eliza"})
        await store.cache.set("k", {"v": 1})
        await store.close()

        reopened = await open_another()
        got = await reopened.memories.get(memory_id)
        assert got is not None and got.content.text == "persisted"
        found = await reopened.memories.search(table="facts", embedding=vec(1, 0, dim=768))
        assert [m.id for m in found] == [memory_id]
        assert await reopened.rooms.get_room(room_id) is not None
        agent_record = await reopened.agents.get(agent)
        assert agent_record is not None and agent_record["name"] == "Eliza"
        assert await reopened.cache.get("k") == {"v": 1}

    async def test_open_is_idempotent(self, store: Store) -> None:
        memory_id = await store.memories.create(mem(new_uuid(), "kept"), "messages")
        await store.open()
        assert await store.memories.get(memory_id) is not None

    async def test_migrations_rerun_on_an_existing_database(
        self, store: Store, open_another: OpenAnother
    ) -> None:
        memory_id = await store.memories.create(mem(new_uuid(), "kept"), "messages")
        second = await open_another()  # runs the migration step again against the same schema
        third = await open_another()
        for s in (store, second, third):
            assert await s.memories.get(memory_id) is not None
        await second.memories.create(mem(new_uuid(), "more"), "messages")
