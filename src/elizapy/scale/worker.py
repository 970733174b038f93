"""A stateless agent worker: consumes request shards, runs each message through its agent, publishes replies.

Ordering
    A room always hashes to the same shard (stream), and a shard is consumed by one worker at a time, which
    holds the shard's *lease* (a Redis key with a TTL and the worker's token). Inside a shard, messages of one
    room run strictly one after another (a lane per room), while different rooms run concurrently, up to
    ``max_in_flight`` per worker. So per-room order holds and rooms never wait on each other's model calls,
    beyond the bounded read-ahead of a shard (``shard_buffer``).

Failure and hand-over
    Workers heartbeat into a live-worker set and each takes ``ceil(shards / live workers)`` shards. A worker
    that dies stops renewing; after ``lease_ttl_s`` its leases expire and survivors take its shards. The new
    holder first claims every entry still pending in the shard (XAUTOCLAIM; these are older than anything
    unread, and are claimed in stream order), then reads new ones. A worker with too many shards (a new worker
    joined) drains the extras: stops reading, finishes what it read, releases the lease.

    A worker that stalls longer than the lease TTL (it cannot renew) cancels its own work on that shard
    before the lease can expire on the server (its deadline is measured from *before* each renewal was
    sent), and the publish script refuses writes from a worker whose lease is gone (fencing).

Idempotence (at-least-once delivery, exactly one reply)
    Publishing the reply and acknowledging the request are one atomic script, so an entry is either pending
    and unpublished, or acknowledged and published once. When an entry is delivered again, the worker finds
    out how far the earlier delivery got, in the shared store: the outcome ledger (a cache entry written
    after the pipeline finished) gives the reply to publish; a stored message with the agent's reply to it
    gives it too; a stored message without a reply is an interrupted run, which is removed and run again
    (its model calls repeat; a reply was never stored, so none is duplicated). A message id answered
    before (a client's retry) is recognised by the ``done`` record: its entry is only acknowledged, and the
    gateway hands the first reply to the new ticket.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..character import parse_character
from ..errors import ConfigError, ElizaError, RunError
from ..runtime.runtime import AgentRuntime
from ..store.base import Store
from ..types import Character, Memory, new_uuid
from ._redis import Scripts, check_client, ensure_layout, entries_of
from .config import BusConfig, ledger_key
from .envelope import BusReply, BusRequest

log = logging.getLogger("elizapy.scale.worker")

RuntimeFactory = Callable[[Character, Store], AgentRuntime | Awaitable[AgentRuntime]]
"""Builds an (uninitialised) agent runtime on the shared store; the worker initialises and caches it."""

_RECORD_KEYS = frozenset({"enabled", "createdAt", "updatedAt"})
"""Bookkeeping keys an agent record adds to the character."""


class LeaseLost(Exception):
    """This worker no longer holds the shard (expired or taken): stop working it."""


@dataclass(slots=True)
class Entry:
    id: str
    fields: dict[str, str]
    recovered: bool = False
    deliveries: int = 1

    @property
    def room(self) -> str:
        return self.fields.get("room", "")


@dataclass
class _Shard:
    index: int
    token: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    read_scope: anyio.CancelScope | None = None
    draining: bool = False
    deadline: float = 0.0
    """Local monotonic time before which the lease is surely still ours."""
    processed: int = 0
    done: anyio.Event = field(default_factory=anyio.Event)
    """Set when the shard's task has ended (its lanes finished or were cancelled)."""


@dataclass
class _Agent:
    runtime: AgentRuntime
    character: dict[str, Any]
    checked: float


@dataclass
class WorkerStats:
    processed: int = 0
    recovered: int = 0
    dead_lettered: int = 0
    retries: int = 0
    shards_taken: int = 0
    shards_lost: int = 0


