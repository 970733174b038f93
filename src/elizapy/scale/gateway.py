"""The gateway side of the bus: submit messages, get their replies. Transport-agnostic on purpose: an HTTP
route, a Socket.IO handler or a test calls the same two methods.

    async with Gateway(connect(url)) as bus:
        ticket = await bus.submit(message, connection=Connection(user_name="ana"))
        reply = await ticket.result(timeout_s=30)

A gateway keeps no state that matters: replies are matched to waiting tickets by message id from the
replies stream, which every gateway reads in full (cheap: one blocking XREAD). A ticket whose reply was
published before anyone waited (a re-submitted id, a gateway restart) is answered from the ``done`` record.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream
from pydantic import ValidationError
from redis.asyncio import Redis

from ..errors import ConfigError, RunError
from ..types import Memory, new_uuid, now_ms
from ._redis import check_client, ensure_layout, entries_of
from .config import BusConfig
from .envelope import BusReply, BusRequest, Connection

log = logging.getLogger("elizapy.scale.gateway")


@dataclass
class _Waiter:
    event: anyio.Event = field(default_factory=anyio.Event)
    reply: BusReply | None = None
    tickets: int = 0


class Ticket:
    """A submitted message; :meth:`result` waits for its reply."""

    def __init__(self, gateway: Gateway, message_id: str, waiter: _Waiter) -> None:
        self._gateway = gateway
        self.message_id = message_id
        self._waiter = waiter
        self._closed = False

    async def result(self, timeout_s: float | None = 60.0) -> BusReply:
        """The reply; raises ``TimeoutError`` when none came in time (the message may still be answered
        later: ``gateway.reply(message_id)`` then finds it), ``RunError`` when the gateway stopped first."""
        try:
            with anyio.move_on_after(math.inf if timeout_s is None else timeout_s):
                await self._waiter.event.wait()
            if self._waiter.reply is None and self._gateway.closed:
                raise RunError(f"the gateway stopped before message {self.message_id} was answered")
            if self._waiter.reply is None:
                # A reply that the reader missed (trimmed, or published before this gateway started).
                self._waiter.reply = await self._gateway.reply(self.message_id)
            if self._waiter.reply is None:
                raise TimeoutError(f"no reply to message {self.message_id} within {timeout_s}s")
            return self._waiter.reply
        finally:
            self.close()

    def close(self) -> None:
        """Stop waiting (also done by :meth:`result`)."""
        if not self._closed:
            self._closed = True
            self._gateway._forget(self.message_id, self._waiter)


class Gateway:
    """Use as ``async with Gateway(redis) as bus`` (it runs a background reader of the replies stream)."""

    def __init__(self, redis: Redis, *, config: BusConfig | None = None) -> None:
        check_client(redis)
        self.redis = redis
        self.config = config or BusConfig()
        self._waiters: dict[str, _Waiter] = {}
        self._subscribers: set[MemoryObjectSendStream[BusReply]] = set()
        self._tg: TaskGroup | None = None
        self._started = anyio.Event()
        self._last_id = "0-0"
        self.closed = False

    async def __aenter__(self) -> Gateway:
        await ensure_layout(self.redis, self.config)
        newest = await self.redis.xrevrange(self.config.replies, count=1)
        self._last_id = str(newest[0][0]) if newest else "0-0"
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._read_replies)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        tg, self._tg = self._tg, None
        if tg is None:
            return None
        tg.cancel_scope.cancel()
        self.closed = True
        for waiter in self._waiters.values():  # waiting tickets learn at once that no reply will come
            waiter.event.set()
        for stream in list(self._subscribers):
            stream.close()
        return await tg.__aexit__(exc_type, exc, tb)

    # --- submitting -------------------------------------------------------------------------------------

    async def submit(self, message: Memory, *, connection: Connection | None = None) -> Ticket:
        """Queue ``message`` for its agent (``message.agent_id``) and return a ticket for the reply.

        ``message.id`` is the idempotency key: submitting the same id again never produces a second reply
        (the ticket gets the first one). A missing id or ``created_at`` is filled in here.
        """
        if self._tg is None:
            raise ConfigError("the gateway is not running: use `async with Gateway(...)`")
        agent_id = message.agent_id
        if not agent_id:
            raise ConfigError("a bus message needs agent_id: the agent that should answer it")
        message = message.model_copy(update={"id": message.id or new_uuid(),
                                             "created_at": message.created_at or now_ms()})
        assert message.id is not None
        waiter = self._waiters.setdefault(message.id, _Waiter())
        waiter.tickets += 1
        ticket = Ticket(self, message.id, waiter)
        try:
            if waiter.reply is None and not waiter.event.is_set():
                answered = await self.reply(message.id)
                if answered is not None:
                    self._resolve(answered)
                else:
                    request = BusRequest(message=message, connection=connection, submitted_at=now_ms())
                    await self.redis.xadd(
                        self.config.stream(self.config.shard_of(message.room_id)),
                        {"id": message.id, "room": message.room_id, "agent": agent_id,
                         "data": request.model_dump_json(by_alias=True, exclude_none=True)},
                    )
        except BaseException:
            ticket.close()
            raise
        return ticket

    async def request(self, message: Memory, *, connection: Connection | None = None,
                      timeout_s: float | None = 60.0) -> BusReply:
        """Submit and wait for the reply."""
        ticket = await self.submit(message, connection=connection)
        return await ticket.result(timeout_s)

    async def reply(self, message_id: str) -> BusReply | None:
        """The published reply to a message, if any (and still in the replies stream)."""
        entry_id = await self.redis.get(self.config.done(message_id))
        if entry_id is None:
            return None
        found = await self.redis.xrange(self.config.replies, min=entry_id, max=entry_id)
        if not found:
            return None
        return _decode({str(k): str(v) for k, v in (found[0][1] or {}).items()})

    async def replies(self, *, buffer: int = 1000) -> AsyncIterator[BusReply]:
        """Every reply this gateway sees once iteration has begun (for broadcasting). A subscriber that
        falls more than ``buffer`` replies behind misses the excess (logged), rather than slowing everyone
        down."""
        send, receive = anyio.create_memory_object_stream[BusReply](buffer)
        self._subscribers.add(send)
        try:
            async with receive:
                async for reply in receive:
                    yield reply
        finally:
            self._subscribers.discard(send)
            send.close()

    # --- the reader -------------------------------------------------------------------------------------

    async def _read_replies(self) -> None:
        while True:
            try:
                response = await self.redis.xread({self.config.replies: self._last_id},
                                                       count=500, block=self.config.block_ms)
            except Exception as exc:  # Redis restarting or unreachable: keep trying, bounded pace
                log.warning("reading replies failed: %r", exc)
                await anyio.sleep(0.5)
                continue
            for entry_id, fields in entries_of(response):
                self._last_id = entry_id
                reply = _decode(fields)
                if reply is not None:
                    self._resolve(reply)

    def _resolve(self, reply: BusReply) -> None:
        waiter = self._waiters.get(reply.message_id)
        if waiter is not None and waiter.reply is None:
            waiter.reply = reply
            waiter.event.set()
        for stream in list(self._subscribers):
            try:
                stream.send_nowait(reply)
            except anyio.WouldBlock:
                log.warning("a reply subscriber is behind; dropped the reply to %s", reply.message_id)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._subscribers.discard(stream)

    def _forget(self, message_id: str, waiter: _Waiter) -> None:
        waiter.tickets -= 1
        if waiter.tickets <= 0 and self._waiters.get(message_id) is waiter:
            del self._waiters[message_id]

    @property
    def waiting(self) -> int:
        """Messages with a ticket still waiting (for metrics and tests)."""
        return len(self._waiters)


def _decode(fields: dict[str, str]) -> BusReply | None:
    try:
        return BusReply.model_validate_json(fields.get("data", ""))
    except ValidationError as exc:
        log.warning("undecodable reply %s: %s", fields.get("id"), exc)
        return None
