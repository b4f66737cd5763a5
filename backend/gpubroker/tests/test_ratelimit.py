"""The limiter itself (core/ratelimit.py): counters in Redis, combined decisions, failing open.

The policy (which rules a request is charged to) is tested in apps/auth_app/tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from gpubroker.core.ratelimit import RATE_LIMIT_REJECTIONS, Rule, limiter
from gpubroker.core.redis import get_redis


@pytest.fixture(autouse=True)
def _fresh_limiter() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


def test_counters_live_in_redis_under_the_cache_prefix() -> None:
    rule = Rule("tenant:7", 5, 60)
    assert [limiter.hit([rule]).remaining for _ in range(2)] == [4, 3]
    key = "gpubroker:rl/tenant:7/5/60/second"
    assert get_redis().get(key) == b"2"
    assert 0 < get_redis().ttl(key) <= 60
    limiter.reset()  # new clients, empty process memory: the count comes back from Redis
    decision = limiter.hit([rule])
    assert (decision.remaining, decision.from_fallback) == (2, False)


def test_refusal_reports_the_window_that_frees_up_last() -> None:
    rules = [Rule("short", 1, 10), Rule("long", 1, 60)]
    assert limiter.hit(rules).allowed is True
    refused = limiter.hit(rules)
    assert (refused.allowed, refused.limit, refused.remaining) == (False, 1, 0)
    assert 10 < refused.retry_after <= 60
    assert refused.headers()["Retry-After"] == str(refused.retry_after)


@pytest.mark.asyncio
async def test_async_hits_share_the_sync_counters() -> None:
    # The async path runs one script over every window: same keys, counts and expiry.
    rules = [Rule("short", 2, 10), Rule("long", 2, 60)]
    assert (await limiter.ahit(rules)).remaining == 1
    assert 50 < get_redis().ttl("gpubroker:rl/long/2/60/second") <= 60
    assert limiter.hit(rules).remaining == 0
    refused = await limiter.ahit(rules)
    assert (refused.allowed, refused.from_fallback) == (False, False)
    assert 10 < refused.retry_after <= 60


@pytest.mark.asyncio
async def test_async_hits_survive_redis_forgetting_the_script() -> None:
    # A restarted (or SCRIPT FLUSHed) Redis no longer knows the SHA: the script is loaded again
    # on NOSCRIPT, and the hit is still counted once, never failing open.
    rules = [Rule("flushed", 5, 30)]
    assert (await limiter.ahit(rules)).remaining == 4
    get_redis().script_flush()
    decision = await limiter.ahit(rules)
    assert (decision.remaining, decision.from_fallback) == (3, False)
    assert get_redis().get("gpubroker:rl/flushed/5/30/second") == b"2"
    assert 0 < get_redis().ttl("gpubroker:rl/flushed/5/30/second") <= 30


@pytest.mark.asyncio
async def test_a_hung_redis_fails_open_after_the_socket_timeout(hung_port: int) -> None:
    # Without the timeout passed to `limits`' client this would hang until pytest-timeout.
    with override_settings(
        RATE_LIMIT_REDIS_URL=f"redis://127.0.0.1:{hung_port}/0",
        RATE_LIMIT_REDIS_TIMEOUT_SECONDS=0.2,
    ):
        first = await limiter.ahit([Rule("anon:192.0.2.9", 1, 60)])
        second = await limiter.ahit([Rule("anon:192.0.2.9", 1, 60)])
    assert (first.allowed, first.from_fallback) == (True, True)
    assert (second.allowed, second.from_fallback) == (False, True)
    assert second.retry_after == 60


def rejections(scope: str) -> float:
    """`gpubroker_rate_limit_rejections_total{scope}` now (from the counter: no database here)."""
    samples = [sample for family in RATE_LIMIT_REJECTIONS.collect() for sample in family.samples]
    return next(
        (s.value for s in samples if s.name.endswith("_total") and s.labels == {"scope": scope}),
        0.0,
    )


def test_each_refusal_is_counted_under_the_refusing_rule_scope() -> None:
    before = {scope: rejections(scope) for scope in ("tenant", "ip_minute")}
    rules = [Rule("tenant:9", 1, 10, scope="tenant"), Rule("ip:10.0.0.1", 3, 60, scope="ip_minute")]
    assert limiter.hit(rules).allowed is True
    assert limiter.hit(rules).scope == "tenant"
    assert limiter.hit(rules).allowed is False
    assert rejections("tenant") == before["tenant"] + 2
    # The fourth hit exceeds both; the minute window frees up last, so it is the one reported.
    refused = limiter.hit(rules)
    assert refused.scope == "ip_minute"
    assert rejections("ip_minute") == before["ip_minute"] + 1
    assert rejections("tenant") == before["tenant"] + 2
