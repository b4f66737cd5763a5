"""Shared Redis clients for code that needs more than Django's cache API (pub/sub, scans).

Clients are created lazily from settings.REDIS_URL with the same short timeouts as the cache,
so a hung Redis costs a bounded wait, never a hung request.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client_for(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    """A process-wide synchronous client (thread-safe: it wraps a connection pool)."""
    url = settings.CACHES["default"]["LOCATION"]
    return _client_for(str(url), float(settings.REDIS_TIMEOUT_SECONDS))
