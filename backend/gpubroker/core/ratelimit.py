"""Fixed-window rate limiting shared by every server process through Redis.

`RateLimiter.hit(rules)` / `ahit(rules)` count one request against several windows at once in a
single Redis round trip (one Lua script: INCR + PEXPIRE per window, windows aligned on Redis'
own clock so processes on different hosts agree). When Redis cannot be reached the limiter
fails open: it answers from an in-process fallback counter, logs a warning (at most every
`_WARN_EVERY_SECONDS`) and does not try Redis again for `RATE_LIMIT_REDIS_RETRY_SECONDS`, so a
Redis outage costs neither availability nor a timeout per request.

The policy (who is limited at which rate) lives with the callers, e.g.
`apps.auth_app.middleware.RateLimitMiddleware`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as redis_async
from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 10.0

# KEYS[i] is a counter; ARGV[2i-1] its limit (unused here, kept for readability of callers),
# ARGV[2i] its window in seconds. Returns {count_1, ms_to_reset_1, count_2, ms_to_reset_2, ...}.
_LUA = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local window_ms = tonumber(ARGV[2 * i]) * 1000
  local bucket = math.floor(now_ms / window_ms)
  local name = key .. ':' .. bucket
  local count = redis.call('INCR', name)
  if count == 1 then
    redis.call('PEXPIRE', name, window_ms + 1000)
  end
  out[#out + 1] = count
  out[#out + 1] = (bucket + 1) * window_ms - now_ms
end
return out
"""


@dataclass(frozen=True)
class Rule:
    """`limit` requests per `window_seconds` for the counter named `key`."""

    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit. `limit`/`remaining` describe the rule that decided."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    from_fallback: bool = False

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _decide(rules: Sequence[Rule], counts: Sequence[tuple[int, int]], fallback: bool) -> Decision:
    """Combine per-rule (count, ms_to_reset) into one decision.

    The first rule is the one reported while everything is allowed; when some rule is exceeded,
    the exceeded rule with the longest wait is reported.
    """
    denied = [
        (rule, count, reset_ms)
        for rule, (count, reset_ms) in zip(rules, counts, strict=True)
        if count > rule.limit
    ]
    if denied:
        rule, _, reset_ms = max(denied, key=lambda item: item[2])
        return Decision(
            allowed=False,
            limit=rule.limit,
            remaining=0,
            retry_after=max(1, math.ceil(reset_ms / 1000)),
            from_fallback=fallback,
        )
    first_rule, (first_count, _) = rules[0], counts[0]
    return Decision(
        allowed=True,
        limit=first_rule.limit,
        remaining=max(0, first_rule.limit - first_count),
        retry_after=0,
        from_fallback=fallback,
    )


class _LocalCounters:
    """The in-process fallback: the same fixed windows, counted per process."""

    _MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, rules: Sequence[Rule]) -> list[tuple[int, int]]:
        now_ms = int(time.time() * 1000)
        result = []
        with self._lock:
            if len(self._counts) > self._MAX_KEYS:
                self._counts.clear()
            for rule in rules:
                window_ms = rule.window_seconds * 1000
                bucket = now_ms // window_ms
                stored_bucket, count = self._counts.get(rule.key, (bucket, 0))
                count = count + 1 if stored_bucket == bucket else 1
                self._counts[rule.key] = (bucket, count)
                result.append((count, (bucket + 1) * window_ms - now_ms))
        return result

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class RateLimiter:
    """Counts hits in Redis (one round trip) and falls back to process memory when it is down."""

    def __init__(self) -> None:
        self._fallback = _LocalCounters()
        self._sync_clients: dict[str, redis.Redis] = {}
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, redis_async.Redis]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._last_warning = 0.0

    # --- configuration -------------------------------------------------------------------------
    @staticmethod
    def _url() -> str:
        return str(
            settings.RATE_LIMIT_REDIS_URL or settings.REDIS_URL or "redis://127.0.0.1:6379/0"
        )

    @staticmethod
    def _client_options() -> dict[str, Any]:
        timeout = float(settings.RATE_LIMIT_REDIS_TIMEOUT_SECONDS)
        return {"socket_timeout": timeout, "socket_connect_timeout": timeout}

    @staticmethod
    def _full_key(key: str) -> str:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        return f"{prefix}:rl:{key}" if prefix else f"rl:{key}"

    def _args(self, rules: Sequence[Rule]) -> tuple[list[str], list[int]]:
        keys = [self._full_key(rule.key) for rule in rules]
        args: list[int] = []
        for rule in rules:
            args.extend((rule.limit, rule.window_seconds))
        return keys, args

    def _sync_client(self, url: str) -> redis.Redis:
        with self._lock:
            client = self._sync_clients.get(url)
            if client is None:
                client = redis.Redis.from_url(url, **self._client_options())
                self._sync_clients[url] = client
            return client

    def _async_client(self, url: str) -> redis_async.Redis:
        # redis.asyncio connections belong to one event loop: keep one client per loop.
        loop = asyncio.get_running_loop()
        clients = self._async_clients.setdefault(loop, {})
        client = clients.get(url)
        if client is None:
            client = redis_async.Redis.from_url(url, **self._client_options())
            clients[url] = client
        return client

    # --- health of the shared store --------------------------------------------------------------
    def _redis_usable(self, url: str) -> bool:
        return time.monotonic() >= self._down_until.get(url, 0.0)

    def _mark_down(self, url: str, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until[url] = now + float(settings.RATE_LIMIT_REDIS_RETRY_SECONDS)
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.warning(
                "rate limiter: Redis unreachable (%s); failing open with in-process limits",
                exc.__class__.__name__,
            )

    def reset(self) -> None:
        """Forget fallback counters and outage state (tests, settings changes)."""
        self._fallback.clear()
        self._down_until.clear()
        self._last_warning = 0.0
        with self._lock:
            self._sync_clients.clear()
        self._async_clients = weakref.WeakKeyDictionary()

    # --- hits ------------------------------------------------------------------------------------
    def hit(self, rules: Sequence[Rule]) -> Decision:
        url = self._url()
        if self._redis_usable(url):
            keys, args = self._args(rules)
            try:
                raw = self._sync_client(url).eval(_LUA, len(keys), *keys, *args)
            except (redis.RedisError, OSError) as exc:
                self._mark_down(url, exc)
            else:
                return _decide(rules, _pairs(raw), fallback=False)
        return _decide(rules, self._fallback.hit(rules), fallback=True)

    async def ahit(self, rules: Sequence[Rule]) -> Decision:
        url = self._url()
        if self._redis_usable(url):
            keys, args = self._args(rules)
            try:
                raw = await self._async_client(url).eval(_LUA, len(keys), *keys, *args)
            except (redis.RedisError, OSError) as exc:
                self._mark_down(url, exc)
            else:
                return _decide(rules, _pairs(raw), fallback=False)
        return _decide(rules, self._fallback.hit(rules), fallback=True)


def _pairs(raw: Sequence[Any]) -> list[tuple[int, int]]:
    values = [int(v) for v in raw]
    return list(zip(values[0::2], values[1::2], strict=True))


limiter = RateLimiter()


def client_ip(request: HttpRequest) -> str:
    """The caller's IP: REMOTE_ADDR, or the last untrusted X-Forwarded-For hop behind a proxy.

    `X-Forwarded-For` is only believed when the direct peer is one of `TRUSTED_PROXY_IPS`
    (nginx); otherwise any client could pick its own rate-limit bucket.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    trusted = set(settings.TRUSTED_PROXY_IPS)
    if remote in trusted:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if hop in trusted:
                continue
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                break
    return remote or "unknown"
