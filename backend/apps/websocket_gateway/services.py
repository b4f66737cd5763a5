"""Writes of the price stream: concurrent-socket slots per tenant (or per anonymous IP).

Slots live in Redis so the limit holds across every server process. Each slot is a member of a
sorted set scored by its lease expiry; sockets renew their lease on every heartbeat, and
expired members are swept on the next acquire. A process that crashes therefore leaks its slots
only until their leases run out (three heartbeats, at least 10 s), not forever. Redis time is
used inside the scripts so processes with skewed clocks agree.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError

from apps.websocket_gateway.redis_clients import command_client

logger = logging.getLogger(__name__)

# KEYS[1] slot set; ARGV: member, limit, lease_ms. Returns 1 when the slot was taken.
_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS[1] slot set; ARGV: member, lease_ms. Renews only a slot that still exists.
_RENEW_SCRIPT = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return renewed
"""


def ws_slot_key(identity: str) -> str:
    """The Redis key of one identity's slots (`tenant:<id>`, `user:<id>` or `ip:<addr>`)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "gpubroker")
    return f"{prefix}:ws:slots:{identity}"


def ws_slot_lease_ms() -> int:
    """Lease of one slot: three heartbeats, at least 10 s."""
    return int(max(3 * settings.WS_HEARTBEAT_SECONDS, 10.0) * 1000)


async def ws_slot_acquire(*, identity: str, slot_id: str, limit: int) -> bool:
    """Take one of `limit` slots for `identity`; False when all are in use.

    Fails open (returns True, logs a warning) when Redis does not answer: the limit is an abuse
    cap, and refusing every socket during a Redis outage would turn it into an outage of the
    stream's snapshots too.
    """
    try:
        taken = await command_client().eval(
            _ACQUIRE_SCRIPT, 1, ws_slot_key(identity), slot_id, limit, ws_slot_lease_ms()
        )
    except (RedisError, OSError) as exc:
        logger.warning(
            "ws slot check skipped, redis unavailable",
            extra={"identity": identity, "error": exc.__class__.__name__},
        )
        return True
    return bool(taken)


async def ws_slot_renew(*, identity: str, slot_id: str) -> None:
    """Extend a held slot's lease (called on every heartbeat); Redis errors are logged only."""
    try:
        await command_client().eval(
            _RENEW_SCRIPT, 1, ws_slot_key(identity), slot_id, ws_slot_lease_ms()
        )
    except (RedisError, OSError) as exc:
        logger.warning("ws slot renew failed", extra={"error": exc.__class__.__name__})


async def ws_slot_release(*, identity: str, slot_id: str) -> None:
    """Give a slot back; a failure only delays its reuse until the lease expires."""
    try:
        await command_client().zrem(ws_slot_key(identity), slot_id)
    except (RedisError, OSError) as exc:
        logger.warning("ws slot release failed", extra={"error": exc.__class__.__name__})
