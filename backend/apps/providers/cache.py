"""The offer-listing cache (SPEC: key `providers:list:<sha256 of sorted params>`, TTL 60 s).

Keys live in Django's Redis cache; invalidation deletes every listing key (ingestion calls it
after commit). Any Redis failure degrades to "no cache" with a logged warning, never an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from apps.providers.metrics import LISTING_CACHE_REQUESTS
from gpubroker.core.redis import get_redis

logger = logging.getLogger(__name__)

LISTING_PREFIX = "providers:list:"


def listing_cache_key(params: Mapping[str, Any]) -> str:
    """The cache key of a listing query: the prefix and the sha256 of its sorted non-null params."""
    canonical = json.dumps(
        {key: params[key] for key in sorted(params) if params[key] is not None},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return LISTING_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def listing_cache_get(key: str) -> Any | None:
    """A JSON value cached under the listing prefix, or None (miss or Redis unavailable).

    Uses the process-wide client (one connection pool per process): Django's cache object is
    per thread, and under ASGI every request runs its sync code in a fresh thread, so going
    through it opened a new Redis connection per request.
    """
    try:
        raw = get_redis().get(cache.make_key(key))
    except redis.RedisError as exc:
        logger.warning("listing cache read failed, serving from PostgreSQL: %s", exc)
        return None
    return None if raw is None else json.loads(raw)


def listing_cache_set(key: str, value: Any, ttl_seconds: int) -> None:
    """Cache a JSON value for `ttl_seconds`; a Redis failure is logged, never raised."""
    try:
        get_redis().set(cache.make_key(key), json.dumps(value), ex=ttl_seconds)
    except redis.RedisError as exc:
        logger.warning("listing cache write failed: %s", exc)


def listing_cache_invalidate() -> int:
    """Delete every cached listing page; returns how many keys went."""
    pattern = cache.make_key(LISTING_PREFIX + "*")
    try:
        client = get_redis()
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.unlink(*keys)
        return len(keys)
    except redis.RedisError as exc:
        logger.warning("listing cache invalidation failed: %s", exc)
        return 0


# ---- the rendered page, read on the event loop -------------------------------------------------
# A cached page is the hot path of the whole API; it is read with redis.asyncio so a cache hit
# costs no thread hop. Bodies are stored raw (bytes) under the same prefixed key space, so
# `listing_cache_invalidate` drops them with everything else.

_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
    weakref.WeakKeyDictionary()
)


def _async_client() -> Any:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        timeout = float(settings.REDIS_TIMEOUT_SECONDS)
        client = aioredis.from_url(
            str(settings.CACHES["default"]["LOCATION"]),
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
        _async_clients[loop] = client
    return client


async def cached_body_aget(key: str) -> bytes | None:
    """A rendered body cached under the listing prefix, or None.

    None on a miss or when Redis is unavailable (logged). Not counted: the listing's own
    reads go through `listing_page_aget`, which counts them.
    """
    try:
        body = await _async_client().get(cache.make_key(key))
    except (redis.RedisError, OSError) as exc:
        logger.warning("listing cache read failed, serving from PostgreSQL: %s", exc)
        body = None
    return body if isinstance(body, bytes) else None


async def listing_page_aget(key: str) -> bytes | None:
    """A rendered listing page, or None (miss, or Redis unavailable: logged).

    Counted in `gpubroker_listing_cache_requests_total`: a page found is a hit, anything else
    (absent, or Redis unavailable) a miss.
    """
    page = await cached_body_aget(key)
    LISTING_CACHE_REQUESTS.labels(result="miss" if page is None else "hit").inc()
    return page


async def listing_page_aset(key: str, body: bytes, ttl_seconds: int) -> None:
    """Cache a rendered listing page for `ttl_seconds`; a Redis failure is logged, never raised."""
    try:
        await _async_client().set(cache.make_key(key), body, ex=ttl_seconds)
    except (redis.RedisError, OSError) as exc:
        logger.warning("listing cache write failed: %s", exc)


async def cached_render(key: str, render: Callable[[], bytes], *, counted: bool = False) -> bytes:
    """The body cached under `key`, else `render()` run in one thread hop, then cached.

    Cached for PROVIDERS_LIST_CACHE_TTL_SECONDS under the listing prefix, so ingestion's
    `listing_cache_invalidate` drops it with the listing's pages. `counted`: the read counts in
    `gpubroker_listing_cache_requests_total` (the listing's own pages). Redis failures are
    logged and the body is rendered; an exception from `render` propagates, uncached.
    """
    body = await (listing_page_aget(key) if counted else cached_body_aget(key))
    if body is None:
        body = await sync_to_async(render)()
        await listing_page_aset(key, body, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS)
    return body
