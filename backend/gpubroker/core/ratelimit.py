"""Fixed-window rate limits on the `limits` library, shared by every server process through Redis.

`limiter.hit(rules)` / `await limiter.ahit(rules)` count one request against several windows at
once and say whether it may pass. The counting is `limits`' fixed-window strategy (one
INCR-and-EXPIRE script per window, the window opening at its first hit); this module only
combines several windows into one decision and keeps the service up when Redis is not:

- The counters live in Redis (`RATE_LIMIT_REDIS_URL`, default `REDIS_URL`) under the cache's key
  prefix, so every process agrees and the test suite's cache flush clears them. The async path
  (every API request under daphne) counts all its windows in one script call: one round trip.
- When Redis cannot be reached the limiter fails open: it answers from `limits`' in-process
  memory storage (one per event loop on the async path, one per process on the sync path),
  logs a warning (at most every `_WARN_EVERY_SECONDS`) and does not try Redis again for
  `RATE_LIMIT_REDIS_RETRY_SECONDS`, so an outage costs neither availability nor a timeout per
  request.

The policy (who is limited at which rate) lives with the callers, e.g.
`apps.auth_app.middleware.RateLimitMiddleware` and `apps.auth_app.services.login_throttle`.
Every refusal is counted in `gpubroker_rate_limit_rejections_total{scope}` (per process), the
scope being the refusing rule's (`tenant`, `anonymous`, `ip_minute`, `login`, `ai_chat`).
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
from typing import Any, cast

import redis
import redis.asyncio as redis_async
from django.conf import settings
from django.http import HttpRequest
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage as AsyncMemoryStorage
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.storage.redis import RedispyBridge
from limits.storage import MemoryStorage, RedisStorage
from prometheus_client import Counter

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 10.0
_NAMESPACE = "rl"
# `limits`' fixed-window script (INCRBY, then EXPIRE when the key is new) for every key of one
# request: KEYS are the windows' counters, ARGV their expiries in seconds; the amount is 1. The
# same keys, values and expiries `storage.incr` writes with `RedispyBridge.SCRIPT_INCR_EXPIRE`.
_INCR_EXPIRE_MANY_SCRIPT = """
local counts = {}
for index, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if tonumber(current) == 1 then
        redis.call("expire", key, ARGV[index])
    end
    counts[index] = current
end
return counts
"""
_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

RATE_LIMIT_REJECTIONS = Counter(
    "gpubroker_rate_limit_rejections",
    "Requests refused by a rate limit, by the refusing rule's scope.",
    ["scope"],
)


@dataclass(frozen=True)
class Rule:
    """`limit` requests per `window_seconds` for the counter named `key`.

    `scope` names the kind of limit in `gpubroker_rate_limit_rejections_total` (a handful of
    fixed values, never the key: the key holds ids and addresses).
    """

    key: str
    limit: int
    window_seconds: int
    scope: str = "other"

    def item(self) -> RateLimitItem:
        """This rule as a `limits` item: `limit` per `window_seconds` seconds."""
        return RateLimitItemPerSecond(self.limit, self.window_seconds, namespace=_NAMESPACE)


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit. `limit`/`remaining` describe the rule that decided.

    `retry_after` is in whole seconds (≥ 1 when refused, 0 when allowed).
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    from_fallback: bool = False
    #: The scope of the rule that refused (empty while allowed).
    scope: str = ""

    def headers(self) -> dict[str, str]:
        """`X-RateLimit-Limit`/`-Remaining`, plus `Retry-After` when refused."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _windows(rules: Sequence[Rule]) -> list[tuple[str, int]]:
    """(storage key, window in seconds) of each rule, named by `limits`."""
    windows = []
    for rule in rules:
        item = rule.item()
        windows.append((item.key_for(rule.key), item.get_expiry()))
    return windows


