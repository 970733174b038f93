"""The Redis side of the bus: typed command helpers, the Lua scripts and the stream/group layout.

The scripts make the steps that must not be split atomic (Redis runs a script without interleaving):

- ``PUBLISH_ACK`` checks the shard lease (fencing: a worker that lost its shard changes nothing), appends the
  reply to the replies stream unless this message id was answered already, remembers that it was, and
  acknowledges the request entry. A message is therefore either pending (not published) or acknowledged
  (published exactly once); a crash between the two cannot happen.
- ``ACK`` acknowledges, under the same lease check, an entry whose message was answered already.
- ``RENEW`` (KEYS: leases; ARGV: ttl ms, then one token per lease) / ``RELEASE`` touch a lease only while
  it still holds the token of this worker's acquisition.
- ``HEARTBEAT`` records the worker in the live-worker set by Redis's clock and forgets stale ones.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ..errors import ConfigError
from .config import BusConfig

PUBLISH_ACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, false}
end
local reply_id = redis.call('GET', KEYS[2])
if not reply_id then
  reply_id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'id', ARGV[4], 'data', ARGV[5])
  redis.call('SET', KEYS[2], reply_id, 'PX', ARGV[6])
end
redis.call('XACK', KEYS[4], ARGV[2], ARGV[3])
return {1, reply_id}
"""
"""KEYS: lease, done, replies, request stream. ARGV: token, group, entry id, message id, reply json,
done ttl ms, replies maxlen. Returns {1, reply entry id} or {0, nil} when the lease is not ours."""

ACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('XACK', KEYS[2], ARGV[2], ARGV[3]) + 1
"""
"""KEYS: lease, request stream. ARGV: token, group, entry id. Acknowledges without publishing (a message
answered already); returns 0 when the lease is not ours."""

RENEW = """
local kept = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
    kept[i] = 1
  else
    kept[i] = 0
  end
end
return kept
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
"""


class Scripts:
    def __init__(self, redis: Redis) -> None:
        self.publish_ack = redis.register_script(PUBLISH_ACK)
        self.ack = redis.register_script(ACK)
        self.renew = redis.register_script(RENEW)
        self.release = redis.register_script(RELEASE)
        self.heartbeat = redis.register_script(HEARTBEAT)


async def ensure_layout(redis: Redis, config: BusConfig) -> None:
    """Record the shard count (refusing a mismatch) and create every shard's stream and consumer group.

    Groups start at id 0, so entries appended before a group existed are still delivered.
    """
    await redis.hsetnx(config.meta, "shards", str(config.shards))
    stored = await redis.hget(config.meta, "shards")
    if stored is not None and int(stored) != config.shards:
        raise ConfigError(
            f"this bus ({config.prefix!r}) was created with {int(stored)} shards, not {config.shards}: "
            "use the same shard count everywhere (changing it needs the streams drained first)"
        )
    for shard in range(config.shards):
        try:
            await redis.xgroup_create(config.stream(shard), config.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def entries_of(response: Any) -> list[tuple[str, dict[str, str]]]:
    """The ``(id, fields)`` pairs of an XREAD/XREADGROUP answer (RESP2: ``[[stream, [(id, fields)…]]…]``).

    An entry deleted while pending has no fields (``None``); it comes back as an empty dict.
    """
    if not response:
        return []
    return [(str(i), dict(f or {})) for _name, batch in response for i, f in batch]


def connect(url: str, **options: Any) -> Redis:
    """A client for the bus (``redis://``, ``rediss://`` or ``unix://`` URL) with text replies.

    Socket timeouts bound every command (blocking reads block for ``BusConfig.block_ms``, far below them).
    """
    options = {"socket_timeout": 30.0, "socket_connect_timeout": 10.0, "health_check_interval": 30, **options}
    return Redis.from_url(url, decode_responses=True, **options)


def check_client(redis: Redis) -> None:
    if not redis.connection_pool.connection_kwargs.get("decode_responses"):
        raise ConfigError(
            "the bus needs a Redis client with decode_responses=True (use elizapy.scale.connect)"
        )
