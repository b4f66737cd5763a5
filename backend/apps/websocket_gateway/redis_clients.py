"""Redis clients of the gateway, one pool per event loop.

redis-py's asyncio connections belong to the loop that opened them. daphne runs one loop per
process; tests run one loop per test, so clients are memoised per loop rather than globally.
"""

from __future__ import annotations

import asyncio
import weakref

import redis.asyncio as redis_asyncio
from django.conf import settings

_command_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis_asyncio.Redis] = (
    weakref.WeakKeyDictionary()
)


def redis_url() -> str:
    """The Redis that carries `price_updates` and the socket slots."""
    return str(settings.REDIS_URL or "redis://127.0.0.1:6379/0")


def command_client() -> redis_asyncio.Redis:
    """A pooled client for short commands, with the project's short socket timeouts."""
    loop = asyncio.get_running_loop()
    client = _command_clients.get(loop)
    if client is None:
        client = redis_asyncio.Redis.from_url(
            redis_url(),
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
        )
        _command_clients[loop] = client
    return client