def _exceeded(rules: Sequence[Rule], counts: Sequence[int]) -> list[int]:
    # The fixed-window strategy's test (`FixedWindowRateLimiter.hit`): the hit that takes the
    # count past the limit is refused. Counting goes through `storage.incr` directly because
    # the strategy answers only a boolean and X-RateLimit-Remaining needs the count.
    return [index for index, rule in enumerate(rules) if counts[index] > rule.limit]


def _decide(
    rules: Sequence[Rule],
    counts: Sequence[int],
    resets: dict[int, float],
    *,
    fallback: bool,
) -> Decision:
    """Combine per-rule counts (and, for exceeded rules, reset times) into one decision.

    The first rule is the one reported while everything is allowed; when some rule is exceeded,
    the exceeded rule whose window frees up last is reported.
    """
    if resets:
        index = max(resets, key=resets.__getitem__)
        return Decision(
            allowed=False,
            limit=rules[index].limit,
            remaining=0,
            retry_after=max(1, math.ceil(resets[index] - time.time())),
            from_fallback=fallback,
            scope=rules[index].scope,
        )
    return Decision(
        allowed=True,
        limit=rules[0].limit,
        remaining=max(0, rules[0].limit - counts[0]),
        retry_after=0,
        from_fallback=fallback,
    )


def _counted(decision: Decision) -> Decision:
    if not decision.allowed:
        RATE_LIMIT_REJECTIONS.labels(scope=decision.scope).inc()
    return decision


async def _incr_pipelined(
    storage: AsyncRedisStorage, windows: Sequence[tuple[str, int]]
) -> list[int]:
    """`storage.incr(key, seconds)` for every window, in one script call (one round trip).

    `limits` has no multi-key hit, and awaiting `storage.incr` per window cost 10-18 % of the
    cached listing's throughput (two commands and, concurrently, two connections per request;
    docs/benchmarks.md). So the windows go in one call of `_INCR_EXPIRE_MANY_SCRIPT` on the
    storage's own client, under the storage's own key prefix: the same keys and values
    `storage.incr` writes, which the refusal path, the sync path and the tests read back through
    the public API. Sent by SHA (redis-py's `register_script`: EVALSHA, loading the script once
    on NOSCRIPT), which cost less CPU per request than a pipeline of EVALs carrying the text.
    """
    bridge = cast(RedispyBridge, storage.bridge)  # constructed with implementation="redispy"
    client = cast(redis_async.Redis, bridge.get_connection())
    script = _scripts.get(client)
    if script is None:
        script = _scripts[client] = client.register_script(_INCR_EXPIRE_MANY_SCRIPT)
    counts = await script(
        keys=[bridge.prefixed_key(key) for key, _ in windows],
        args=[seconds for _, seconds in windows],
    )
    return [int(count) for count in counts]