class Worker:
    """Run with ``await worker.run()``; :meth:`stop` (or cancelling ``run``) shuts it down gracefully."""

    def __init__(self, redis: Redis, store: Store, factory: RuntimeFactory, *,
                 config: BusConfig | None = None, name: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_client(redis)
        self.redis = redis
        self.store = store
        self.factory = factory
        self.config = config or BusConfig()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        """The consumer name in the shard groups; lease values are ``name#<unique per acquisition>``, so a
        restarted worker with the same name, or an earlier tenure of the same shard, is fenced apart."""
        self.stats = WorkerStats()
        self._clock = clock
        self._scripts = Scripts(redis)
        self._shards: dict[int, _Shard] = {}
        self._agents: dict[str, _Agent] = {}
        self._retired: list[AgentRuntime] = []
        """Replaced runtimes: lanes may still be using them, so they are stopped when the worker stops."""
        self._agent_locks: dict[str, anyio.Lock] = {}
        self._limiter: anyio.CapacityLimiter | None = None
        self._stopping: anyio.Event | None = None  # made in run(): anyio primitives need a running loop
        self._stop_requested = False
        self._tg: TaskGroup | None = None

    @property
    def shards(self) -> list[int]:
        """The shards this worker holds now."""
        return sorted(self._shards)

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    def stop(self) -> None:
        """Ask for a graceful stop: finish read messages, release shards, leave the worker set."""
        self._stop_requested = True
        if self._stopping is not None:
            self._stopping.set()

    # --- lifecycle -------------------------------------------------------------------------------------

    async def run(self, *, grace_s: float = 30.0,
                  task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Work until :meth:`stop`; then drain for at most ``grace_s`` seconds and clean up."""
        self._stopping = stopping = anyio.Event()
        if self._stop_requested:
            stopping.set()
        self._limiter = anyio.CapacityLimiter(self.config.max_in_flight)
        await self.store.open()
        await ensure_layout(self.redis, self.config)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await self._coordinate_once()
                task_status.started()
                tg.start_soon(self._coordinate)
                await stopping.wait()
                draining = list(self._shards.values())
                for shard in draining:
                    self._drain(shard)
                with anyio.move_on_after(grace_s):
                    for shard in draining:
                        await shard.done.wait()
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await self._leave()

    async def _leave(self) -> None:
        try:
            for shard in list(self._shards.values()):
                await self._scripts.release(keys=[self.config.lease(shard.index)], args=[shard.token])
            self._shards.clear()
            await self.redis.zrem(self.config.workers, self.name)
        except Exception as exc:
            log.warning("leaving the bus cleanly failed (leases will expire): %r", exc)
        for runtime in [*(agent.runtime for agent in self._agents.values()), *self._retired]:
            try:
                await runtime.stop()
            except Exception as exc:
                log.warning("stopping agent %s failed: %r", runtime.agent_id, exc)
        self._agents.clear()
        self._retired.clear()

    # --- shard ownership -------------------------------------------------------------------------------

    @property
    def _interval(self) -> float:
        return self.config.lease_ttl_s / 3

    async def _coordinate(self) -> None:
        assert self._stopping is not None
        while not self._stopping.is_set():
            with anyio.move_on_after(self._interval):
                await self._stopping.wait()
            if self._stopping.is_set():
                return
            try:
                with anyio.fail_after(self._interval):
                    await self._coordinate_once()
            except Exception as exc:  # Redis slow or unreachable: leases lapse on their own deadline
                log.warning("coordination failed: %r", exc)
            self._enforce_deadlines()

    async def _coordinate_once(self) -> None:
        ttl_ms = int(self.config.lease_ttl_s * 1000)
        sent = self._clock()
        live = int(await self._scripts.heartbeat(keys=[self.config.workers], args=[self.name, ttl_ms]))
        held = list(self._shards.values())
        if held:
            kept = await self._scripts.renew(keys=[self.config.lease(s.index) for s in held],
                                             args=[ttl_ms, *(s.token for s in held)])
            for shard, ok in zip(held, kept, strict=True):
                if int(ok):
                    shard.deadline = sent + self.config.lease_ttl_s
                else:
                    self._lost(shard, "not renewed (expired or taken)")
        target = math.ceil(self.config.shards / max(live, 1))
        active = [s for s in self._shards.values() if not s.draining]
        if len(active) > target:
            for shard in sorted(active, key=lambda s: s.index)[target:]:
                self._drain(shard)
        elif len(active) < target and not self._stop_requested:
            await self._acquire(target - len(active), ttl_ms)

    async def _acquire(self, wanted: int, ttl_ms: int) -> None:
        assert self._tg is not None
        # Start at a worker-specific offset so workers do not all race for shard 0 first.
        offset = int.from_bytes(self.name.encode()[-4:].rjust(4, b"\0"), "big") % self.config.shards
        for step in range(self.config.shards):
            if wanted <= 0 or self._stop_requested:
                return
            index = (offset + step) % self.config.shards
            if index in self._shards:
                continue
            sent = self._clock()
            token = f"{self.name}#{new_uuid()}"
            if await self.redis.set(self.config.lease(index), token, nx=True, px=ttl_ms):
                shard = _Shard(index=index, token=token, deadline=sent + self.config.lease_ttl_s)
                self._shards[index] = shard
                self.stats.shards_taken += 1
                wanted -= 1
                self._tg.start_soon(self._run_shard, shard)

    def _enforce_deadlines(self) -> None:
        now = self._clock()
        for shard in list(self._shards.values()):
            if now >= shard.deadline:
                self._lost(shard, "lease deadline passed without renewal")

    def _lost(self, shard: _Shard, why: str) -> None:
        log.warning("worker %s lost shard %d: %s", self.name, shard.index, why)
        self.stats.shards_lost += 1
        shard.scope.cancel()
        self._forget_shard(shard)

    def _drain(self, shard: _Shard) -> None:
        if not shard.draining:
            shard.draining = True
            if shard.read_scope is not None:
                shard.read_scope.cancel()

    def _forget_shard(self, shard: _Shard) -> None:
        if self._shards.get(shard.index) is shard:
            del self._shards[shard.index]

    # --- one shard -------------------------------------------------------------------------------------

    async def _run_shard(self, shard: _Shard) -> None:
        try:
            with shard.scope:
                async with anyio.create_task_group() as lanes_tg:
                    lanes = _Lanes(lanes_tg, self.config.shard_buffer,
                                   lambda entry: self._process(shard, entry))
                    await self._claim_pending(shard, lanes)
                    await self._read_shard(shard, lanes)
                # Drained: everything queued has finished; what was read but never queued stays pending
                # for the next holder, which claims it before reading anything newer.
                await self._scripts.release(keys=[self.config.lease(shard.index)], args=[shard.token])
        except Exception as exc:
            log.exception("shard %d failed: %r; giving it up", shard.index, exc)
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await self._scripts.release(keys=[self.config.lease(shard.index)], args=[shard.token])
                except Exception as release_exc:
                    log.warning("releasing shard %d failed: %r", shard.index, release_exc)
        finally:
            self._forget_shard(shard)
            shard.done.set()

    async def _read_shard(self, shard: _Shard, lanes: _Lanes) -> None:
        """Read new entries into the lanes until the shard drains. Cancelling a read (draining) may leave
        entries delivered to this consumer but never queued: they stay pending and the next holder claims
        them, still ahead of anything newer."""
        stream = self.config.stream(shard.index)
        backoff = 0.1
        while not shard.draining:
            with anyio.CancelScope() as read_scope:
                shard.read_scope = read_scope
                try:
                    response = await self.redis.xreadgroup(
                        self.config.group, self.name, {stream: ">"}, count=self.config.read_count,
                        block=self.config.block_ms)
                except Exception as exc:  # Redis unreachable: the lease deadline decides when to give up
                    log.warning("reading shard %d failed: %r", shard.index, exc)
                    if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                        with anyio.move_on_after(5):  # Redis lost its data: recreate streams and groups
                            await ensure_layout(self.redis, self.config)
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, self.config.retry_max_s)
                    continue
                backoff = 0.1
                for entry_id, fields in entries_of(response):
                    await lanes.put(Entry(entry_id, fields))
            shard.read_scope = None
            if shard.processed >= self.config.trim_every:
                shard.processed = 0
                await self._trim(shard.index)

    async def _claim_pending(self, shard: _Shard, lanes: _Lanes) -> None:
        """Take over every entry still pending in the shard (from a dead or departed holder), in order."""
        stream = self.config.stream(shard.index)
        start = "0-0"
        while True:
            answer = await self.redis.xautoclaim(stream, self.config.group, self.name, min_idle_time=0,
                                                 start_id=start, count=100)
            start, claimed = str(answer[0]), answer[1]
            deleted = answer[2] if len(answer) > 2 else []
            if deleted:  # trimmed while pending: nothing left to run
                await self.redis.xack(stream, self.config.group, *deleted)
            if claimed:
                counts = await self._delivery_counts(stream, str(claimed[0][0]), str(claimed[-1][0]))
                for entry_id, fields in claimed:
                    entry = Entry(str(entry_id), dict(fields or {}), recovered=True,
                                  deliveries=counts.get(str(entry_id), 1))
                    await lanes.put(entry)
            if start == "0-0":
                return

    async def _delivery_counts(self, stream: str, first: str, last: str) -> dict[str, int]:
        rows = await self.redis.xpending_range(stream, self.config.group, min=first, max=last, count=1000)
        return {str(r["message_id"]): int(r["times_delivered"]) for r in rows}

    async def _trim(self, shard: int) -> None:
        """Drop acknowledged entries from the front of the shard's stream.

        Delivery is in id order, so every entry older than both the oldest pending one and the group's
        last-delivered id has been acknowledged.
        """
        stream = self.config.stream(shard)
        try:
            groups = await self.redis.xinfo_groups(stream)
            ours = next((g for g in groups if g.get("name") == self.config.group), None)
            if ours is None:
                return
            safe = str(ours["last-delivered-id"])
            pending = await self.redis.xpending(stream, self.config.group)
            if pending.get("pending") and pending.get("min"):
                safe = min(safe, str(pending["min"]), key=_id_key)
            await self.redis.xtrim(stream, minid=safe, approximate=False)
        except Exception as exc:
            log.warning("trimming %s failed: %r", stream, exc)

    # --- one message -----------------------------------------------------------------------------------

    async def _process(self, shard: _Shard, entry: Entry) -> None:
        """Run one entry to completion, retrying infrastructure failures (the room waits: order first).
        Losing the lease cancels the whole shard; its unfinished entries stay pending for the next holder."""
        assert self._limiter is not None
        async with self._limiter:
            backoff = 0.1
            attempts = 0
            while True:
                try:
                    if self._clock() >= shard.deadline:
                        raise LeaseLost()
                    await self._handle_entry(shard, entry)
                    shard.processed += 1
                    self.stats.processed += 1
                    if entry.recovered:
                        self.stats.recovered += 1
                    return
                except LeaseLost:
                    self._lost(shard, "lease gone before publishing")
                    await anyio.lowlevel.checkpoint()  # delivers the shard's cancellation
                    return
                except Exception as exc:
                    attempts += 1
                    if not _transient(exc) and attempts >= 3:
                        await self._give_up(shard, entry, exc)
                        return
                    # The store or Redis failed (or a bug, a few times): the room waits, order first.
                    self.stats.retries += 1
                    log.warning("message entry %s failed (%r); retrying in %.1fs", entry.id, exc, backoff)
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, self.config.retry_max_s)

    async def _handle_entry(self, shard: _Shard, entry: Entry) -> None:
        message_id = entry.fields.get("id") or entry.id
        if await self.redis.exists(self.config.done(message_id)):
            # Answered already (a client retry, or a copy of a dead-lettered message): only acknowledge.
            await self._acknowledge(shard, entry)
            return
        try:
            request = BusRequest.model_validate_json(entry.fields.get("data", ""))
        except ValidationError as exc:
            await self._dead_letter(shard, entry, message_id, f"undecodable request: {exc.errors()[:1]}")
            return
        message = request.message
        if entry.deliveries > self.config.max_deliveries:
            await self._dead_letter(shard, entry, message_id,
                                    f"gave up after {entry.deliveries} deliveries", message=message)
            return
        reply = await self._outcome(request, recovered=entry.recovered)
        await self._publish(shard, entry, reply)

    async def _outcome(self, request: BusRequest, *, recovered: bool) -> BusReply:
        message = request.message
        assert message.id is not None and message.agent_id is not None
        base = {"message_id": message.id, "agent_id": message.agent_id, "room_id": message.room_id,
                "worker": self.name, "recovered": recovered}
        runtime = await self._runtime(message.agent_id)
        if runtime is None:
            return BusReply(**base, status="error", error=f"agent {message.agent_id} is unknown or disabled")
        key = ledger_key(message.agent_id, message.id)
        for _ in range(3):
            ledger = await self.store.cache.get(key)
            if ledger is not None:
                return BusReply.model_validate({**ledger, "worker": self.name, "recovered": recovered})
            if await self.store.memories.get(message.id) is not None:
                replies = await self._stored_replies(runtime, message)
                if replies:
                    reply = BusReply(**{**base, "recovered": True}, status="responded", responses=replies)
                    await self._record(key, reply)
                    return reply
                # An interrupted run: the message was stored but never answered. Run it again from the top.
                await self.store.memories.delete(message.id)
            if request.connection is not None:
                c = request.connection
                await runtime.ensure_connection(
                    entity_id=message.entity_id, room_id=message.room_id, world_id=c.world_id,
                    user_name=c.user_name, name=c.name, source=c.source, type=c.channel_type,
                    channel_id=c.channel_id, message_server_id=c.message_server_id, metadata=c.metadata)
            result = await runtime.messages.handle(message.model_copy(deep=True))
            if result.status == "duplicate":  # stored concurrently since our check: look again
                continue
            reply = BusReply(**base, status=result.status, error=result.error,
                             responses=[_without_vector(m) for m in result.responses])
            await self._record(key, reply)
            return reply
        raise ElizaError(f"message {message.id} kept changing under the worker")

    async def _record(self, key: str, reply: BusReply) -> None:
        ledger = reply.model_dump(mode="json", by_alias=True, exclude_none=True,
                                  exclude={"worker", "recovered"})
        await self.store.cache.set(key, ledger, ttl_s=self.config.ledger_ttl_s)

    async def _stored_replies(self, runtime: AgentRuntime, message: Memory) -> list[Memory]:
        """The agent's stored replies to ``message``, oldest first. Rooms are processed in order, so they
        are among the room's newest messages (no time bound: the worker's and the sender's clocks differ)."""
        recent = await self.store.memories.list(table="messages", room_id=message.room_id,
                                                agent_id=runtime.agent_id, count=50)
        return [m for m in reversed(recent)
                if m.entity_id == runtime.agent_id and m.content.in_reply_to == message.id]

    async def _publish(self, shard: _Shard, entry: Entry, reply: BusReply) -> None:
        answer = await self._scripts.publish_ack(
            keys=[self.config.lease(shard.index), self.config.done(reply.message_id), self.config.replies,
                  self.config.stream(shard.index)],
            args=[shard.token, self.config.group, entry.id, reply.message_id, reply.dumps(),
                  int(self.config.done_ttl_s * 1000), self.config.replies_maxlen],
        )
        if not int(answer[0]):
            raise LeaseLost()

    async def _give_up(self, shard: _Shard, entry: Entry, exc: Exception) -> None:
        """A failure that retrying will not fix (a bad character record, a bug): answer with the error."""
        message_id = entry.fields.get("id") or entry.id
        log.error("giving up on entry %s (message %s): %r", entry.id, message_id, exc)
        try:
            await self._dead_letter(shard, entry, message_id, f"{type(exc).__name__}: {exc}")
        except LeaseLost:
            self._lost(shard, "lease gone before publishing")

    async def _acknowledge(self, shard: _Shard, entry: Entry) -> None:
        """Acknowledge an entry whose message was answered already, publishing nothing."""
        keys = [self.config.lease(shard.index), self.config.stream(shard.index)]
        acked = await self._scripts.ack(keys=keys, args=[shard.token, self.config.group, entry.id])
        if not int(acked):
            raise LeaseLost()

    async def _dead_letter(self, shard: _Shard, entry: Entry, message_id: str, error: str, *,
                           message: Memory | None = None) -> None:
        log.error("dead-lettering entry %s (message %s): %s", entry.id, message_id, error)
        self.stats.dead_lettered += 1
        fields: dict[Any, Any] = {**entry.fields, "entry": entry.id, "error": error}
        await self.redis.xadd(self.config.dead, fields, maxlen=10_000, approximate=True)
        reply = BusReply(message_id=message_id, agent_id=entry.fields.get("agent", ""),
                         room_id=message.room_id if message else entry.room, status="error", error=error,
                         worker=self.name, recovered=entry.recovered)
        await self._publish(shard, entry, reply)

    # --- agents ----------------------------------------------------------------------------------------

    async def _runtime(self, agent_id: str) -> AgentRuntime | None:
        """The agent's runtime, built from its stored record on first use and rebuilt when it changes."""
        cached = self._agents.get(agent_id)
        now = self._clock()
        if cached is not None and now - cached.checked < self.config.agent_refresh_s:
            return cached.runtime
        lock = self._agent_locks.setdefault(agent_id, anyio.Lock())
        async with lock:
            cached = self._agents.get(agent_id)
            if cached is not None and now - cached.checked < self.config.agent_refresh_s:
                return cached.runtime
            record = await self.store.agents.get(agent_id)
            if record is None or record.get("enabled") is False:
                if cached is not None:
                    del self._agents[agent_id]
                    self._retired.append(cached.runtime)
                return None
            character = {k: v for k, v in record.items() if k not in _RECORD_KEYS}
            if cached is not None and cached.character == character:
                cached.checked = now
                return cached.runtime
            parsed = parse_character(character, source=f"agent record {agent_id}").character
            built = self.factory(parsed, self.store)
            runtime = await built if inspect.isawaitable(built) else built
            await runtime.initialize()  # writes the normalised character back to the record
            stored = {**runtime.character.to_wire(), "id": agent_id}
            self._agents[agent_id] = _Agent(runtime=runtime, character=stored, checked=now)
            if cached is not None:
                self._retired.append(cached.runtime)
            return runtime


class _Lanes:
    """Per-room FIFO lanes on a shard: one task per room with work, at most ``capacity`` entries queued."""

    def __init__(self, tg: TaskGroup, capacity: int, process: Callable[[Entry], Awaitable[None]]) -> None:
        self._tg = tg
        self._process = process
        self._queues: dict[str, deque[Entry]] = {}
        self._slots = anyio.Semaphore(capacity)

    async def put(self, entry: Entry) -> None:
        await self._slots.acquire()
        queue = self._queues.get(entry.room)
        if queue is None:
            queue = self._queues[entry.room] = deque()
            self._tg.start_soon(self._run, entry.room, queue)
        queue.append(entry)

    async def _run(self, room: str, queue: deque[Entry]) -> None:
        try:
            while queue:
                try:
                    await self._process(queue[0])
                finally:
                    queue.popleft()
                    self._slots.release()
        finally:
            if self._queues.get(room) is queue and not queue:
                del self._queues[room]


def _transient(exc: Exception) -> bool:
    """Failures worth retrying for as long as they last: storage and Redis trouble, timeouts, the network."""
    if isinstance(exc, ConfigError):
        return False
    return isinstance(exc, RunError | RedisError | OSError | TimeoutError)


def _without_vector(memory: Memory) -> Memory:
    return memory.model_copy(update={"embedding": None}) if memory.embedding is not None else memory


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
