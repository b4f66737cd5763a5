"""`GET /health`: answers within ~100 ms even when a dependency hangs.

Each dependency is probed concurrently under a hard deadline with its own short-lived
connection, so a hung PostgreSQL or Redis costs at most the deadline, never a pool slot or a
worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
import redis.asyncio as aioredis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from gpubroker.core.errors import error_body

logger = logging.getLogger(__name__)


def _deadline() -> float:
    return float(settings.HEALTH_PROBE_DEADLINE_SECONDS)


def _conninfo() -> str:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("options", None)
    params["connect_timeout"] = 1
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


async def database_is_up() -> bool:
    """Whether PostgreSQL answers `SELECT 1` on a fresh connection within the health deadline."""

    async def probe() -> bool:
        async with await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True) as conn:
            await conn.execute("SELECT 1")
        return True

    try:
        return await asyncio.wait_for(probe(), _deadline())
    except (TimeoutError, psycopg.Error, OSError) as exc:
        logger.warning("health: database probe failed: %s", exc.__class__.__name__)
        return False


async def cache_is_up() -> bool:
    """Whether Redis answers PING within the health deadline."""
    client: Any = aioredis.from_url(
        settings.CACHES["default"]["LOCATION"],
        socket_connect_timeout=_deadline(),
        socket_timeout=_deadline(),
    )
    try:
        return bool(await asyncio.wait_for(client.ping(), _deadline()))
    except (TimeoutError, aioredis.RedisError, OSError) as exc:
        logger.warning("health: cache probe failed: %s", exc.__class__.__name__)
        return False
    finally:
        await client.aclose()


async def health(request: HttpRequest) -> JsonResponse:
    """GET /health: both probes at once; 503 with the envelope when PostgreSQL is down."""
    database_ok, cache_ok = await asyncio.gather(database_is_up(), cache_is_up())
    if not database_ok:
        status, http_status = "down", 503
    elif not cache_ok:
        status, http_status = "degraded", 200
    else:
        status, http_status = "ok", 200
    body = {
        "status": status,
        "database": "ok" if database_ok else "down",
        "cache": "ok" if cache_ok else "down",
        "timestamp": timezone.now().isoformat(),
    }
    if http_status >= 400:
        # Every status >= 400 carries the SPEC envelope, next to the health fields.
        body.update(error_body("SERVICE_UNAVAILABLE", "Database not available"))
    return JsonResponse(body, status=http_status)
