"""The one SQLite connection every aggregate of a :class:`~elizapy.store.sqlite.SqliteStore` shares.

It owns the driver choice, the pragmas, the schema migrations, the lazily created ``vec0`` index tables and
the conversion of driver errors into :class:`~elizapy.errors.StoreError`. Every statement of the store goes
through :meth:`Db.all`, :meth:`Db.one` or :meth:`Db.run`, so errors are converted in one place.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from ..errors import StoreError
from ._shared import compact_dumps
from .base import EMBEDDING_DIMENSIONS

Row = tuple[Any, ...]

BUSY_TIMEOUT_MS = 5000

# Each migration is a list of statements run in one transaction; the index + 1 is the schema version it
# brings the database to. Append new migrations; never edit a released one.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE agents (
            id TEXT PRIMARY KEY,
            name TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            character TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE entities (
            id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            names TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX entities_agent ON entities(agent_id)",
        """CREATE TABLE components (
            id TEXT PRIMARY KEY,
            entity_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            world_id TEXT NOT NULL,
            source_entity_id TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX components_entity ON components(entity_id, type)",
        "CREATE INDEX components_source ON components(source_entity_id)",
        """CREATE TABLE worlds (
            id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            name TEXT,
            message_server_id TEXT,
            metadata TEXT,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX worlds_agent ON worlds(agent_id)",
        """CREATE TABLE rooms (
            id TEXT PRIMARY KEY,
            agent_id TEXT,
            source TEXT NOT NULL,
            type TEXT NOT NULL,
            channel_id TEXT,
            message_server_id TEXT,
            world_id TEXT,
            name TEXT,
            metadata TEXT,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX rooms_world ON rooms(world_id)",
        """CREATE TABLE participants (
            room_id TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            agent_id TEXT,
            room_state TEXT CHECK (room_state IN ('FOLLOWED', 'MUTED')),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (room_id, entity_id)
        )""",
        "CREATE INDEX participants_entity ON participants(entity_id, room_id)",
        # seq is the rowid: the key of the memory's embedding row and of its vec0 index rows.
        """CREATE TABLE memories (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            agent_id TEXT,
            room_id TEXT NOT NULL,
            world_id TEXT,
            created_at INTEGER NOT NULL,
            is_unique INTEGER NOT NULL DEFAULT 0,
            content TEXT NOT NULL,
            metadata TEXT
        )""",
        "CREATE INDEX memories_room ON memories(room_id, type, created_at)",
        "CREATE INDEX memories_agent ON memories(agent_id, type)",
        "CREATE INDEX memories_entity ON memories(entity_id)",
        "CREATE INDEX memories_type ON memories(type, created_at)",
        # The vectors themselves (float32 blobs); vec_<dim> tables are the KNN index over them, kept in sync
        # by the triggers Db.ensure_vec_table creates. Deleting a memory cascades here, then to vec_<dim>.
        """CREATE TABLE embeddings (
            memory_seq INTEGER PRIMARY KEY REFERENCES memories(seq) ON DELETE CASCADE,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL
        )""",
        """CREATE TABLE relationships (
            id TEXT PRIMARY KEY,
            source_entity_id TEXT NOT NULL,
            target_entity_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            tags TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (source_entity_id, target_entity_id, agent_id)
        )""",
        "CREATE INDEX relationships_target ON relationships(target_entity_id)",
        """CREATE TABLE tasks (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            room_id TEXT,
            world_id TEXT,
            entity_id TEXT,
            tags TEXT NOT NULL,
            metadata TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER
        )""",
        "CREATE INDEX tasks_room ON tasks(room_id)",
        "CREATE INDEX tasks_name ON tasks(name)",
        "CREATE INDEX tasks_entity ON tasks(entity_id)",
        """CREATE TABLE cache (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            expires_at INTEGER,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE logs (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            entity_id TEXT NOT NULL,
            room_id TEXT,
            type TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX logs_entity ON logs(entity_id, created_at)",
        "CREATE INDEX logs_room ON logs(room_id, created_at)",
        "CREATE INDEX logs_type ON logs(type, created_at)",
    ],
]


def dumps(value: Any) -> str:
    """Compact JSON text for a column; pydantic models are written in their wire form."""
    try:
        return compact_dumps(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from exc


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def vector_blob(embedding: Sequence[float]) -> bytes:
    """float32 bytes as sqlite-vec stores them; rejects sizes plugin-sql has no column for."""
    if len(embedding) not in EMBEDDING_DIMENSIONS:
        sizes = ", ".join(str(d) for d in EMBEDDING_DIMENSIONS)
        raise StoreError(f"embedding has {len(embedding)} dimensions; supported sizes are {sizes}")
    try:
        return array("f", embedding).tobytes()
    except (TypeError, OverflowError) as exc:
        raise StoreError(f"embedding must be a sequence of floats: {exc}") from exc


def blob_vector(blob: bytes | None) -> list[float] | None:
    return None if blob is None else array("f", blob).tolist()


def _driver() -> Any:
    """The DB-API module to use: the standard library's when it can load extensions, else sqlean.py.

    sqlite-vec is a loadable extension; some Python builds (pyenv's default among them) compile ``sqlite3``
    without ``enable_load_extension``. sqlean.py is a drop-in ``sqlite3`` with its own SQLite that can.
    """
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        return importlib.import_module("sqlean")
    except ImportError as exc:
        raise StoreError(
            "this Python's sqlite3 cannot load extensions (needed for sqlite-vec); "
            "install sqlean.py (pip install sqlean.py) or use a Python built with "
            "--enable-loadable-sqlite-extensions"
        ) from exc


class Db:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._error: type[Exception] = sqlite3.Error
        self._vec_dims: set[int] = set()
        self._mirrors: dict[int, Any] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is not open: call `await store.open()` first")
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def open(self) -> None:
        if self._conn is not None:
            return
        driver = _driver()
        self._error = cast(type[Exception], driver.Error)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: autocommit; multi-statement writes use explicit BEGIN IMMEDIATE (tx()).
            conn = cast(
                sqlite3.Connection,
                driver.connect(self.path, isolation_level=None, cached_statements=512),
            )
        except self._error as exc:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._conn = conn
        try:
            self._load_sqlite_vec(conn)
            self.run(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.all("PRAGMA journal_mode = WAL")
            self.run("PRAGMA synchronous = NORMAL")
            self.run("PRAGMA foreign_keys = ON")
            self._migrate()
            tables = self.all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'vec_[0-9]*'"
            )
            self._vec_dims = {int(name[4:]) for (name,) in tables if name[4:].isdigit()}
        except BaseException:
            self.close()
            raise

    def _load_sqlite_vec(self, conn: sqlite3.Connection) -> None:
        import sqlite_vec

        try:
            conn.enable_load_extension(True)
            try:
                sqlite_vec.load(conn)
            finally:
                conn.enable_load_extension(False)
        except self._error as exc:
            raise StoreError(f"cannot load the sqlite-vec extension: {exc}") from exc

    def _migrate(self) -> None:
        self.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        with self.tx():  # BEGIN IMMEDIATE: a second process migrating at the same time waits, then sees ours
            row = self.one("SELECT max(version) FROM schema_version")
            current = int(row[0]) if row and row[0] is not None else 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path!r} has schema version {current}, newer than this elizapy "
                    f"({len(MIGRATIONS)}); upgrade elizapy"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[version - 1]:
                    self.run(statement)
                self.run("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def close(self) -> None:
        self._mirrors.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def schema_version(self) -> int:
        row = self.one("SELECT max(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    # --- statements -------------------------------------------------------------------------------------

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except self._error as exc:
            self._mirrors_stale()
            raise StoreError(f"SQLite error: {exc} (in: {_head(sql)})") from exc

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        try:
            row: Row | None = self.conn.execute(sql, args).fetchone()
            return row
        except self._error as exc:
            self._mirrors_stale()
            raise StoreError(f"SQLite error: {exc} (in: {_head(sql)})") from exc

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; returns the number of rows changed."""
        try:
            return self.conn.execute(sql, args).rowcount
        except self._error as exc:
            self._mirrors_stale()
            raise StoreError(f"SQLite error: {exc} (in: {_head(sql)})") from exc

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except self._error as exc:
            self._mirrors_stale()
            raise StoreError(f"SQLite error: {exc} (in: {_head(sql)})") from exc

    @contextmanager
    def tx(self) -> Iterator[None]:
        """An immediate (write-locking) transaction; joins the enclosing one if already inside one.

        Callers must not ``await`` inside: the store's methods run their statements synchronously, so a
        transaction never spans a suspension point and tasks on the event loop cannot interleave in it.
        """
        if self.conn.in_transaction:
            yield
            return
        self.run("BEGIN IMMEDIATE")
        try:
            yield
            self.run("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.rollback()
            self._mirrors_stale()
            raise

    # --- vector index tables ----------------------------------------------------------------------------

    def has_vec_table(self, dim: int) -> bool:
        if dim in self._vec_dims:
            return True
        # Another connection may have created it since we opened.
        if self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (f"vec_{dim}",)):
            self._vec_dims.add(dim)
            return True
        return False

    def ensure_vec_table(self, dim: int) -> None:
        """Create ``vec_<dim>`` and the triggers that mirror ``embeddings`` rows of that size into it.

        Runs in its own transaction before the caller's write, so a rolled-back write cannot leave the
        in-process cache claiming a table that does not exist (an unused empty table is harmless).
        """
        if dim in self._vec_dims:
            return
        if dim not in EMBEDDING_DIMENSIONS:  # dim is interpolated into DDL: only ever a known integer
            raise StoreError(f"unsupported embedding size {dim}")
        with self.tx():
            self.run(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS vec_{dim} "
                f"USING vec0(embedding float[{dim}] distance_metric=cosine)"
            )
            self.run(
                f"CREATE TRIGGER IF NOT EXISTS vec_{dim}_insert AFTER INSERT ON embeddings "
                f"WHEN new.dim = {dim} BEGIN "
                f"INSERT INTO vec_{dim} (rowid, embedding) VALUES (new.memory_seq, new.vector); END"
            )
            self.run(
                f"CREATE TRIGGER IF NOT EXISTS vec_{dim}_delete AFTER DELETE ON embeddings "
                f"WHEN old.dim = {dim} BEGIN DELETE FROM vec_{dim} WHERE rowid = old.memory_seq; END"
            )
        self._vec_dims.add(dim)


    # --- in-memory int8 mirrors for large exact searches (see _sqlite_vectors) ---------------------------

    def mirror(self, dim: int) -> Any | None:
        """The refreshed mirror of ``dim``-sized vectors, or None when numpy is unavailable."""
        try:
            from ._sqlite_vectors import VectorMirror
        except ImportError:
            return None
        mirror = self._mirrors.get(dim)
        if mirror is None:
            if not self._mirrors:
                self._install_vector_triggers()
            mirror = self._mirrors[dim] = VectorMirror(dim)
        row = self.one("PRAGMA data_version")
        mirror.refresh(self.conn, int(row[0]) if row else 0)
        return mirror

    def _install_vector_triggers(self) -> None:
        conn = self.conn
        conn.create_function("elizapy_vec_note", 3, self._vec_note, deterministic=False)
        for name, event, body in (
            ("ins", "INSERT", "SELECT elizapy_vec_note(new.memory_seq, new.dim, new.vector);"),
            ("del", "DELETE", "SELECT elizapy_vec_note(old.memory_seq, old.dim, NULL);"),
            ("upd", "UPDATE", "SELECT elizapy_vec_note(old.memory_seq, old.dim, NULL); "
                              "SELECT elizapy_vec_note(new.memory_seq, new.dim, new.vector);"),
        ):
            self.run(f"CREATE TEMP TRIGGER IF NOT EXISTS elizapy_vec_{name} AFTER {event} ON main.embeddings "
                     f"BEGIN {body} END")

    def _vec_note(self, seq: int, dim: int, blob: bytes | None) -> None:
        mirror = self._mirrors.get(dim)
        if mirror is not None:
            mirror.note(seq, blob)

    def _mirrors_stale(self) -> None:
        for mirror in self._mirrors.values():
            mirror.stale = True


def _head(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 80 else text[:77] + "..."