class RateLimiter:
    """Counts hits in Redis through `limits` and falls back to process memory when it is down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fallback: MemoryStorage | None = None
        self._sync_storages: dict[str, RedisStorage] = {}
        self._async_storages: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, AsyncRedisStorage]
        ] = weakref.WeakKeyDictionary()
        self._async_fallbacks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncMemoryStorage
        ] = weakref.WeakKeyDictionary()
        self._down_until: dict[str, float] = {}
        self._last_warning = 0.0

    # --- configuration -------------------------------------------------------------------------
    @staticmethod
    def _url() -> str:
        return str(
            settings.RATE_LIMIT_REDIS_URL or settings.REDIS_URL or "redis://127.0.0.1:6379/0"
        )

    @staticmethod
    def _storage_options() -> dict[str, Any]:
        timeout = float(settings.RATE_LIMIT_REDIS_TIMEOUT_SECONDS)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        return {
            # `limits` names a key `<key_prefix>:rl/<rule key>/<limit>/<window>/second`.
            "key_prefix": prefix or "gpubroker",
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }

    @staticmethod
    def _limits_uri(url: str) -> str:
        # `limits` spells a Unix socket `redis+unix://`; redis-py's `unix://` would read as Valkey.
        return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url

    def _sync_storage(self, url: str) -> RedisStorage:
        with self._lock:
            storage = self._sync_storages.get(url)
            if storage is None:
                storage = RedisStorage(self._limits_uri(url), **self._storage_options())
                self._sync_storages[url] = storage
            return storage

    def _async_storage(self, url: str) -> AsyncRedisStorage:
        # redis.asyncio connections belong to one event loop: keep one storage per loop.
        loop = asyncio.get_running_loop()
        storages = self._async_storages.setdefault(loop, {})
        storage = storages.get(url)
        if storage is None:
            storage = AsyncRedisStorage(
                "async+" + self._limits_uri(url),
                implementation="redispy",
                **self._storage_options(),
            )
            storages[url] = storage
        return storage

    def _memory(self) -> MemoryStorage:
        # The sync path's fallback. Created on first use: it starts expiry timer threads.
        with self._lock:
            if self._fallback is None:
                self._fallback = MemoryStorage()
            return self._fallback

    def _async_memory(self) -> AsyncMemoryStorage:
        # The event loop's fallback expires keys with tasks, not threads: starting a thread
        # waits for it to run, which on a busy core stalls every request on the loop.
        loop = asyncio.get_running_loop()
        storage = self._async_fallbacks.get(loop)
        if storage is None:
            storage = self._async_fallbacks[loop] = AsyncMemoryStorage()
        return storage

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
        """Forget fallback counters, clients and outage state (tests, settings changes)."""
        with self._lock:
            if self._fallback is not None:
                self._fallback.reset()
            self._sync_storages.clear()
        self._down_until.clear()
        self._last_warning = 0.0
        self._async_storages = weakref.WeakKeyDictionary()
        self._async_fallbacks = weakref.WeakKeyDictionary()

    # --- hits ------------------------------------------------------------------------------------
    @staticmethod
    def _count(storage: RedisStorage | MemoryStorage, rules: Sequence[Rule]) -> Decision:
        windows = _windows(rules)
        counts = [storage.incr(key, seconds) for key, seconds in windows]
        resets = {
            index: storage.get_expiry(windows[index][0]) for index in _exceeded(rules, counts)
        }
        return _decide(rules, counts, resets, fallback=isinstance(storage, MemoryStorage))

    @staticmethod
    async def _acount(
        storage: AsyncRedisStorage | AsyncMemoryStorage, rules: Sequence[Rule]
    ) -> Decision:
        windows = _windows(rules)
        if isinstance(storage, AsyncRedisStorage):
            counts = await _incr_pipelined(storage, windows)
        else:
            counts = [await storage.incr(key, seconds) for key, seconds in windows]
        exceeded = _exceeded(rules, counts)
        resets: dict[int, float] = {}
        if exceeded:
            times = await asyncio.gather(*(storage.get_expiry(windows[i][0]) for i in exceeded))
            resets = dict(zip(exceeded, times, strict=True))
        return _decide(rules, counts, resets, fallback=isinstance(storage, AsyncMemoryStorage))

    def hit(self, rules: Sequence[Rule]) -> Decision:
        """Count one request against every rule (sync path: one round trip per rule).

        Returns the combined decision; never raises for an unreachable Redis (fails open).
        """
        url = self._url()
        if self._redis_usable(url):
            try:
                return _counted(self._count(self._sync_storage(url), rules))
            except (redis.RedisError, OSError) as exc:
                self._mark_down(url, exc)
        return _counted(self._count(self._memory(), rules))

    async def ahit(self, rules: Sequence[Rule]) -> Decision:
        """Count one request against every rule in one Redis round trip (the event-loop path).

        Returns the combined decision; never raises for an unreachable Redis (fails open).
        """
        url = self._url()
        if self._redis_usable(url):
            try:
                return _counted(await self._acount(self._async_storage(url), rules))
            except (redis.RedisError, OSError) as exc:
                self._mark_down(url, exc)
        return _counted(await self._acount(self._async_memory(), rules))


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
