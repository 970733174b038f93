"""Helpers for the sidekick tests: two dispatchers (or a dispatcher and a raw end) over the in-memory pair."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from elizapy.sidekick.dispatcher import Dispatcher, MethodNotFound, RequestContext
from elizapy.sidekick.transport import Oversize, Transport, memory_pair
from elizapy.sidekick.wire import Params

Handler = Callable[[str, Params, RequestContext], Awaitable[Any]]


@dataclass
class FnHandler:
    """A request handler from a function; notifications are recorded."""

    fn: Handler | None = None
    notes: list[tuple[str, Params]] = field(default_factory=list)

    async def handle_request(self, method: str, params: Params, ctx: RequestContext) -> Any:
        if self.fn is None:
            raise MethodNotFound(method)
        return await self.fn(method, params, ctx)

    async def handle_notification(self, method: str, params: Params) -> None:
        self.notes.append((method, params))


@contextlib.asynccontextmanager
async def dispatcher_pair(
    server: Handler | None,
    *,
    client_handler: Handler | None = None,
    max_frame_bytes: int = 1 << 20,
    server_max_in_flight: int = 64,
    request_timeout_s: float = 5.0,
) -> AsyncIterator[tuple[Dispatcher, Dispatcher]]:
    """(client, server) dispatchers talking over an in-memory pair."""
    a, b = memory_pair(max_frame_bytes=max_frame_bytes)
    client = Dispatcher(a, FnHandler(client_handler), request_timeout_s=request_timeout_s)
    srv = Dispatcher(b, FnHandler(server), max_in_flight=server_max_in_flight)
    async with client.running(), srv.running():
        yield client, srv


class RawPeer:
    """The other end of a dispatcher, written by hand: sends arbitrary bytes, reads decoded frames."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    async def send_raw(self, data: bytes) -> None:
        await self.t.write.send(data)

    async def send(self, obj: Any) -> None:
        await self.send_raw(json.dumps(obj).encode())

    async def receive(self, timeout_s: float = 5.0) -> dict[str, Any]:
        with anyio.fail_after(timeout_s):
            item = await self.t.read.receive()
        assert not isinstance(item, Oversize), item
        obj: dict[str, Any] = json.loads(item)
        return obj


@contextlib.asynccontextmanager
async def raw_to_dispatcher(
    server: Handler | None, *, max_frame_bytes: int = 1 << 20, max_in_flight: int = 64
) -> AsyncIterator[tuple[RawPeer, Dispatcher]]:
    a, b = memory_pair(max_frame_bytes=max_frame_bytes)
    srv = Dispatcher(b, FnHandler(server), max_in_flight=max_in_flight)
    async with srv.running():
        yield RawPeer(a), srv
