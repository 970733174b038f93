"""Storage: the narrow per-aggregate protocols, the embedded SQLite store, and :func:`open_store`."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .base import (
    EMBEDDING_DIMENSIONS,
    AgentStore,
    CacheStore,
    EntityStore,
    LogStore,
    MemoryStore,
    ParticipantState,
    RelationshipStore,
    RoomStore,
    Store,
    TaskStore,
)
from .sqlite import SqliteStore


def open_store(url: str | Path | None = None) -> Store:
    """The store a database URL names (not yet opened: ``await store.open()``).

    - ``None``, ``":memory:"``, ``"sqlite://"`` or ``"sqlite:///:memory:"``: an in-memory SQLite store;
    - ``"sqlite:///relative/path.db"`` or ``"sqlite:////absolute/path.db"`` (SQLAlchemy's convention), or a
      bare file path: a SQLite file;
    - ``"postgres://…"`` / ``"postgresql://…"``: PostgreSQL + pgvector (the ``postgres`` extra).
    """
    if url is None:
        return SqliteStore(":memory:")
    if isinstance(url, Path):
        return SqliteStore(url)
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        if not text or text.lower().startswith(("sqlite:", "postgres:", "postgresql:")):
            raise ConfigError(f"bad database URL {url!r}: use ':memory:', 'sqlite:///path.db' or a file path")
        return SqliteStore(text)
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+"):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                "PostgreSQL storage needs the 'postgres' extra: pip install 'elizapy[postgres]'"
            ) from exc
        return PostgresStore(text)
    if scheme != "sqlite":
        raise ConfigError(f"unsupported database URL scheme {scheme!r}: use 'sqlite:///path.db'")
    if rest in ("", "/", "/:memory:"):
        return SqliteStore(":memory:")
    if not rest.startswith("/"):
        raise ConfigError(f"bad SQLite URL {url!r}: expected 'sqlite:///relative.db' or 'sqlite:////abs/path.db'")
    return SqliteStore(rest[1:])


__all__ = [
    "EMBEDDING_DIMENSIONS",
    "AgentStore",
    "CacheStore",
    "EntityStore",
    "LogStore",
    "MemoryStore",
    "ParticipantState",
    "RelationshipStore",
    "RoomStore",
    "SqliteStore",
    "Store",
    "TaskStore",
    "open_store",
]
