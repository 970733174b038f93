"""The bus with in-process workers on real Redis and Postgres: ordering, idempotent redelivery, claiming a
dead worker's entries, fencing, graceful stop and rebalancing. Crash states are built exactly as a crashed
worker leaves them (stored rows, pending stream entries, live leases) rather than by timing a kill."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from elizapy.errors import ConfigError, RunError
from elizapy.scale import BusConfig, BusReply, BusRequest, Gateway, Worker, shard_of
from elizapy.store.postgres import PostgresStore
from elizapy.types import Content, Memory, new_uuid, now_ms

from .conftest import ECHO, eventually, request, room_id
from .echo import REPLY, Hook, factory


@asynccontextmanager
async def running(redis: Any, postgres_url: str, config: BusConfig, *, name: str,
                  hook: Hook | None = None) -> AsyncIterator[Worker]:
    """An in-process worker with its own store connection pool; stopped gracefully on exit."""
    store = PostgresStore(postgres_url, max_size=4)
    worker = Worker(redis, store, factory(hook), config=config, name=name)
    try:
        async with anyio.create_task_group() as tg:
            with anyio.fail_after(20):
                await tg.start(worker.run)
            try:
                yield worker
            finally:
                worker.stop()
    finally:
        with anyio.fail_after(20):
            await store.close()


async def replies_on_stream(redis: Any, config: BusConfig) -> list[BusReply]:
    entries = await redis.xrange(config.replies)
    return [BusReply.model_validate_json(fields["data"]) for _id, fields in entries]


async def stored_texts(store: PostgresStore, label: str) -> list[str]:
    return [m.content.text or "" for m in
            reversed(await store.memories.list(table="messages", room_id=room_id(label)))]


def test_shard_of_is_stable_and_spreads() -> None:
    assert shard_of("room-1", 16) == shard_of("room-1", 16)
    assert shard_of("00000000-0000-0000-0000-000000000000", 16) == 10  # pinned: must never change
    spread = {shard_of(new_uuid(), 8) for _ in range(400)}
    assert spread == set(range(8))


async def test_publish_and_ack_is_fenced_and_publishes_a_message_once(redis: Any, config: BusConfig) -> None:
    """The script behind exactly-one-reply, driven directly: it refuses a foreign lease, appends and
    acknowledges together, and for an id already answered acknowledges without appending."""
    from elizapy.scale._redis import Scripts

    scripts = Scripts(redis)
    first, connection = request("s", 1)
    entry = await _leave_pending(redis, config, first, connection)
    again = await _leave_pending(redis, config, first, connection)  # the same id, submitted twice
    stream = config.stream(config.shard_of(first.room_id))
    await redis.set(config.lease(config.shard_of(first.room_id)), "mine#1")

    def publish(entry_id: str, token: str) -> Awaitable[Any]:
        return scripts.publish_ack(
            keys=[config.lease(config.shard_of(first.room_id)), config.done(first.id or ""), config.replies,
                  stream],
            args=[token, config.group, entry_id, first.id, '{"x":1}', 60_000, 1000])

    assert (await publish(entry, "theirs#2"))[0] == 0
    assert await redis.xlen(config.replies) == 0
    assert (await redis.xpending(stream, config.group))["pending"] == 2

    ok, reply_id = await publish(entry, "mine#1")
    assert ok == 1 and await redis.xlen(config.replies) == 1
    assert await redis.get(config.done(first.id or "")) == reply_id
    assert (await redis.xpending(stream, config.group))["pending"] == 1

    ok, same_id = await publish(again, "mine#1")
    assert (ok, same_id) == (1, reply_id) and await redis.xlen(config.replies) == 1
    assert (await redis.xpending(stream, config.group))["pending"] == 0


async def test_reply_round_trip_and_stored_conversation(redis: Any, config: BusConfig,
                                                        store: PostgresStore, postgres_url: str) -> None:
    seen: list[BusReply] = []
    async with running(redis, postgres_url, config, name="w1"), Gateway(redis, config=config) as bus, \
            anyio.create_task_group() as tg:
        subscribed = anyio.Event()

        async def watch() -> None:
            stream = bus.replies()
            subscribed.set()
            async for reply in stream:
                seen.append(reply)

        tg.start_soon(watch)
        await subscribed.wait()
        for n in (1, 2):
            message, connection = request("a", n)
            with anyio.fail_after(20):
                reply = await bus.request(message, connection=connection)
            assert reply.status == "responded" and reply.text == f"ACK r=a n={n} prev={n - 1}"
            assert reply.worker == "w1" and not reply.recovered
            assert reply.responses[0].content.in_reply_to == message.id
        assert bus.waiting == 0
        await eventually(lambda: _true(len(seen) == 2))
        tg.cancel_scope.cancel()
    assert [r.text for r in seen] == ["ACK r=a n=1 prev=0", "ACK r=a n=2 prev=1"]
    assert await stored_texts(store, "a") == ["REQ r=a n=1", "ACK r=a n=1 prev=0",
                                              "REQ r=a n=2", "ACK r=a n=2 prev=1"]
    assert await redis.xlen(config.replies) == 2


async def test_per_room_order_holds_while_rooms_run_in_parallel(redis: Any, config: BusConfig,
                                                                store: PostgresStore,
                                                                postgres_url: str) -> None:
    rng = random.Random(3)
    busy = 0
    peak = 0

    async def model_call(room: str, n: int) -> None:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        await anyio.sleep(rng.uniform(0, 0.01))  # stands in for a model's latency
        busy -= 1

    labels = [f"r{i}" for i in range(6)]
    async with running(redis, postgres_url, config, name="w1", hook=model_call), \
            running(redis, postgres_url, config, name="w2", hook=model_call), \
            Gateway(redis, config=config) as bus:
        tickets = []
        for n in range(1, 11):
            for label in labels:
                message, connection = request(label, n)
                tickets.append(await bus.submit(message, connection=connection))
        with anyio.fail_after(60):
            replies = [await t.result(timeout_s=None) for t in tickets]
    assert all(r.status == "responded" for r in replies)
    by_room: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for reply in await replies_on_stream(redis, config):
        found = REPLY.fullmatch(reply.text)
        assert found is not None
        by_room[found[1]].append((int(found[2]), int(found[3])))
    for label in labels:
        assert by_room[label] == [(n, n - 1) for n in range(1, 11)], label
    assert peak >= 2  # rooms did not wait for each other


async def test_crash_after_reply_stored_publishes_that_reply_once(redis: Any, config: BusConfig,
                                                                  store: PostgresStore,
                                                                  postgres_url: str) -> None:
    """A worker stored the message and its reply, then died before the publish-and-ack script."""
    message, connection = request("c", 1)
    runtime = factory()(ECHO, store)
    await runtime.initialize()
    await runtime.ensure_connection(entity_id=message.entity_id, room_id=message.room_id, source="test")
    done = await runtime.messages.handle(message.model_copy(deep=True))
    assert done.status == "responded"
    await _leave_pending(redis, config, message, connection)

    calls = 0

    async def count(room: str, n: int) -> None:
        nonlocal calls
        calls += 1

    async with running(redis, postgres_url, config, name="w1", hook=count), \
            Gateway(redis, config=config) as bus:
        ticket = await bus.submit(message, connection=connection)  # the client retries the same id
        with anyio.fail_after(20):
            reply = await ticket.result()
        await eventually(lambda: _nothing_pending(redis, config))
    assert reply.recovered and [m.id for m in reply.responses] == [done.responses[0].id]
    assert calls == 0  # no second model run
    assert len(await replies_on_stream(redis, config)) == 1
    assert await stored_texts(store, "c") == ["REQ r=c n=1", "ACK r=c n=1 prev=0"]


async def test_interrupted_run_is_run_again_once(redis: Any, config: BusConfig, store: PostgresStore,
                                                 postgres_url: str) -> None:
    """A worker stored the incoming message and died before the agent answered."""
    message, connection = request("d", 1)
    await store.memories.create(message.model_copy(update={"created_at": now_ms()}), "messages")
    await _leave_pending(redis, config, message, connection)
    async with running(redis, postgres_url, config, name="w1"), Gateway(redis, config=config) as bus:
        with anyio.fail_after(20):
            reply = await bus.request(message, connection=connection)
    assert reply.text == "ACK r=d n=1 prev=0" and reply.recovered
    assert await stored_texts(store, "d") == ["REQ r=d n=1", "ACK r=d n=1 prev=0"]
    assert len(await replies_on_stream(redis, config)) == 1


async def test_resubmitted_message_id_gets_the_first_reply(redis: Any, config: BusConfig,
                                                           store: PostgresStore, postgres_url: str) -> None:
    message, connection = request("e", 1)
    async with running(redis, postgres_url, config, name="w1"), Gateway(redis, config=config) as bus:
        with anyio.fail_after(20):
            first = await bus.request(message, connection=connection)
            again = await bus.request(message, connection=connection)
        # Two entries for one id while the first is still queued: still one reply.
        twin, twin_connection = request("e", 2)
        t1 = await bus.submit(twin, connection=twin_connection)
        t2 = await bus.submit(twin, connection=twin_connection)
        with anyio.fail_after(20):
            r1, r2 = await t1.result(), await t2.result()
        await eventually(lambda: _nothing_pending(redis, config))
    assert again.responses[0].id == first.responses[0].id
    assert r1.responses[0].id == r2.responses[0].id
    assert len(await replies_on_stream(redis, config)) == 2
    assert await stored_texts(store, "e") == ["REQ r=e n=1", "ACK r=e n=1 prev=0",
                                              "REQ r=e n=2", "ACK r=e n=2 prev=1"]


async def test_dead_workers_pending_entries_are_claimed_after_its_lease_expires(
        redis: Any, config: BusConfig, store: PostgresStore, postgres_url: str) -> None:
    """A dead worker holds every shard (unexpired leases) with entries delivered to it, never acknowledged."""
    messages = [request("f", n) for n in (1, 2, 3)]
    for message, connection in messages:
        await _leave_pending(redis, config, message, connection)
    ttl_ms = int(config.lease_ttl_s * 1000)
    for shard in range(config.shards):
        await redis.set(config.lease(shard), "dead#token", px=ttl_ms)
    started = anyio.current_time()
    async with running(redis, postgres_url, config, name="w1") as worker, \
            Gateway(redis, config=config) as bus:
        assert worker.shards == []  # the leases are still live
        with anyio.fail_after(30):
            replies = [await (await bus.submit(m, connection=c)).result() for m, c in messages]
        waited = anyio.current_time() - started
    assert waited >= config.lease_ttl_s * 0.8
    assert [r.text for r in replies] == ["ACK r=f n=1 prev=0", "ACK r=f n=2 prev=1", "ACK r=f n=3 prev=2"]
    assert all(r.recovered for r in replies)


async def test_a_worker_that_lost_its_lease_publishes_nothing(redis: Any, config: BusConfig,
                                                              store: PostgresStore,
                                                              postgres_url: str) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def hold(room: str, n: int) -> None:
        if n == 1:
            entered.set()
            await release.wait()

    message, connection = request("g", 1)
    shard = config.shard_of(message.room_id)
    async with running(redis, postgres_url, config, name="w1", hook=hold) as worker, \
            Gateway(redis, config=config) as bus:
        ticket = await bus.submit(message, connection=connection)
        with anyio.fail_after(20):
            await entered.wait()
        await redis.set(config.lease(shard), "thief#token", px=int(config.lease_ttl_s * 1000))
        await eventually(lambda: _true(shard not in worker.shards))  # the next renewal notices
        release.set()
        assert await redis.xlen(config.replies) == 0  # fenced: nothing published
        await redis.delete(config.lease(shard))  # the thief vanishes; the shard is free again
        with anyio.fail_after(20):
            reply = await ticket.result()
    assert reply.text == "ACK r=g n=1 prev=0"
    assert worker.stats.shards_lost >= 1
    assert len(await replies_on_stream(redis, config)) == 1
    assert await stored_texts(store, "g") == ["REQ r=g n=1", "ACK r=g n=1 prev=0"]


async def test_graceful_stop_finishes_in_flight_work_and_leaves(redis: Any, config: BusConfig,
                                                                store: PostgresStore,
                                                                postgres_url: str) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def hold(room: str, n: int) -> None:
        entered.set()
        await release.wait()

    message, connection = request("h", 1)
    worker_store = PostgresStore(postgres_url)
    worker = Worker(redis, worker_store, factory(hold), config=config, name="w1")
    async with worker_store, Gateway(redis, config=config) as bus, anyio.create_task_group() as tg:
        await tg.start(worker.run)
        ticket = await bus.submit(message, connection=connection)
        with anyio.fail_after(20):
            await entered.wait()
        worker.stop()
        release.set()
        with anyio.fail_after(20):
            reply = await ticket.result()
    assert reply.text == "ACK r=h n=1 prev=0"
    assert worker.shards == []
    assert [await redis.get(config.lease(s)) for s in range(config.shards)] == [None] * config.shards
    assert await redis.zscore(config.workers, "w1") is None


async def test_shards_rebalance_when_workers_come_and_go(redis: Any, config: BusConfig,
                                                         store: PostgresStore, postgres_url: str) -> None:
    async with running(redis, postgres_url, config, name="w1") as w1:
        assert w1.shards == [0, 1, 2, 3]
        async with running(redis, postgres_url, config, name="w2") as w2:
            await eventually(lambda: _true(len(w1.shards) == 2 and len(w2.shards) == 2))
            assert sorted(w1.shards + w2.shards) == [0, 1, 2, 3]
            async with Gateway(redis, config=config) as bus:
                labels = [f"b{i}" for i in range(8)]
                with anyio.fail_after(30):
                    for label in labels:
                        message, connection = request(label, 1)
                        assert (await bus.request(message, connection=connection)).status == "responded"
            assert {r.worker for r in await replies_on_stream(redis, config)} == {"w1", "w2"}
        await eventually(lambda: _true(w1.shards == [0, 1, 2, 3]))


async def test_acknowledged_entries_are_trimmed(redis: Any, store: PostgresStore, postgres_url: str) -> None:
    config = BusConfig(prefix="t" + new_uuid()[:8], shards=1, lease_ttl_s=1.5, block_ms=200, trim_every=10)
    async with running(redis, postgres_url, config, name="w1"), Gateway(redis, config=config) as bus:
        tickets = []
        for n in range(1, 31):
            message, connection = request("t", n)
            tickets.append(await bus.submit(message, connection=connection))
        with anyio.fail_after(30):
            texts = [(await t.result()).text for t in tickets]
    assert texts == [f"ACK r=t n={n} prev={n - 1}" for n in range(1, 31)]
    assert await redis.xlen(config.stream(0)) < 30


async def test_unknown_agent_and_undecodable_entries_get_error_replies(redis: Any, config: BusConfig,
                                                                       store: PostgresStore,
                                                                       postgres_url: str) -> None:
    stranger = Memory(id=new_uuid(), entity_id=new_uuid(), agent_id=new_uuid(), room_id=new_uuid(),
                      content=Content(text="hello?"))
    broken_id = new_uuid()
    await redis.xadd(config.stream(0), {"id": broken_id, "room": "x", "agent": "y", "data": "{not json"})
    async with running(redis, postgres_url, config, name="w1") as worker, \
            Gateway(redis, config=config) as bus:
        with anyio.fail_after(20):
            reply = await bus.request(stranger)
        await eventually(lambda: _true(worker.stats.dead_lettered == 1))
    assert reply.status == "error" and "unknown or disabled" in (reply.error or "")
    errors = {r.message_id: r for r in await replies_on_stream(redis, config)}
    assert errors[broken_id].status == "error" and "undecodable" in (errors[broken_id].error or "")
    assert await redis.xlen(config.dead) == 1


async def test_a_message_that_keeps_killing_workers_is_given_up(redis: Any, config: BusConfig,
                                                                store: PostgresStore,
                                                                postgres_url: str) -> None:
    message, connection = request("p", 1)
    entry_id = await _leave_pending(redis, config, message, connection)
    stream = config.stream(config.shard_of(message.room_id))
    await redis.xclaim(stream, config.group, "dead", 0, [entry_id], retrycount=config.max_deliveries + 1)
    async with running(redis, postgres_url, config, name="w1"), Gateway(redis, config=config) as bus:
        with anyio.fail_after(20):
            reply = await bus.request(message, connection=connection)
    assert reply.status == "error" and "gave up" in (reply.error or "")
    assert await store.memories.get(message.id or "") is None  # never run


async def test_tickets_time_out_and_fail_fast_when_the_gateway_stops(redis: Any, config: BusConfig) -> None:
    async with Gateway(redis, config=config) as bus:  # no worker runs
        first, connection = request("z", 1)
        with pytest.raises(TimeoutError):
            await bus.request(first, connection=connection, timeout_s=0.3)
        assert bus.waiting == 0
        second, connection = request("z", 2)
        ticket = await bus.submit(second, connection=connection)
    with anyio.fail_after(5), pytest.raises(RunError, match="stopped"):
        await ticket.result(timeout_s=None)


async def test_a_different_shard_count_is_refused(redis: Any, config: BusConfig) -> None:
    async with Gateway(redis, config=config):
        pass
    other = BusConfig(prefix=config.prefix, shards=config.shards + 1)
    with pytest.raises(ConfigError, match="shards"):
        async with Gateway(redis, config=other):
            pass


# --- helpers ------------------------------------------------------------------------------------------------


async def _leave_pending(redis: Any, config: BusConfig, message: Memory, connection: Any) -> str:
    """Append the request and deliver it to a consumer that never acknowledges (a dead worker)."""
    from elizapy.scale._redis import ensure_layout

    await ensure_layout(redis, config)
    stream = config.stream(config.shard_of(message.room_id))
    body = BusRequest(message=message.model_copy(update={"created_at": message.created_at or now_ms()}),
                      connection=connection, submitted_at=now_ms())
    entry_id = await redis.xadd(stream, {"id": message.id, "room": message.room_id, "agent": ECHO.agent_id,
                                         "data": body.model_dump_json(by_alias=True, exclude_none=True)})
    delivered = await redis.xreadgroup(config.group, "dead", {stream: ">"}, count=100)
    assert any(i == entry_id for _s, batch in delivered for i, _f in batch)
    return str(entry_id)


async def _nothing_pending(redis: Any, config: BusConfig) -> bool:
    for shard in range(config.shards):
        summary = await redis.xpending(config.stream(shard), config.group)
        if summary["pending"]:
            return False
    return True


async def _true(value: bool) -> bool:
    return value
