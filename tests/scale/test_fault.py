"""Fault test: a gateway, three worker processes, real Redis and real Postgres + pgvector; 500 messages over
50 rooms; one worker is SIGKILLed mid-run and another is stopped (SIGTERM) and restarted under load.

Afterwards every message has exactly one reply (counted on the replies stream and in the store), each room's
replies came in order (each reply names the previous one the agent saw), and nothing is left pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import pytest
from anyio.abc import Process

from elizapy.scale import BusConfig, BusReply, Gateway, LocalRedis, Ticket
from elizapy.store.postgres import PostgresStore
from elizapy.types import new_uuid

from .conftest import eventually, request, room_id
from .echo import REPLY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROOMS = [f"room{i:02d}" for i in range(50)]
PER_ROOM = 10


class Workers:
    """Worker OS processes (``python -m elizapy.cli_scale worker``); all killed on exit, whatever happens."""

    def __init__(self, redis_url: str, postgres_url: str, config: BusConfig, logs: Path) -> None:
        self.args = ["--redis-url", redis_url, "--postgres-url", postgres_url, "--prefix", config.prefix,
                     "--shards", str(config.shards), "--lease-ttl", str(config.lease_ttl_s), "--grace", "30",
                     "--factory", "tests.scale.echo:build_runtime"]
        self.logs = logs
        self.procs: dict[str, Process] = {}
        self.generation: Counter[str] = Counter()

    def _log(self, name: str) -> BinaryIO:
        self.generation[name] += 1
        return open(self.logs / f"{name}-{self.generation[name]}.log", "wb")

    async def start(self, name: str) -> None:
        with self._log(name) as log:  # the child keeps its own descriptor
            self.procs[name] = await anyio.open_process(
                [sys.executable, "-m", "elizapy.cli_scale", "worker", "--name", name, *self.args],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def wait_exit(self, name: str, timeout_s: float) -> int:
        with anyio.fail_after(timeout_s):
            return await self.procs[name].wait()

    async def kill_all(self) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(20):
            for proc in self.procs.values():
                if proc.returncode is None:
                    proc.kill()
            for proc in self.procs.values():
                await proc.wait()

    def tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted(self.logs.glob("*.log")))


async def test_killed_and_restarted_workers_lose_and_duplicate_nothing(
        redis_server: LocalRedis, redis: Any, postgres_url: str, store: PostgresStore, tmp_path: Path,
) -> None:
    config = BusConfig(prefix="fault-" + new_uuid()[:8], shards=8, lease_ttl_s=2.0, block_ms=200)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(redis_server.url, postgres_url, config, logs)
    replies: dict[str, BusReply] = {}
    progress = {"done": 0}
    thresholds: dict[int, anyio.Event] = defaultdict(anyio.Event)
    sent: list[str] = []

    by_worker: Counter[str] = Counter()
    w1_busy = anyio.Event()

    async def collect(ticket: Ticket) -> None:
        reply = await ticket.result(timeout_s=None)
        replies[ticket.message_id] = reply
        progress["done"] += 1
        by_worker[reply.worker] += 1
        if by_worker["w1"] >= 5:
            w1_busy.set()
        for count, event in thresholds.items():
            if progress["done"] >= count:
                event.set()

    async def reached(count: int) -> None:
        if progress["done"] < count:
            await thresholds[count].wait()

    async def submit(bus: Gateway, tg: Any, numbers: range) -> None:
        for n in numbers:
            for label in ROOMS:
                message, connection = request(label, n)
                assert message.id is not None
                sent.append(message.id)
                tg.start_soon(collect, await bus.submit(message, connection=connection))

    async def shards_held_by(name: str) -> int:
        holders = [await redis.get(config.lease(s)) for s in range(config.shards)]
        return sum(1 for h in holders if h and h.split("#")[0] == name)

    try:
        with anyio.fail_after(170):
            for name in ("w1", "w2", "w3"):
                await workers.start(name)

            async def balanced() -> bool:
                return sorted([await shards_held_by(n) for n in ("w1", "w2", "w3")]) == [2, 3, 3]

            # Three interpreters importing on two cores, then a rebalance.
            await eventually(balanced, timeout_s=90, every_s=0.1)

            async with Gateway(redis, config=config) as bus, anyio.create_task_group() as tg:
                # Phase A (messages 1-4 of every room): SIGKILL w1 while it is answering.
                await submit(bus, tg, range(1, 5))
                await w1_busy.wait()
                workers.procs["w1"].send_signal(signal.SIGKILL)
                assert progress["done"] < 150, "w1 was killed too late to be mid-run"
                await reached(200)

                # Phase B (5-7): stop w2 gracefully mid-phase and start it again right away.
                await submit(bus, tg, range(5, 8))
                await reached(260)
                workers.procs["w2"].send_signal(signal.SIGTERM)
                assert await workers.wait_exit("w2", 40) == 0, workers.tails()
                await workers.start("w2")
                await reached(350)

                async def w2_back() -> bool:
                    return await shards_held_by("w2") > 0

                await eventually(w2_back, timeout_s=60, every_s=0.1)

                # Phase C (8-10): the survivors and the restarted worker finish the run.
                await submit(bus, tg, range(8, PER_ROOM + 1))
                await reached(len(ROOMS) * PER_ROOM)

            for name in ("w2", "w3"):
                workers.procs[name].send_signal(signal.SIGTERM)
            for name in ("w2", "w3"):
                assert await workers.wait_exit(name, 40) == 0, workers.tails()
    finally:
        await workers.kill_all()

    # Every message: exactly one reply, from the tickets and on the replies stream.
    assert len(sent) == len(set(sent)) == 500
    assert set(replies) == set(sent) and all(r.status == "responded" for r in replies.values())
    entries = await redis.xrange(config.replies)
    on_stream = [BusReply.model_validate_json(fields["data"]) for _id, fields in entries]
    assert sorted(r.message_id for r in on_stream) == sorted(sent)

    # Per-room order: replies appear in message order, each having seen exactly the previous one.
    by_room: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for reply in on_stream:
        found = REPLY.fullmatch(reply.text)
        assert found is not None, reply.text
        by_room[found[1]].append((int(found[2]), int(found[3])))
    assert {label: by_room[label] for label in ROOMS} == \
        {label: [(n, n - 1) for n in range(1, PER_ROOM + 1)] for label in ROOMS}

    # The store: each room holds its 10 messages and exactly one reply to each, nothing else.
    for label in ROOMS:
        stored = await store.memories.list(table="messages", room_id=room_id(label))
        texts = Counter(m.content.text for m in stored)
        expected = Counter({f"REQ r={label} n={n}": 1 for n in range(1, PER_ROOM + 1)}
                           | {f"ACK r={label} n={n} prev={n - 1}": 1 for n in range(1, PER_ROOM + 1)})
        assert texts == expected, (label, texts - expected, expected - texts)
        answered = Counter(m.content.in_reply_to for m in stored if m.content.in_reply_to)
        assert set(answered.values()) == {1}

    print(f"replies by worker: {Counter(r.worker for r in on_stream)}, "
          f"recovered: {sum(r.recovered for r in on_stream)}")
    # The faults really happened: w1's pending entries were taken over, the restarted w2 did work,
    # and nothing is left pending or dead-lettered.
    assert any(r.recovered for r in on_stream), "no entry was recovered from the killed worker"
    assert {r.worker for r in on_stream} >= {"w1", "w2", "w3"}
    late = [r for r in on_stream[350:] if r.worker == "w2"]  # phase C began after 350 replies
    assert late, "the restarted worker answered nothing"
    for shard in range(config.shards):
        assert (await redis.xpending(config.stream(shard), config.group))["pending"] == 0
    assert await redis.xlen(config.dead) == 0
