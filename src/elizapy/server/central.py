"""Central messaging persistence: message servers, channels, channel participants and central messages.

These are the server's own records (ElizaOS keeps them in plugin-sql's ``message_servers``, ``channels``,
``channel_participants``, ``central_messages`` and ``message_server_agents`` tables). Agents never read them;
an agent sees a channel only as a room of its own (``create_unique_uuid(agent_id, channel_id)``).

The tables live in the same SQLite file as the agent store, on a separate connection, with their own
migration counter (``elizapy_server_schema``), so this module never touches ``elizapy.store``. Like the agent
store, statements run synchronously inside ``async`` methods and never span an ``await``, so writes from
concurrent tasks on one event loop cannot interleave (see :mod:`elizapy.store.sqlite` for the reasoning).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..types import UUID, ChannelType, new_uuid, now_ms

DEFAULT_SERVER_ID = "00000000-0000-0000-0000-000000000000"
"""The message server every agent joins, as in ``@elizaos/server`` without data isolation."""

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE message_servers (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, source_type TEXT NOT NULL, source_id TEXT,
            metadata TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)""",
        """CREATE TABLE message_server_agents (
            message_server_id TEXT NOT NULL, agent_id TEXT NOT NULL,
            PRIMARY KEY (message_server_id, agent_id))""",
        """CREATE TABLE channels (
            id TEXT PRIMARY KEY, message_server_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
            source_type TEXT, source_id TEXT, topic TEXT, metadata TEXT,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)""",
        "CREATE INDEX channels_server ON channels(message_server_id)",
        """CREATE TABLE channel_participants (
            channel_id TEXT NOT NULL, entity_id TEXT NOT NULL, PRIMARY KEY (channel_id, entity_id))""",
        """CREATE TABLE central_messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, channel_id TEXT NOT NULL,
            author_id TEXT NOT NULL, content TEXT NOT NULL, raw_message TEXT, source_type TEXT,
            source_id TEXT, metadata TEXT, in_reply_to TEXT,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)""",
        "CREATE INDEX central_messages_channel ON central_messages(channel_id, created_at)",
    ],
]


