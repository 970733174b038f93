"""Real engines for the bus tests: a redis-server on a loopback port and a PostgreSQL with pgvector, started
by the tests themselves (``scripts/setup/scale.sh`` installs both), one fresh database per test."""

from __future__ import annotations

import faulthandler
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import pytest

from elizapy.types import UUID, Character, Content, Memory, create_unique_uuid, new_uuid

try:
    from elizapy.scale import BusConfig, Connection, LocalRedis, connect
    from elizapy.store._pg_local import LocalPostgres, create_database, drop_database, find_bin_dir
    from elizapy.store.postgres import PostgresStore
except ImportError as exc:  # the redis / postgres extras are missing
    if os.environ.get("CI"):
        raise
    pytest.skip(f"scale-out extras not installed ({exc}): run scripts/setup/scale.sh",
                allow_module_level=True)

ECHO = Character(name="Echo", bio=["Echo answers every message with its number."])


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    """Every wait in these tests is bounded; should one still hang (a blocked event loop cannot time out),
    print every thread's stack and end the run instead of eating the CI budget."""
    faulthandler.dump_traceback_later(240, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def unavailable(reason: str) -> Any:
    if os.environ.get("CI"):
        pytest.fail(f"scale-out test engines unavailable in CI: {reason}")
    pytest.skip(f"scale-out test engines unavailable: {reason} (run scripts/setup/scale.sh)")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    server = LocalRedis()
    try:
        server.start()
    except Exception as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    external = os.environ.get("ELIZAPY_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        find_bin_dir()
    except Exception as exc:
        unavailable(str(exc))
    with LocalPostgres() as server:
        yield server.url


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    name = "bus_" + new_uuid().replace("-", "")[:16]
    url = create_database(postgres_admin, name, replace=True)
    try:
        yield url
    finally:
        drop_database(postgres_admin, name)


@pytest.fixture
async def redis(redis_server: LocalRedis) -> AsyncIterator[Any]:
    client = connect(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def config() -> BusConfig:
    """A bus of its own per test (a fresh key prefix), paced for tests: short leases and reads."""
    return BusConfig(prefix="t" + new_uuid()[:8], shards=4, lease_ttl_s=1.5, block_ms=200)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    """The shared store, with the echo agent's record in it."""
    async with PostgresStore(postgres_url, max_size=4) as opened:
        await opened.agents.upsert(ECHO.agent_id, ECHO.to_wire())
        yield opened


def room_id(label: str) -> UUID:
    return create_unique_uuid(ECHO.agent_id, f"room:{label}")


def request(label: str, n: int, *, message_id: UUID | None = None) -> tuple[Memory, Connection]:
    """Message ``n`` of room ``label`` from that room's user, and how to reach the room (a DM)."""
    user = create_unique_uuid(ECHO.agent_id, f"user:{label}")
    message = Memory(id=message_id or new_uuid(), entity_id=user, agent_id=ECHO.agent_id,
                     room_id=room_id(label), content=Content(text=f"REQ r={label} n={n}", source="test"))
    return message, Connection(user_name=f"user-{label}", source="test")


async def eventually(condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 15.0,
                     every_s: float = 0.02) -> None:
    """Wait until ``condition`` holds, within a deadline. Only for state that lives in other systems or
    processes (Redis keys, shard ownership decided by workers' timers), which offer no event to wait on."""
    with anyio.fail_after(timeout_s):
        while not await condition():  # noqa: ASYNC110 - external state, no event to wait on
            await anyio.sleep(every_s)
