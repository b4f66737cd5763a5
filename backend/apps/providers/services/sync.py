"""Ingestion: fetch a provider's offers, normalise, upsert with price history, publish changes.

`provider_sync` is the one entry point (the `sync_providers` command and tests call it). It is
synchronous: only the adapter's HTTP fetch runs in an event loop. Per provider it holds a
PostgreSQL advisory lock so several ingestion processes never do the same
work, calls the adapter through the provider's circuit breaker, and writes the whole batch in
one transaction (`sync_write.offers_apply`): offers, history rows, gone offers, provider status
and the sync-run record. Events and cache invalidation are registered after commit. Every
attempt ends in exactly one log line (`sync_log`).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import AdapterError, Credentials, FetchResult
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import build_client, replay_credentials
from apps.providers.circuit_breaker import BreakerRegistry, CircuitBreaker, CircuitOpenError
from apps.providers.models import Provider
from apps.providers.services.demo_market import demo_market_from_settings
from apps.providers.services.sync_write import (
    QUARANTINE_SAMPLE,
    SyncResult,
    SyncStatus,
    offers_apply,
    sync_failure_record,
)

logger = logging.getLogger(__name__)

__all__ = [
    "QUARANTINE_SAMPLE",
    "SyncResult",
    "SyncStatus",
    "breaker_registry_for",
    "offers_apply",
    "provider_sync",
    "providers_sync_all",
    "sync_failure_record",
]


def _counts_as_outage(exc: Exception) -> bool:
    # A provider that answers garbage (an HTML error page, a truncated or non-JSON body) is out
    # of order as much as one that hangs: five such answers open its breaker, its offers are
    # flagged stale and it is left alone until the half-open trial. A bad key, a 4xx or a
    # configuration error is ours to fix, not an outage: it never trips the breaker.
    if not isinstance(exc, AdapterError):
        return True
    return exc.retryable or exc.kind == "bad_payload"


# A provider's breaker counts failed syncs, and syncs come one per interval. With the
# breaker's own defaults (5 failures within 30 s, open for 60 s) and syncs 300 s apart, no
# provider could ever trip it (bench/faults.py showed a hanging provider called every round).
BREAKER_WINDOW_INTERVALS = 10
BREAKER_RECOVERY_INTERVALS = 2


def breaker_registry_for(*, interval_seconds: float) -> BreakerRegistry:
    """Breakers for syncs `interval_seconds` apart (seconds).

    Five outages within ten intervals open a provider's breaker (a provider failing every
    other sync trips it too); it stays open for two intervals, so the next sync is skipped and
    the one after is the half-open trial.
    """
    return BreakerRegistry(
        counts_as_failure=_counts_as_outage,
        window_seconds=BREAKER_WINDOW_INTERVALS * interval_seconds,
        recovery_seconds=BREAKER_RECOVERY_INTERVALS * interval_seconds,
    )


breakers = breaker_registry_for(interval_seconds=settings.PROVIDER_SYNC_INTERVAL_SECONDS)


# ---- provider rows -----------------------------------------------------------------------------


def provider_ensure(*, adapter_class: type[ProviderAdapter]) -> Provider:
    """The provider row for an adapter, created from the adapter's metadata when missing."""
    provider, created = Provider.objects.get_or_create(
        name=adapter_class.name,
        defaults={
            "display_name": adapter_class.display_name,
            "website_url": adapter_class.website_url,
            "api_base_url": adapter_class.api_base_url,
            "documentation_url": adapter_class.documentation_url,
            "price_source": adapter_class.price_source,
        },
    )
    if created:
        logger.info("provider registered", extra={"provider": provider.name})
    return provider


def platform_credentials(provider_name: str) -> Credentials | None:
    """Credentials ingestion uses: placeholders in replay, settings in live and record."""
    if settings.GPUBROKER_PROVIDER_MODE == "replay":
        return replay_credentials(provider_name)
    if provider_name == "verda":
        if settings.VERDA_CLIENT_ID and settings.VERDA_CLIENT_SECRET:
            return Credentials(
                client_id=settings.VERDA_CLIENT_ID, client_secret=settings.VERDA_CLIENT_SECRET
            )
        return None
    key = settings.PROVIDER_API_KEYS.get(provider_name, "")
    return Credentials(api_key=key) if key else None


def provider_http_client() -> httpx.AsyncClient:
    """The HTTP client of the configured mode (replay, live or record; see `replay`)."""
    return build_client(settings.GPUBROKER_PROVIDER_MODE, settings.GPUBROKER_RECORDINGS_DIR)


# ---- locking -----------------------------------------------------------------------------------


def _lock_key(provider_name: str) -> int:
    # A stable signed 64-bit key per provider (crc32 is stable across processes, hash() is not).
    return (0x6770_7562 << 32) | zlib.crc32(provider_name.encode())


def _try_lock(provider_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(provider_name)])
        return bool(cursor.fetchone()[0])


def _unlock(provider_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(provider_name)])


# ---- applying a fetch --------------------------------------------------------------------------


def breaker_state_save(*, provider: Provider, breaker: CircuitBreaker) -> None:
    """Mirror the in-process breaker into the provider row for every web process to read."""
    snapshot = breaker.snapshot()
    open_until = None
    if snapshot.retry_after:
        open_until = timezone.now() + timedelta(seconds=snapshot.retry_after)
    Provider.objects.filter(pk=provider.pk).update(
        breaker_state=str(snapshot.state), breaker_open_until=open_until
    )


# ---- orchestration -----------------------------------------------------------------------------


def _refused(provider: Provider, status: SyncStatus, message: str, now: datetime) -> SyncResult:
    """Record an attempt that never reached the provider (no credentials, open circuit)."""
    sync_failure_record(
        provider=provider, kind=status, message=message, fetch_latency_ms=None, now=now
    )
    return SyncResult(provider=provider.name, status=status, error=message)


