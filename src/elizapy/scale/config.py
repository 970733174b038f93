"""Bus settings and the Redis key layout, shared by gateways and workers (they must agree on both)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class BusConfig:
    """How the bus is laid out and paced. Gateways and workers of one deployment use the same ``prefix`` and
    ``shards``; a worker or gateway started with a different shard count refuses to run (see ``meta``)."""

    prefix: str = "elizapy"
    """Every key is ``{prefix}:…``. The braces are a Redis Cluster hash tag: all keys of one bus share a slot,
    which the atomic publish-and-acknowledge script needs."""
    shards: int = 16
    """Request streams. A room always maps to the same shard; one worker at a time consumes a shard."""
    group: str = "workers"
    lease_ttl_s: float = 10.0
    """How long a shard lease lives without renewal: a dead worker's shards move after at most this long.
    A live worker renews every third of it and stops working a shard it could not renew in time."""
    block_ms: int = 1000
    """XREAD/XREADGROUP blocking time; also how fast a draining shard notices (reads are cancelled early)."""
    read_count: int = 32
    """Entries fetched per read."""
    shard_buffer: int = 64
    """Entries of one shard read but not yet finished (bounded read-ahead)."""
    max_in_flight: int = 32
    """Messages one worker runs at once across its shards (different rooms only)."""
    trim_every: int = 256
    """A shard's holder drops acknowledged entries from its stream after this many messages."""
    replies_maxlen: int = 100_000
    """Approximate cap of the replies stream (oldest trimmed first)."""
    done_ttl_s: float = 24 * 3600
    """How long Redis remembers that a message id was answered (a re-submitted id gets the first reply)."""
    ledger_ttl_s: float = 7 * 24 * 3600
    """How long the store remembers each message's outcome (used when a delivery is repeated)."""
    max_deliveries: int = 5
    """A message claimed from dead workers more often than this is given up (error reply, dead-letter)."""
    retry_max_s: float = 5.0
    """Cap of the back-off between retries of a message that failed on infrastructure (store, Redis)."""
    agent_refresh_s: float = 30.0
    """How often a worker re-reads an agent's record to notice character changes or disabling."""

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigError("the bus needs at least one shard")
        if not self.prefix or any(c in self.prefix for c in "{} "):
            raise ConfigError(f"bad bus prefix {self.prefix!r}")
        if self.lease_ttl_s <= 0.3:
            raise ConfigError("lease_ttl_s must be more than 0.3 s")

    # --- keys -------------------------------------------------------------------------------------------

    @property
    def _tag(self) -> str:
        return f"{{{self.prefix}}}"

    def stream(self, shard: int) -> str:
        return f"{self._tag}:in:{shard}"

    def lease(self, shard: int) -> str:
        return f"{self._tag}:lease:{shard}"

    def done(self, message_id: str) -> str:
        return f"{self._tag}:done:{message_id}"

    @property
    def replies(self) -> str:
        return f"{self._tag}:replies"

    @property
    def dead(self) -> str:
        return f"{self._tag}:dead"

    @property
    def workers(self) -> str:
        return f"{self._tag}:workers"

    @property
    def meta(self) -> str:
        return f"{self._tag}:meta"

    def shard_of(self, room_id: str) -> int:
        return shard_of(room_id, self.shards)


def shard_of(room_id: str, shards: int) -> int:
    """The shard of a room: a stable hash (the same in every process and version, unlike ``hash()``)."""
    digest = hashlib.blake2b(room_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def ledger_key(agent_id: str, message_id: str) -> str:
    """The store cache key holding a processed message's outcome."""
    return f"bus:outcome:{agent_id}:{message_id}"
