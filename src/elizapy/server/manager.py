"""The agent registry of a server: agent records, running runtimes, and the bridge from central channels to
each agent's own rooms.

One :class:`AgentManager` per server. Every started agent is one in-process
:class:`~elizapy.runtime.runtime.AgentRuntime` sharing the server's store (multi-agent by ``agent_id``) and
model gateway. A message posted to a central channel reaches each running agent that takes part in the
channel as a message in the agent's room ``create_unique_uuid(agent_id, channel_id)`` (as ElizaOS's
message-bus service maps it); the agent's replies are stored as central messages and broadcast to the channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import anyio

from ..character import parse_character
from ..errors import ConfigError
from ..models.gateway import ModelGateway
from ..runtime.messages import MessageResult, Status
from ..runtime.plugin import Plugin
from ..runtime.runtime import AgentRuntime
from ..store.base import Store
from ..types import (
    UUID,
    ChannelType,
    Character,
    Content,
    Media,
    Memory,
    MemoryMetadata,
    Room,
    World,
    create_unique_uuid,
    new_uuid,
    now_ms,
)
from .central import DEFAULT_SERVER_ID, CentralMessage, CentralStore, Channel

if TYPE_CHECKING:  # the scale package needs the redis extra; only a gateway-role server has one
    from ..scale import Gateway

log = logging.getLogger("elizapy.server")

AGENT_RECORD_KEYS = frozenset({"enabled", "status", "createdAt", "updatedAt"})
"""Keys the agents table adds to a character; they are not part of the character itself."""

ChunkSink = Callable[[str, str, int], Awaitable[None]]
"""``(message_id, chunk, index)``: where a transport wants reply chunks as they are produced."""


class Broadcaster(Protocol):
    """How the manager reaches clients; the Socket.IO layer implements it."""

    async def emit(self, event: str, data: dict[str, Any], *, room: str | None = None) -> None: ...


class NullBroadcaster:
    async def emit(self, event: str, data: dict[str, Any], *, room: str | None = None) -> None:
        return None


_WORDS = re.compile(r"\S+\s*|\s+")


def reply_chunks(text: str, *, target: int = 16) -> list[str]:
    """Split a reply into stream chunks at word boundaries (``"".join`` gives the text back)."""
    chunks: list[str] = []
    current = ""
    for piece in _WORDS.findall(text):
        current += piece
        if len(current) >= target:
            chunks.append(current)
            current = ""
    if current:
        chunks.append(current)
    return chunks


def character_from_record(record: Mapping[str, Any], *, source: str) -> Character:
    data = {k: v for k, v in record.items() if k not in AGENT_RECORD_KEYS}
    return parse_character(data, source=source).character


def _record_name(record: Mapping[str, Any]) -> str:
    name = record.get("name")
    return name if isinstance(name, str) and name else f"Agent {str(record.get('id'))[:8]}"


def with_id(character: Character) -> Character:
    """The character with its ``id`` set (``stringToUuid(name)`` when absent), as the server stores it."""
    return character if character.id else character.model_copy(update={"id": character.agent_id})


def _channel_type(value: object) -> ChannelType:
    try:
        return ChannelType(str(value))
    except ValueError:
        return ChannelType.GROUP


def _attachments(raw: object) -> list[Media] | None:
    if not isinstance(raw, list):
        return None
    out = []
    for item in raw[:16]:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            ident = item.get("id")
            title = item.get("name") or item.get("title")
            kind = item.get("type") or item.get("contentType")
            out.append(
                Media(
                    id=ident if isinstance(ident, str) else new_uuid(),
                    url=item["url"],
                    title=title if isinstance(title, str) else None,
                    content_type=kind if isinstance(kind, str) else None,
                )
            )
    return out or None


@dataclass(slots=True)
class RunRecord:
    """One message run of an agent, as ``GET /api/agents/:id/runs`` lists it."""

    run_id: str
    status: str
    started_at: int
    ended_at: int
    message_id: str | None
    room_id: str | None
    entity_id: str | None
    model_calls: int = 0
    actions: int = 0
    errors: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "status": self.status,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "durationMs": self.ended_at - self.started_at,
            "messageId": self.message_id,
            "roomId": self.room_id,
            "entityId": self.entity_id,
            "metadata": {},
            "counts": {
                "actions": self.actions,
                "modelCalls": self.model_calls,
                "errors": self.errors,
                "evaluators": 0,
            },
        }


class ReplyStream:
    """``messageStreamChunk`` events for one agent turn, under the id its reply will be stored with.

    The runtime streams the reply text as the model writes it (:meth:`send`); a reply that arrives without
    having been streamed (a model that does not stream, an action's own message) is sent in word chunks
    before it is broadcast (:meth:`finish`), so clients rendering the stream see every reply the same way.
    """

    def __init__(
        self, broadcaster: Broadcaster, *, agent_id: UUID, channel_id: UUID, sink: ChunkSink | None
    ) -> None:
        self._broadcaster = broadcaster
        self._agent_id = agent_id
        self._channel_id = channel_id
        self._sink = sink
        self._id = new_uuid()
        self._index = 0

    async def send(self, chunk: str) -> None:
        await self._broadcaster.emit(
            "messageStreamChunk",
            {
                "messageId": self._id,
                "chunk": chunk,
                "index": self._index,
                "agentId": self._agent_id,
                "channelId": self._channel_id,
            },
            room=self._channel_id,
        )
        if self._sink is not None:
            await self._sink(self._id, chunk, self._index)
        self._index += 1

    async def finish(self, text: str) -> str:
        """The id to store a reply under; the next reply streams under a new one."""
        if self._index == 0:
            for chunk in reply_chunks(text):
                await self.send(chunk)
        reply_id, self._id, self._index = self._id, new_uuid(), 0
        return reply_id


@dataclass(slots=True)
class AgentTurn:
    """What one agent did with one central message."""

    agent_id: UUID
    message_memory_id: UUID
    result: MessageResult
    replies: list[CentralMessage] = field(default_factory=list)

    def response_content(self) -> dict[str, Any] | None:
        """The ``agentResponse`` of a synchronous ("http") send, shaped like ElizaOS's ``responseContent``."""
        if self.result.status == "ignored":
            return {
                "thought": "Agent decided not to respond to this message.",
                "actions": ["IGNORE"],
                "simple": True,
                "inReplyTo": self.message_memory_id,
            }
        content = self.result.content
        if content is None and self.result.responses:
            content = self.result.responses[-1].content
        if content is None:
            return None
        out = content.to_wire()
        out.setdefault("thought", "")
        out.setdefault("actions", [])
        out.setdefault("providers", [])
        out.setdefault("text", self.result.text)
        actions = [str(a).upper() for a in out["actions"]]
        out["simple"] = actions == ["REPLY"] and not out["providers"]
        out["responseId"] = self.replies[-1].id if self.replies else None
        out["inReplyTo"] = self.message_memory_id
        return out


class AgentManager:
    """Agent records, running runtimes and the channel bridge of one server."""

    def __init__(
        self,
        *,
        store: Store,
        central: CentralStore,
        models: ModelGateway,
        broadcaster: Broadcaster | None = None,
        plugins: Sequence[Plugin] = (),
        env: Mapping[str, str] | None = None,
        server_id: UUID = DEFAULT_SERVER_ID,
        message_timeout_s: float = 300.0,
        runs_kept: int = 200,
    ) -> None:
        self.store = store
        self.central = central
        self.models = models
        self.broadcaster: Broadcaster = broadcaster or NullBroadcaster()
        self.plugins = list(plugins)
        self.env = dict(env or {})
        self.server_id = server_id
        self.message_timeout_s = message_timeout_s
        self._runtimes: dict[UUID, AgentRuntime] = {}
        self._lifecycle = anyio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runs: dict[UUID, deque[RunRecord]] = {}
        self._runs_kept = runs_kept
        self.started_at = time.monotonic()
        self.bus: Gateway | None = None
        """Set (before :meth:`open`) on a gateway-role server: agents then run on bus workers, not here.
        "Running" means the agent record is enabled; messages are submitted to the bus and the workers'
        replies stored and broadcast as in-process replies are."""
        self._enabled: dict[UUID, str] = {}
        """Gateway role: the enabled agents' names, by id."""

    # --- lifecycle of the server ------------------------------------------------------------------------

    async def open(self) -> None:
        await self.store.open()
        await self.central.open()
        await self.central.create_server(
            name="Default Server", source_type="eliza_default", server_id=self.server_id
        )
        if self.bus is not None:
            for record in await self.store.agents.list():
                if record.get("enabled") is not False:
                    self._enabled[record["id"]] = _record_name(record)
                    await self.central.add_server_agent(self.server_id, record["id"])

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            with anyio.move_on_after(10):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        for agent_id in list(self._runtimes):
            await self.stop(agent_id)
        await self.central.close()
        await self.store.close()

    # --- agent records ----------------------------------------------------------------------------------

    async def save_character(self, character: Character) -> tuple[Character, dict[str, Any]]:
        """Store a new agent record; an agent with the same id is left as it is. Returns the stored record."""
        character = with_id(character)
        existing = await self.store.agents.get(character.agent_id)
        if existing is None:
            # On a gateway a record is the switch bus workers obey: a new agent stays off until started.
            await self.store.agents.upsert(character.agent_id, character.to_wire(), enabled=self.bus is None)
            existing = await self.store.agents.get(character.agent_id)
        assert existing is not None
        return character, existing

    async def register(self, character: Character) -> UUID:
        """Store an agent record from a character file, replacing any stored one (the file wins)."""
        character = with_id(character)
        await self.store.agents.upsert(character.agent_id, character.to_wire())
        return character.agent_id

    async def record(self, agent_id: UUID) -> dict[str, Any] | None:
        return await self.store.agents.get(agent_id)

    async def records(self) -> list[dict[str, Any]]:
        return await self.store.agents.list()

    async def update_record(self, agent_id: UUID, character: Character) -> dict[str, Any]:
        """Replace an agent's character; a running agent is restarted with it."""
        character = with_id(character.model_copy(update={"id": agent_id}))
        if self.bus is not None:  # workers pick the change up when they next read the record
            await self.store.agents.upsert(agent_id, character.to_wire(), enabled=agent_id in self._enabled)
            if agent_id in self._enabled:
                self._enabled[agent_id] = character.name
        else:
            await self.store.agents.upsert(agent_id, character.to_wire())
        if agent_id in self._runtimes:
            await self.stop(agent_id)
            await self.start(agent_id)
        record = await self.store.agents.get(agent_id)
        assert record is not None
        return record

    async def delete(self, agent_id: UUID) -> bool:
        await self.stop(agent_id)
        await self.central.forget_agent(agent_id)
        self._runs.pop(agent_id, None)
        return await self.store.agents.delete(agent_id)

    # --- running agents ---------------------------------------------------------------------------------

    def get(self, agent_id: UUID) -> AgentRuntime | None:
        return self._runtimes.get(agent_id)

    def running(self) -> list[AgentRuntime]:
        return list(self._runtimes.values())

    def is_running(self, agent_id: UUID) -> bool:
        if self.bus is not None:
            return agent_id in self._enabled
        return agent_id in self._runtimes

    async def _set_enabled(self, agent_id: UUID, enabled: bool) -> bool:
        """Gateway role: flip ``enabled`` on the agent's record (what bus workers obey)."""
        async with self._lifecycle:
            record = await self.store.agents.get(agent_id)
            if record is None:
                if enabled:
                    raise ConfigError(f"agent {agent_id} does not exist")
                self._enabled.pop(agent_id, None)
                return False
            was = record.get("enabled") is not False
            if was != enabled:
                character = {k: v for k, v in record.items() if k not in AGENT_RECORD_KEYS}
                await self.store.agents.upsert(agent_id, character, enabled=enabled)
            if enabled:
                await self.central.add_server_agent(self.server_id, agent_id)
                self._enabled[agent_id] = _record_name(record)
            else:
                self._enabled.pop(agent_id, None)
            return was

    async def start(self, agent_id: UUID) -> AgentRuntime | None:
        """Start the agent of a stored record (a no-op when it runs); ConfigError when there is no record.
        On a gateway this enables the record and returns None (the agent runs on the bus workers)."""
        if self.bus is not None:
            await self._set_enabled(agent_id, True)
            return None
        async with self._lifecycle:
            runtime = self._runtimes.get(agent_id)
            if runtime is not None:
                return runtime
            record = await self.store.agents.get(agent_id)
            if record is None:
                raise ConfigError(f"agent {agent_id} does not exist")
            character = character_from_record(record, source=f"agent {agent_id}")
            runtime = AgentRuntime(
                character, store=self.store, models=self.models, plugins=self.plugins, env=self.env
            )
            await runtime.initialize()
            await self.central.add_server_agent(self.server_id, agent_id)
            self._runtimes[agent_id] = runtime
            log.info("agent %s (%s) started", character.name, agent_id)
            return runtime

    async def stop(self, agent_id: UUID) -> bool:
        if self.bus is not None:
            return await self._set_enabled(agent_id, False)
        async with self._lifecycle:
            runtime = self._runtimes.pop(agent_id, None)
        if runtime is None:
            return False
        try:
            await runtime.stop()
        except Exception as exc:
            log.warning("agent %s did not stop cleanly: %r", agent_id, exc)
        return True

    # --- runs -------------------------------------------------------------------------------------------

    def runs(self, agent_id: UUID) -> list[RunRecord]:
        """Newest first."""
        return list(reversed(self._runs.get(agent_id, ())))

    def _record_run(self, agent_id: UUID, memory: Memory, result: MessageResult) -> None:
        ended = now_ms()
        record = RunRecord(
            run_id=result.run_id,
            status="error" if result.status == "error" else "completed",
            started_at=ended - int(result.duration_ms),
            ended_at=ended,
            message_id=memory.id,
            room_id=memory.room_id,
            entity_id=memory.entity_id,
            model_calls=result.stats.model_calls,
            actions=len(result.action_results),
            errors=len(result.stats.errors) + (1 if result.error else 0),
        )
        self._runs.setdefault(agent_id, deque(maxlen=self._runs_kept)).append(record)

    # --- channel bridge ---------------------------------------------------------------------------------

    async def agent_ids_for(self, message: CentralMessage, server_id: UUID) -> list[UUID]:
        """The running agents that should see a channel message: participants subscribed to its server,
        other than its author."""
        participants = await self.central.participants(message.channel_id)
        subscribed = set(await self.central.server_agents(server_id))
        return [
            agent_id
            for agent_id in participants
            if agent_id != message.author_id and agent_id in subscribed and self.is_running(agent_id)
        ]

    async def agents_for(self, message: CentralMessage, server_id: UUID) -> list[AgentRuntime]:
        """The in-process runtimes among :meth:`agent_ids_for` (none on a gateway)."""
        return [
            rt
            for agent_id in await self.agent_ids_for(message, server_id)
            if (rt := self._runtimes.get(agent_id)) is not None
        ]

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background until it ends or the server closes (then it is cancelled)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def dispatch(self, message: CentralMessage, server_id: UUID, *, author_name: str | None = None) -> None:
        """Hand a channel message to every agent concerned, in the background (the "websocket" transport)."""
        self.spawn(self._dispatch(message, server_id, author_name))

    async def _dispatch(self, message: CentralMessage, server_id: UUID, author_name: str | None) -> None:
        try:
            agent_ids = await self.agent_ids_for(message, server_id)
            async with anyio.create_task_group() as tg:
                for agent_id in agent_ids:
                    tg.start_soon(self._turn_logged, agent_id, message, server_id, author_name)
        except Exception:
            log.exception("dispatching message %s failed", message.id)

    async def _turn_logged(
        self, agent_id: UUID, message: CentralMessage, server_id: UUID, author_name: str | None
    ) -> None:
        try:
            await self.turn(agent_id, message, server_id, author_name=author_name)
        except Exception:
            log.exception("agent %s failed on message %s", agent_id, message.id)

    async def turn(
        self,
        agent_id: UUID,
        message: CentralMessage,
        server_id: UUID,
        *,
        author_name: str | None = None,
        on_chunk: ChunkSink | None = None,
    ) -> AgentTurn:
        """One running agent handles one channel message: in-process, or on a bus worker (gateway role).
        ConfigError when the agent does not run."""
        if self.bus is not None:
            if agent_id not in self._enabled:
                raise ConfigError(f"agent {agent_id} is not running")
            return await self.bus_turn(
                agent_id, message, server_id, author_name=author_name, on_chunk=on_chunk
            )
        runtime = self._runtimes.get(agent_id)
        if runtime is None:
            raise ConfigError(f"agent {agent_id} is not running")
        return await self.agent_turn(runtime, message, server_id, author_name=author_name, on_chunk=on_chunk)

    async def _agent_message(
        self, agent_id: UUID, message: CentralMessage, server_id: UUID, author_name: str | None
    ) -> tuple[Memory, Channel | None, ChannelType, str, str]:
        """The ElizaOS message-bus mapping of a channel message into the agent's own room:
        ``(memory, channel, channel_type, source, sender_name)``."""
        channel = await self.central.get_channel(message.channel_id)
        meta = message.metadata or {}
        room_id = create_unique_uuid(agent_id, message.channel_id)
        world_id = create_unique_uuid(agent_id, server_id)
        channel_type = _channel_type(
            meta.get("channelType") or meta.get("channel_type") or (channel.type if channel else None)
        )
        source = message.source_type or "central-bus"
        sender_name = author_name or f"User-{message.author_id[:8]}"
        memory_id = create_unique_uuid(agent_id, f"{message.id}-{agent_id}")
        in_reply_to = create_unique_uuid(agent_id, message.in_reply_to) if message.in_reply_to else None
        memory = Memory(
            id=memory_id,
            entity_id=message.author_id,
            agent_id=agent_id,
            room_id=room_id,
            world_id=world_id,
            created_at=message.created_at,
            content=Content(
                text=message.content,
                source=source,
                channel_type=channel_type,
                in_reply_to=in_reply_to,
                attachments=_attachments(meta.get("attachments")),
            ),
            metadata=MemoryMetadata(
                type="message",
                source=source,
                source_id=message.id,
                timestamp=message.created_at,
                raw={"senderName": sender_name, "senderId": message.author_id},
            ),
        )
        return memory, channel, channel_type, source, sender_name

    async def agent_turn(
        self,
        runtime: AgentRuntime,
        message: CentralMessage,
        server_id: UUID,
        *,
        author_name: str | None = None,
        on_chunk: ChunkSink | None = None,
    ) -> AgentTurn:
        """One agent handles one channel message: the ElizaOS message-bus mapping, then the pipeline."""
        agent_id = runtime.agent_id
        memory, channel, channel_type, source, sender_name = await self._agent_message(
            agent_id, message, server_id, author_name
        )
        assert memory.id is not None and memory.world_id is not None
        await self._ensure_room(
            runtime,
            room_id=memory.room_id,
            world_id=memory.world_id,
            server_id=server_id,
            channel=channel,
            channel_id=message.channel_id,
            channel_type=channel_type,
            source=source,
        )
        await runtime.ensure_connection(
            entity_id=message.author_id,
            room_id=memory.room_id,
            world_id=memory.world_id,
            user_name=sender_name,
            source=source,
            type=channel_type,
            channel_id=message.channel_id,
            message_server_id=server_id,
        )
        turn = AgentTurn(agent_id=agent_id, message_memory_id=memory.id, result=MessageResult("ignored", ""))
        chunks = ReplyStream(
            self.broadcaster, agent_id=agent_id, channel_id=message.channel_id, sink=on_chunk
        )
        name = runtime.character.name

        async def deliver(content: Content) -> None:
            reply = await self._deliver(agent_id, name, message, server_id, channel_type, content, chunks)
            if reply is not None:
                turn.replies.append(reply)

        with anyio.fail_after(self.message_timeout_s):
            turn.result = await runtime.messages.handle(memory, deliver, stream=chunks.send)
        self._record_run(agent_id, memory, turn.result)
        await self._complete(agent_id, message, server_id)
        return turn

    async def bus_turn(
        self,
        agent_id: UUID,
        message: CentralMessage,
        server_id: UUID,
        *,
        author_name: str | None = None,
        on_chunk: ChunkSink | None = None,
    ) -> AgentTurn:
        """Gateway role: the same mapping, submitted to the bus; the worker's reply memories are then stored
        as central messages and broadcast (streamed in word chunks first) exactly as in-process replies."""
        from ..scale import Connection

        assert self.bus is not None
        memory, channel, channel_type, source, sender_name = await self._agent_message(
            agent_id, message, server_id, author_name
        )
        assert memory.id is not None
        connection = Connection(
            user_name=sender_name,
            name=channel.name if channel else None,
            source=source,
            channel_type=channel_type,
            world_id=memory.world_id,
            channel_id=message.channel_id,
            message_server_id=server_id,
        )
        started = time.monotonic()
        ticket = await self.bus.submit(memory, connection=connection)
        reply = await ticket.result(timeout_s=self.message_timeout_s)
        responses = list(reply.responses)
        result = MessageResult(
            cast(Status, reply.status),
            new_uuid(),
            responses=responses,
            content=responses[-1].content if responses else None,
            duration_ms=(time.monotonic() - started) * 1000,
            error=reply.error,
        )
        turn = AgentTurn(agent_id=agent_id, message_memory_id=memory.id, result=result)
        chunks = ReplyStream(
            self.broadcaster, agent_id=agent_id, channel_id=message.channel_id, sink=on_chunk
        )
        name = self._enabled.get(agent_id) or f"Agent {agent_id[:8]}"
        for response in responses:
            delivered = await self._deliver(
                agent_id, name, message, server_id, channel_type, response.content, chunks
            )
            if delivered is not None:
                turn.replies.append(delivered)
        self._record_run(agent_id, memory, result)
        await self._complete(agent_id, message, server_id)
        return turn

    async def _complete(self, agent_id: UUID, message: CentralMessage, server_id: UUID) -> None:
        await self.broadcaster.emit(
            "messageComplete",
            {
                "channelId": message.channel_id,
                "roomId": message.channel_id,
                "messageServerId": server_id,
                "agentId": agent_id,
            },
            room=message.channel_id,
        )

    async def _ensure_room(
        self,
        runtime: AgentRuntime,
        *,
        room_id: UUID,
        world_id: UUID,
        server_id: UUID,
        channel: Channel | None,
        channel_id: UUID,
        channel_type: ChannelType,
        source: str,
    ) -> None:
        rooms = runtime.store.rooms
        if await rooms.get_world(world_id) is None:
            server = await self.central.get_server(server_id)
            await rooms.create_world(
                World(
                    id=world_id,
                    name=server.name if server else f"Server {server_id[:8]}",
                    agent_id=runtime.agent_id,
                    message_server_id=server_id,
                    metadata={},
                )
            )
        if await rooms.get_room(room_id) is None:
            await rooms.create_rooms(
                [
                    Room(
                        id=room_id,
                        name=channel.name if channel else f"Channel {channel_id[:8]}",
                        agent_id=runtime.agent_id,
                        source=source,
                        type=channel_type,
                        channel_id=channel_id,
                        message_server_id=server_id,
                        world_id=world_id,
                        metadata={},
                    )
                ]
            )

    async def _deliver(
        self,
        agent_id: UUID,
        agent_name: str,
        message: CentralMessage,
        server_id: UUID,
        channel_type: ChannelType,
        content: Content,
        chunks: ReplyStream,
    ) -> CentralMessage | None:
        actions = [str(a).upper() for a in content.actions or []]
        text = content.text or ""
        if "IGNORE" in actions or not text.strip():
            return None
        reply_id = await chunks.finish(text)
        attachments = [a.to_wire() for a in content.attachments] if content.attachments else None
        reply = await self.central.create_message(
            channel_id=message.channel_id,
            author_id=agent_id,
            content=text,
            message_id=reply_id,
            raw_message={"text": text, "thought": content.thought, "actions": content.actions},
            source_type="agent_response",
            in_reply_to=message.id,
            metadata={
                "agent_id": agent_id,
                "agentName": agent_name,
                "attachments": attachments,
                "channelType": channel_type.value,
                "isDm": channel_type == ChannelType.DM,
            },
        )
        await self.broadcaster.emit(
            "messageBroadcast",
            {
                "id": reply.id,
                "senderId": agent_id,
                "senderName": agent_name,
                "text": text,
                "channelId": message.channel_id,
                "roomId": message.channel_id,
                "messageServerId": server_id,
                "serverId": server_id,
                "createdAt": reply.created_at,
                "source": "agent_response",
                "thought": content.thought,
                "actions": content.actions,
                "attachments": attachments,
                "inReplyToMessageId": message.id,
            },
            room=message.channel_id,
        )
        return reply