def _fetch(
    adapter_class: type[ProviderAdapter],
    *,
    client: httpx.AsyncClient | None,
    breaker: CircuitBreaker,
    credentials: Credentials | None,
) -> FetchResult:
    """The adapter's fetch through the provider's circuit breaker: the only async step.

    An owned HTTP client is opened and closed inside the same event loop as the fetch.
    Raises whatever `breaker.call` raises (CircuitOpenError, AdapterError).
    """

    async def fetch() -> FetchResult:
        http = client or provider_http_client()
        try:
            return await breaker.call(adapter_class(http).fetch_offers, credentials)
        finally:
            if client is None:
                await http.aclose()

    return async_to_sync(fetch)()


def sync_log(result: SyncResult) -> None:
    """The one log line of a sync attempt, whatever its outcome (JSON through `logging`)."""
    extra: dict[str, Any] = {"provider": result.provider, "status": result.status}
    if result.status == "ok":
        extra.update(
            offers_seen=result.offers_seen,
            offers_inserted=result.offers_inserted,
            offers_changed=result.offers_changed,
            offers_gone=result.offers_gone,
            offers_skipped=result.offers_skipped,
            offers_quarantined=result.offers_quarantined,
            elements_skipped=result.elements_skipped,
            skip_reasons=result.skip_reasons,
            fetch_latency_ms=round(result.fetch_latency_ms or 0.0, 1),
        )
        if result.demo_round is not None:
            # Honest logs: these changes are the demo market's simulation, not a provider's.
            extra.update(demo_market=True, demo_round=result.demo_round)
        logger.info("provider synced", extra=extra)
    elif result.status == "locked":
        logger.info("provider sync skipped: another process holds its lock", extra=extra)
    elif result.status == "disabled":
        logger.info("provider sync skipped: disabled by an operator", extra=extra)
    else:
        extra["error"] = result.error
        if result.error_kind:
            extra.update(kind=result.error_kind, retryable=result.retryable)
        if result.fetch_latency_ms is not None:
            extra["fetch_latency_ms"] = round(result.fetch_latency_ms, 1)
        logger.warning("provider sync failed", extra=extra)


def provider_sync(
    *,
    provider_name: str,
    client: httpx.AsyncClient | None = None,
    credentials: Credentials | None = None,
    breaker_registry: BreakerRegistry | None = None,
) -> SyncResult:
    """Sync one provider; never raises for provider faults.

    The result says what happened, and one log line (`sync_log`) records it. A provider an
    operator disabled is not fetched (status "disabled"; `services/providers.py`).

    Synchronous: the database work runs in the caller's thread and only the adapter's HTTP
    fetch runs in an event loop (`_fetch`). `client` replaces the HTTP client of the mode in
    settings (replay or live), `credentials` the platform credentials, `breaker_registry` the
    process's breakers.

    Raises:
        UnknownProviderError: `provider_name` has no adapter.
    """
    result = _provider_sync(
        provider_name=provider_name,
        client=client,
        credentials=credentials,
        breaker_registry=breaker_registry,
    )
    sync_log(result)
    return result


def _provider_sync(
    *,
    provider_name: str,
    client: httpx.AsyncClient | None,
    credentials: Credentials | None,
    breaker_registry: BreakerRegistry | None,
) -> SyncResult:
    adapter_class = default_registry.get_adapter(provider_name)
    provider = provider_ensure(adapter_class=adapter_class)
    if provider.is_disabled:
        # Before the lock and the fetch: nothing reaches the provider, no run row is written.
        return SyncResult(
            provider=provider_name,
            status="disabled",
            error=f"{provider_name}: disabled by an operator",
        )
    if not _try_lock(provider_name):
        return SyncResult(provider=provider_name, status="locked")
    breaker = (breaker_registry or breakers).get(provider_name)
    now = timezone.now()
    try:
        creds = credentials or platform_credentials(provider_name)
        if adapter_class.requires_credentials and creds is None:
            message = f"{provider_name}: no platform credentials configured for live ingestion"
            return _refused(provider, "not_configured", message, now)
        started = time.perf_counter()
        try:
            fetch = _fetch(adapter_class, client=client, breaker=breaker, credentials=creds)
        except CircuitOpenError as exc:
            message = f"{provider_name}: circuit open, retry in {exc.retry_after:.0f}s"
            return _refused(provider, "circuit_open", message, now)
        except AdapterError as exc:
            latency = (time.perf_counter() - started) * 1000
            sync_failure_record(
                provider=provider,
                kind=exc.kind,
                message=exc.message,
                fetch_latency_ms=latency,
                now=now,
            )
            return SyncResult(
                provider=provider_name,
                status="failed",
                fetch_latency_ms=latency,
                error=exc.message,
                error_kind=exc.kind,
                retryable=exc.retryable,
            )
        latency = (time.perf_counter() - started) * 1000
        return offers_apply(
            provider=provider,
            fetch=fetch,
            fetch_latency_ms=latency,
            now=now,
            demo=demo_market_from_settings(),
        )
    finally:
        breaker_state_save(provider=provider, breaker=breaker)
        _unlock(provider_name)


def providers_sync_all(*, names: list[str] | None = None) -> list[SyncResult]:
    """Sync each provider in turn; one failing never stops the others."""
    results = []
    for name in names or default_registry.list_adapters():
        results.append(provider_sync(provider_name=name))
    return results


def sync_summary(results: list[SyncResult]) -> Mapping[str, int]:
    return {
        "providers": len(results),
        "ok": sum(1 for r in results if r.status == "ok"),
        "offers_seen": sum(r.offers_seen for r in results),
        "offers_changed": sum(r.offers_changed for r in results),
    }
