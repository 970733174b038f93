"""The ``store`` fixture: every conformance test runs once per backend listed in :data:`BACKENDS`.

A new implementation joins the suite by adding one entry (a name, a builder, and whether a second store
can be opened on the same database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

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
