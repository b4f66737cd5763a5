"""Ingestion: fetch a provider's offers, normalise, upsert with price history, publish changes.

`provider_sync` is the one entry point (the `sync_providers` command and tests call it). Per
provider it holds a PostgreSQL advisory lock so several ingestion processes never do the same
work, calls the adapter through the provider's circuit breaker, and writes the whole batch in
one transaction: offers, history rows, gone offers, provider status and the sync-run record.
Events and cache invalidation are registered after commit.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.providers.adapters.base import (
    AdapterError,
    Credentials,
    FetchResult,
    ProviderAdapter,
)
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import build_client, replay_credentials
from apps.providers.cache import listing_cache_invalidate
from apps.providers.circuit_breaker import BreakerRegistry, CircuitBreaker, CircuitOpenError
from apps.providers.models import Provider, ProviderSyncRun
from apps.providers.services.normalise import OfferRejected, OfferRow, offer_row, row_values
from apps.providers.services.upsert import (
    bulk_cursor,
    offers_bulk_upsert,
    offers_mark_gone,
    price_history_bulk_insert,
)
from gpubroker.core.events import PRICE_UPDATES_CHANNEL, after_commit, publish_now

logger = logging.getLogger(__name__)

SyncStatus = Literal["ok", "failed", "circuit_open", "locked", "not_configured"]
QUARANTINE_SAMPLE = 20


def _counts_as_outage(exc: Exception) -> bool:
    # A bad key or a malformed payload is not an outage: retrying cannot help, so it must not
    # trip the breaker that protects an overloaded provider.
    return not isinstance(exc, AdapterError) or exc.retryable


breakers = BreakerRegistry(counts_as_failure=_counts_as_outage)


@dataclass(frozen=True)
class SyncResult:
    provider: str
    status: SyncStatus
    offers_seen: int = 0
    offers_inserted: int = 0
    offers_changed: int = 0
    offers_gone: int = 0
    offers_skipped: int = 0
    offers_quarantined: int = 0
    fetch_latency_ms: float | None = None
    error: str = ""
    events: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)


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
            "sync_interval_seconds": settings.PROVIDER_SYNC_INTERVAL_SECONDS,
        },
    )
    if created:
        logger.info("provider registered", extra={"provider": provider.name})
    return provider


def platform_credentials(provider_name: str) -> Credentials | None:
    """Credentials ingestion uses for a provider: placeholders in replay, settings in live."""
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
    return build_client(settings.GPUBROKER_PROVIDER_MODE, settings.PROVIDER_FIXTURES_DIR)


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


def _event(
    *,
    offer_id: uuid.UUID,
    provider: str,
    gpu: str,
    region: str,
    old_price: Decimal | None,
    new_price: Decimal,
    availability: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "offer_id": str(offer_id),
        "provider": provider,
        "gpu": gpu,
        "region": region,
        "old_price": None if old_price is None else float(old_price),
        "new_price": float(new_price),
        "availability_status": availability,
        "timestamp": now.isoformat(),
    }


def _normalise(fetch: FetchResult) -> tuple[dict[str, OfferRow], int]:
    rows: dict[str, OfferRow] = {}
    rejected = 0
    for offer in fetch.offers:
        try:
            rows[offer.external_id] = offer_row(offer)
        except OfferRejected as exc:
            rejected += 1
            logger.info("offer rejected: %s", exc, extra={"external_id": offer.external_id[:80]})
    return rows, rejected


def offers_apply(
    *,
    provider: Provider,
    fetch: FetchResult,
    fetch_latency_ms: float,
    now: datetime,
) -> SyncResult:
    """Write one successful fetch in a single transaction (see the module docstring)."""
    rows, rejected = _normalise(fetch)
    skipped = fetch.skipped + rejected
    quarantined = sorted({r.gpu_name_raw for r in rows.values() if r.gpu_model is None})
    with transaction.atomic():
        existing = {
            external_id: (offer_id, price, availability, is_stale, gpu_type, region)
            for external_id, offer_id, price, availability, is_stale, gpu_type, region in (
                provider.offers.select_for_update()
                .values_list(
                    "external_id",
                    "id",
                    "price_per_hour",
                    "availability_status",
                    "is_stale",
                    "gpu_type",
                    "region",
                )
                .iterator(chunk_size=5000)
            )
        }
        values: list[dict[str, Any]] = []
        history: list[tuple[uuid.UUID, Decimal, str]] = []
        events: list[dict[str, Any]] = []
        inserted = 0
        for external_id, row in rows.items():
            known = existing.get(external_id)
            offer_id = known[0] if known else uuid.uuid4()
            values.append(row_values(row, offer_id=offer_id, provider_id=provider.id, now=now))
            if known is None:
                inserted += 1
            elif known[1] == row.price_per_hour and known[2] == row.availability_status:
                continue
            history.append((offer_id, row.price_per_hour, row.availability_status))
            events.append(
                _event(
                    offer_id=offer_id,
                    provider=provider.name,
                    gpu=row.gpu_type,
                    region=row.region,
                    old_price=known[1] if known else None,
                    new_price=row.price_per_hour,
                    availability=row.availability_status,
                    now=now,
                )
            )
        gone_ids: list[uuid.UUID] = []
        for external_id, (
            offer_id,
            price,
            availability,
            is_stale,
            gpu_type,
            region,
        ) in existing.items():
            if external_id in rows or (availability == "unavailable" and is_stale):
                continue
            gone_ids.append(offer_id)
            if availability != "unavailable":
                history.append((offer_id, price, "unavailable"))
                events.append(
                    _event(
                        offer_id=offer_id,
                        provider=provider.name,
                        gpu=gpu_type,
                        region=region,
                        old_price=price,
                        new_price=price,
                        availability="unavailable",
                        now=now,
                    )
                )
        with bulk_cursor() as cursor:
            offers_bulk_upsert(
                cursor,
                rows=values,
                provider_id=provider.id,
                compliance_tags=list(provider.compliance_tags),
                now=now,
            )
            offers_mark_gone(cursor, offer_ids=gone_ids, now=now)
            price_history_bulk_insert(cursor, entries=history, now=now)
        Provider.objects.filter(pk=provider.pk).update(
            last_sync_at=now,
            last_success_at=now,
            error_count=0,
            last_error=None,
            status="active",
            quarantined_names=quarantined[:QUARANTINE_SAMPLE],
        )
        ProviderSyncRun.objects.create(
            provider=provider,
            started_at=now,
            finished_at=timezone.now(),
            is_success=True,
            fetch_latency_ms=fetch_latency_ms,
            offers_seen=len(rows),
            offers_changed=len(events),
            offers_skipped=skipped,
            offers_quarantined=sum(1 for r in rows.values() if r.gpu_model is None),
        )
        if events or gone_ids:
            after_commit(
                lambda: publish_now(PRICE_UPDATES_CHANNEL, events),
                listing_cache_invalidate,
            )
    return SyncResult(
        provider=provider.name,
        status="ok",
        offers_seen=len(rows),
        offers_inserted=inserted,
        offers_changed=len(events),
        offers_gone=len(gone_ids),
        offers_skipped=skipped,
        offers_quarantined=sum(1 for r in rows.values() if r.gpu_model is None),
        fetch_latency_ms=fetch_latency_ms,
        events=events,
    )


def sync_failure_record(
    *,
    provider: Provider,
    kind: str,
    message: str,
    fetch_latency_ms: float | None,
    now: datetime,
) -> None:
    """Record a failed attempt; the provider's last good offers stay as they are."""
    with transaction.atomic():
        Provider.objects.filter(pk=provider.pk).update(
            last_sync_at=now,
            error_count=F("error_count") + 1,
            last_error=message[:2000],
            status="circuit_open" if kind == "circuit_open" else "error",
        )
        ProviderSyncRun.objects.create(
            provider=provider,
            started_at=now,
            finished_at=timezone.now(),
            is_success=False,
            fetch_latency_ms=fetch_latency_ms,
            error_kind=kind[:32],
            error_message=message[:2000],
        )
    after_commit(listing_cache_invalidate)


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


