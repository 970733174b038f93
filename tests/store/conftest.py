"""The ``store`` fixture: every conformance test runs once per backend listed in :data:`BACKENDS`.

A new implementation joins the suite by adding one entry (a name, a builder, and whether a second store
can be opened on the same database).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from elizapy.store import SqliteStore, Store


@dataclass(frozen=True)
class Backend:
    build: Callable[[Path], Store]
    """An unopened store on the test's database; called again, it must reach the *same* database."""
    persistent: bool
    """Whether a store built again sees what the first one wrote (false for in-memory databases)."""


BACKENDS: dict[str, Backend] = {
    "sqlite-memory": Backend(lambda tmp: SqliteStore(":memory:"), persistent=False),
    "sqlite-file": Backend(lambda tmp: SqliteStore(tmp / "db" / "eliza.sqlite"), persistent=True),
    "postgres": Backend(lambda tmp: _postgres_store(tmp), persistent=True),
}

OpenAnother = Callable[[], Awaitable[Store]]


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
async def store(backend: Backend, tmp_path: Path) -> AsyncIterator[Store]:
    opened = backend.build(tmp_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def open_another(backend: Backend, tmp_path: Path) -> AsyncIterator[OpenAnother]:
    """Opens more stores on the same database as ``store`` (skips for non-persistent backends)."""
    if not backend.persistent:
        pytest.skip("the backend's database is private to one store")
    opened: list[Store] = []

    async def open_one() -> Store:
        another = backend.build(tmp_path)
        await another.open()
        opened.append(another)
        return another

    try:
        yield open_one
    finally:
        for another in opened:
            await another.close()


# --- the Postgres backend: one real server per session, one fresh database per test -----------------------

_PG: dict[str, Any] = {}


def _postgres_store(tmp: Path) -> Store:
    """A store on the test's own schema (named after its tmp folder, so building again reaches it).

    The server is ``ELIZAPY_TEST_POSTGRES_URL`` (an admin URL) when set, else a throwaway PostgreSQL with
    pgvector started on first use (``scripts/setup/scale.sh`` installs the binaries). Each test gets a fresh
    schema first on its ``search_path`` (a fresh database costs ~0.25 s more per test); tests run one at a
    time, so the previous test's schema is dropped when the next one is created.
    """
    try:
        import psycopg

        from elizapy.store._pg_local import LocalPostgres, create_database, find_bin_dir
        from elizapy.store.postgres import PostgresStore
    except ImportError as exc:  # the postgres extra is missing
        return _unavailable(f"psycopg is not installed ({exc})")
    if "admin" not in _PG:
        admin = os.environ.get("ELIZAPY_TEST_POSTGRES_URL")
        if admin is None:
            try:
                find_bin_dir()
            except Exception as exc:
                return _unavailable(str(exc))
            _PG["server"] = server = LocalPostgres()
            admin = server.start()
        _PG["admin"] = create_database(admin, "elizapy_conformance", replace=True)
        with psycopg.connect(_PG["admin"], autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    schema = "t_" + hashlib.sha1(str(tmp).encode()).hexdigest()[:16]
    if _PG.get("schema") != schema:
        with psycopg.connect(_PG["admin"], autocommit=True) as conn:
            if "schema" in _PG:
                conn.execute(f"DROP SCHEMA IF EXISTS {_PG['schema']} CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
        _PG["schema"] = schema
    separator = "&" if "?" in _PG["admin"] else "?"
    url = f"{_PG['admin']}{separator}options=-c%20search_path%3D{schema}%2Cpublic"
    return PostgresStore(url, max_size=4)


def _unavailable(reason: str) -> Any:
    if os.environ.get("CI"):
        pytest.fail(f"Postgres backend unavailable in CI: {reason}")
    pytest.skip(f"Postgres backend unavailable: {reason}")


@pytest.fixture(scope="session", autouse=True)
def _stop_postgres() -> Iterator[None]:
    yield
    server = _PG.pop("server", None)
    if server is not None:
        server.stop()
