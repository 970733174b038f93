"""Scale-out: stateless agent workers behind a Redis Streams bus, sharing one PostgreSQL store.

- :class:`Gateway` (``submit(message) -> Ticket``, ``await ticket.result()``) is what a server calls;
- :class:`Worker` consumes the bus and runs agents rebuilt from the store's agent records;
- :class:`BusConfig` is the layout both sides must agree on.

How ordering, hand-over and exactly-one-reply work is explained in ``worker``. Needs the ``redis`` extra.
"""

from __future__ import annotations

from ._redis import connect
from .config import BusConfig, shard_of
from .envelope import BusReply, BusRequest, Connection
from .gateway import Gateway, Ticket
from .local_redis import LocalRedis
from .worker import RuntimeFactory, Worker, WorkerStats

__all__ = [
    "BusConfig",
    "BusReply",
    "BusRequest",
    "Connection",
    "Gateway",
    "LocalRedis",
    "RuntimeFactory",
    "Ticket",
    "Worker",
    "WorkerStats",
    "connect",
    "shard_of",
]