async def _refused(
    provider: Provider, status: SyncStatus, message: str, now: datetime
) -> SyncResult:
    """Record an attempt that never reached the provider (no credentials, open circuit)."""
    await sync_to_async(sync_failure_record)(
        provider=provider, kind=status, message=message, fetch_latency_ms=None, now=now
    )
    return SyncResult(provider=provider.name, status=status, error=message)


async def provider_sync_async(
    *,
    provider_name: str,
    client: httpx.AsyncClient | None = None,
    credentials: Credentials | None = None,
    breaker_registry: BreakerRegistry | None = None,
) -> SyncResult:
    """Sync one provider. Never raises for provider faults: the result says what happened.

    Raises `UnknownProviderError` for a name with no adapter.
    """
    adapter_class = default_registry.get_adapter(provider_name)
    provider = await sync_to_async(provider_ensure)(adapter_class=adapter_class)
    if not await sync_to_async(_try_lock)(provider_name):
        return SyncResult(provider=provider_name, status="locked")
    breaker = (breaker_registry or breakers).get(provider_name)
    own_client = client is None
    http = client or provider_http_client()
    now = timezone.now()
    try:
        creds = credentials or platform_credentials(provider_name)
        if adapter_class.requires_credentials and creds is None:
            message = f"{provider_name}: no platform credentials configured for live ingestion"
            return await _refused(provider, "not_configured", message, now)
        adapter = adapter_class(http)
        started = time.perf_counter()
        try:
            fetch = await breaker.call(adapter.fetch_offers, creds)
        except CircuitOpenError as exc:
            message = f"{provider_name}: circuit open, retry in {exc.retry_after:.0f}s"
            return await _refused(provider, "circuit_open", message, now)
        except AdapterError as exc:
            latency = (time.perf_counter() - started) * 1000
            await sync_to_async(sync_failure_record)(
                provider=provider,
                kind=exc.kind,
                message=exc.message,
                fetch_latency_ms=latency,
                now=now,
            )
            logger.warning(
                "provider sync failed",
                extra={"provider": provider_name, "kind": exc.kind, "retryable": exc.retryable},
            )
            return SyncResult(
                provider=provider_name,
                status="failed",
                fetch_latency_ms=latency,
                error=exc.message,
            )
        latency = (time.perf_counter() - started) * 1000
        result = await sync_to_async(offers_apply)(
            provider=provider, fetch=fetch, fetch_latency_ms=latency, now=now
        )
        logger.info(
            "provider synced",
            extra={
                "provider": provider_name,
                "offers_seen": result.offers_seen,
                "offers_changed": result.offers_changed,
                "offers_skipped": result.offers_skipped,
                "offers_quarantined": result.offers_quarantined,
                "fetch_latency_ms": round(latency, 1),
            },
        )
        return result
    finally:
        await sync_to_async(breaker_state_save)(provider=provider, breaker=breaker)
        await sync_to_async(_unlock)(provider_name)
        if own_client:
            await http.aclose()


def provider_sync(
    *,
    provider_name: str,
    client: httpx.AsyncClient | None = None,
    credentials: Credentials | None = None,
    breaker_registry: BreakerRegistry | None = None,
) -> SyncResult:
    """Synchronous form of `provider_sync_async` for commands and tests."""
    return async_to_sync(provider_sync_async)(
        provider_name=provider_name,
        client=client,
        credentials=credentials,
        breaker_registry=breaker_registry,
    )


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