def iso(ms: int) -> str:
    """Milliseconds since the epoch as JavaScript's ``Date.toJSON`` prints them."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(slots=True)
class MessageServer:
    id: UUID
    name: str
    source_type: str
    source_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "name": self.name,
                "sourceType": self.source_type,
                "sourceId": self.source_id,
                "metadata": self.metadata,
                "createdAt": iso(self.created_at),
                "updatedAt": iso(self.updated_at),
            }
        )


@dataclass(slots=True)
class Channel:
    id: UUID
    message_server_id: UUID
    name: str
    type: str
    source_type: str | None = None
    source_id: str | None = None
    topic: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "messageServerId": self.message_server_id,
                "name": self.name,
                "type": self.type,
                "sourceType": self.source_type,
                "sourceId": self.source_id,
                "topic": self.topic,
                "metadata": self.metadata,
                "createdAt": iso(self.created_at),
                "updatedAt": iso(self.updated_at),
            }
        )


@dataclass(slots=True)
class CentralMessage:
    id: UUID
    channel_id: UUID
    author_id: UUID
    content: str
    raw_message: Any = None
    source_type: str | None = None
    source_id: str | None = None
    metadata: dict[str, Any] | None = None
    in_reply_to: UUID | None = None
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)

    def to_wire(self) -> dict[str, Any]:
        out = _drop_none(
            {
                "id": self.id,
                "channelId": self.channel_id,
                "authorId": self.author_id,
                "content": self.content,
                "rawMessage": self.raw_message,
                "sourceType": self.source_type,
                "sourceId": self.source_id,
                "metadata": self.metadata,
            }
        )
        out["inReplyToRootMessageId"] = self.in_reply_to
        out["createdAt"] = iso(self.created_at)
        out["updatedAt"] = iso(self.updated_at)
        return out


_SERVER_COLS = "id, name, source_type, source_id, metadata, created_at, updated_at"
_CHANNEL_COLS = (
    "id, message_server_id, name, type, source_type, source_id, topic, metadata, created_at, updated_at"
)
_MESSAGE_COLS = (
    "id, channel_id, author_id, content, raw_message, source_type, source_id, metadata, "
    "in_reply_to, created_at, updated_at"
)


def _server(row: tuple[Any, ...]) -> MessageServer:
    return MessageServer(row[0], row[1], row[2], row[3], _loads(row[4]), row[5], row[6])


def _channel(row: tuple[Any, ...]) -> Channel:
    return Channel(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _loads(row[7]), row[8], row[9])


def _message(row: tuple[Any, ...]) -> CentralMessage:
    return CentralMessage(
        row[0],
        row[1],
        row[2],
        row[3],
        _loads(row[4]),
        row[5],
        row[6],
        _loads(row[7]),
        row[8],
        row[9],
        row[10],
    )


class CentralStore:
    """The server's messaging records on their own SQLite connection (``:memory:`` works for tests)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._last_ms = 0

    # --- lifecycle --------------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._conn is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=128)
            self._run("PRAGMA busy_timeout = 5000")
            self._all("PRAGMA journal_mode = WAL")
            self._run("PRAGMA synchronous = NORMAL")
            self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _migrate(self) -> None:
        self._run("CREATE TABLE IF NOT EXISTS elizapy_server_schema (version INTEGER NOT NULL)")
        with self._tx():
            rows = self._all("SELECT max(version) FROM elizapy_server_schema")
            current = int(rows[0][0]) if rows and rows[0][0] is not None else 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"messaging tables in {self.path!r} have schema version {current}, newer than "
                    f"this elizapy ({len(MIGRATIONS)}); upgrade elizapy"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[version - 1]:
                    self._run(statement)
                self._run("INSERT INTO elizapy_server_schema (version) VALUES (?)", (version,))

    # --- statements -------------------------------------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the messaging store is not open")
        return self._conn

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error: {exc}") from exc

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        try:
            return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[None]:
        if self._db.in_transaction:
            yield
            return
        self._run("BEGIN IMMEDIATE")
        try:
            yield
            self._run("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.rollback()
            raise

    def _now(self) -> int:
        """Strictly increasing milliseconds, so "newest first" is well defined within one process."""
        self._last_ms = max(now_ms(), self._last_ms + 1)
        return self._last_ms

    # --- message servers --------------------------------------------------------------------------------

    async def create_server(
        self,
        *,
        name: str,
        source_type: str,
        source_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        server_id: UUID | None = None,
    ) -> MessageServer:
        """Insert; an existing id is left as it is and returned."""
        now = self._now()
        server = MessageServer(server_id or new_uuid(), name, source_type, source_id, metadata, now, now)
        self._run(
            f"INSERT INTO message_servers ({_SERVER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (server.id, name, source_type, source_id, _dumps(metadata), now, now),
        )
        return await self.get_server(server.id) or server

    async def get_server(self, server_id: UUID) -> MessageServer | None:
        rows = self._all(f"SELECT {_SERVER_COLS} FROM message_servers WHERE id = ?", (server_id,))
        return _server(rows[0]) if rows else None

    async def list_servers(self) -> list[MessageServer]:
        return [
            _server(r) for r in self._all(f"SELECT {_SERVER_COLS} FROM message_servers ORDER BY created_at")
        ]

    async def add_server_agent(self, server_id: UUID, agent_id: UUID) -> None:
        self._run(
            "INSERT INTO message_server_agents VALUES (?, ?) ON CONFLICT DO NOTHING", (server_id, agent_id)
        )

    async def remove_server_agent(self, server_id: UUID, agent_id: UUID) -> None:
        self._run(
            "DELETE FROM message_server_agents WHERE message_server_id = ? AND agent_id = ?",
            (server_id, agent_id),
        )

    async def server_agents(self, server_id: UUID) -> list[UUID]:
        rows = self._all(
            "SELECT agent_id FROM message_server_agents WHERE message_server_id = ? ORDER BY rowid",
            (server_id,),
        )
        return [r[0] for r in rows]

    async def servers_for_agent(self, agent_id: UUID) -> list[UUID]:
        rows = self._all(
            "SELECT message_server_id FROM message_server_agents WHERE agent_id = ? ORDER BY rowid",
            (agent_id,),
        )
        return [r[0] for r in rows]

    async def forget_agent(self, agent_id: UUID) -> None:
        """Drop an agent's server memberships (its channel memberships stay, as in ElizaOS)."""
        self._run("DELETE FROM message_server_agents WHERE agent_id = ?", (agent_id,))

    # --- channels ---------------------------------------------------------------------------------------

    async def create_channel(
        self,
        *,
        server_id: UUID,
        name: str,
        type: str = ChannelType.GROUP,
        channel_id: UUID | None = None,
        source_type: str | None = None,
        source_id: str | None = None,
        topic: str | None = None,
        metadata: dict[str, Any] | None = None,
        participants: Sequence[UUID] = (),
    ) -> Channel:
        now = self._now()
        channel = Channel(
            channel_id or new_uuid(), server_id, name, type, source_type, source_id, topic, metadata, now, now
        )
        with self._tx():
            self._run(
                f"INSERT INTO channels ({_CHANNEL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    channel.id,
                    server_id,
                    name,
                    str(type),
                    source_type,
                    source_id,
                    topic,
                    _dumps(metadata),
                    now,
                    now,
                ),
            )
            for entity_id in dict.fromkeys(participants):
                self._run(
                    "INSERT INTO channel_participants VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (channel.id, entity_id),
                )
        return channel

    async def get_channel(self, channel_id: UUID) -> Channel | None:
        rows = self._all(f"SELECT {_CHANNEL_COLS} FROM channels WHERE id = ?", (channel_id,))
        return _channel(rows[0]) if rows else None

    async def channels_for_server(self, server_id: UUID) -> list[Channel]:
        rows = self._all(
            f"SELECT {_CHANNEL_COLS} FROM channels WHERE message_server_id = ? ORDER BY created_at, rowid",
            (server_id,),
        )
        return [_channel(r) for r in rows]

    async def find_dm_channel(self, user_a: UUID, user_b: UUID, server_id: UUID) -> Channel:
        """The DM channel of two users on a server, created on first use (named as plugin-sql names it)."""
        low, high = sorted((user_a, user_b))
        name = f"DM-{low}-{high}"
        rows = self._all(
            f"SELECT {_CHANNEL_COLS} FROM channels WHERE type = ? AND name = ? AND "
            "message_server_id = ? LIMIT 1",
            (ChannelType.DM.value, name, server_id),
        )
        if rows:
            return _channel(rows[0])
        return await self.create_channel(
            server_id=server_id,
            name=name,
            type=ChannelType.DM,
            metadata={"user1": low, "user2": high},
            participants=[low, high],
        )

    async def update_channel(
        self,
        channel_id: UUID,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        participants: Sequence[UUID] | None = None,
    ) -> Channel | None:
        with self._tx():
            sets: list[str] = ["updated_at = ?"]
            args: list[Any] = [self._now()]
            if name is not None:
                sets.append("name = ?")
                args.append(name)
            if metadata is not None:
                sets.append("metadata = ?")
                args.append(_dumps(metadata))
            if self._run(f"UPDATE channels SET {', '.join(sets)} WHERE id = ?", (*args, channel_id)) == 0:
                return None
            if participants is not None:
                self._run("DELETE FROM channel_participants WHERE channel_id = ?", (channel_id,))
                for entity_id in dict.fromkeys(participants):
                    self._run("INSERT INTO channel_participants VALUES (?, ?)", (channel_id, entity_id))
        return await self.get_channel(channel_id)

    async def delete_channel(self, channel_id: UUID) -> None:
        with self._tx():
            self._run("DELETE FROM central_messages WHERE channel_id = ?", (channel_id,))
            self._run("DELETE FROM channel_participants WHERE channel_id = ?", (channel_id,))
            self._run("DELETE FROM channels WHERE id = ?", (channel_id,))

    async def add_participants(self, channel_id: UUID, entity_ids: Sequence[UUID]) -> None:
        with self._tx():
            for entity_id in dict.fromkeys(entity_ids):
                self._run(
                    "INSERT INTO channel_participants VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (channel_id, entity_id),
                )

    async def participants(self, channel_id: UUID) -> list[UUID]:
        rows = self._all(
            "SELECT entity_id FROM channel_participants WHERE channel_id = ? ORDER BY rowid", (channel_id,)
        )
        return [r[0] for r in rows]

    async def is_participant(self, channel_id: UUID, entity_id: UUID) -> bool:
        return bool(
            self._all(
                "SELECT 1 FROM channel_participants WHERE channel_id = ? AND entity_id = ?",
                (channel_id, entity_id),
            )
        )

    # --- messages ---------------------------------------------------------------------------------------

    async def create_message(
        self,
        *,
        channel_id: UUID,
        author_id: UUID,
        content: str,
        message_id: UUID | None = None,
        raw_message: Any = None,
        source_type: str | None = None,
        source_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        in_reply_to: UUID | None = None,
    ) -> CentralMessage:
        now = self._now()
        msg = CentralMessage(
            message_id or new_uuid(),
            channel_id,
            author_id,
            content,
            raw_message,
            source_type,
            source_id,
            metadata,
            in_reply_to,
            now,
            now,
        )
        try:
            self._db.execute(
                f"INSERT INTO central_messages ({_MESSAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    msg.id,
                    channel_id,
                    author_id,
                    content,
                    _dumps(raw_message),
                    source_type,
                    source_id,
                    _dumps(metadata),
                    in_reply_to,
                    now,
                    now,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"message {msg.id} already exists") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error: {exc}") from exc
        return msg

    async def get_message(self, message_id: UUID) -> CentralMessage | None:
        rows = self._all(f"SELECT {_MESSAGE_COLS} FROM central_messages WHERE id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    async def update_message(
        self,
        message_id: UUID,
        *,
        content: str | None = None,
        raw_message: Any = None,
        source_type: str | None = None,
        metadata: dict[str, Any] | None = None,
        in_reply_to: UUID | None = None,
    ) -> CentralMessage | None:
        current = await self.get_message(message_id)
        if current is None:
            return None
        current.content = content if content is not None else current.content
        current.raw_message = raw_message if raw_message is not None else current.raw_message
        current.source_type = source_type if source_type is not None else current.source_type
        current.metadata = metadata if metadata is not None else current.metadata
        current.in_reply_to = in_reply_to if in_reply_to is not None else current.in_reply_to
        current.updated_at = self._now()
        self._run(
            "UPDATE central_messages SET content = ?, raw_message = ?, source_type = ?, metadata = ?, "
            "in_reply_to = ?, updated_at = ? WHERE id = ?",
            (
                current.content,
                _dumps(current.raw_message),
                current.source_type,
                _dumps(current.metadata),
                current.in_reply_to,
                current.updated_at,
                message_id,
            ),
        )
        return current

    async def messages(
        self, channel_id: UUID, *, limit: int = 50, before: int | None = None, after: int | None = None
    ) -> list[CentralMessage]:
        """Newest first; ``before``/``after`` bound ``created_at`` (ms) exclusively."""
        clauses: list[str] = ["channel_id = ?"]
        args: list[Any] = [channel_id]
        if before is not None:
            clauses.append("created_at < ?")
            args.append(before)
        if after is not None:
            clauses.append("created_at > ?")
            args.append(after)
        rows = self._all(
            f"SELECT {_MESSAGE_COLS} FROM central_messages WHERE {' AND '.join(clauses)} "
            "ORDER BY created_at DESC, seq DESC LIMIT ?",
            (*args, max(limit, 0)),
        )
        return [_message(r) for r in rows]

    async def delete_message(self, message_id: UUID) -> None:
        self._run("DELETE FROM central_messages WHERE id = ?", (message_id,))

    async def clear_channel(self, channel_id: UUID) -> None:
        self._run("DELETE FROM central_messages WHERE channel_id = ?", (channel_id,))
