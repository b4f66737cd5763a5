"""The write half of a sync: one successful fetch, or one failed attempt, into the database.

`offers_apply` writes a whole batch in one transaction (offers, history rows, gone offers,
provider status and the sync-run record) and registers events and cache invalidation after
commit; `sync_failure_record` records a failed attempt. `sync.provider_sync` orchestrates both.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from apps.providers.adapters.contract import FetchResult, count_reason
from apps.providers.cache import listing_cache_invalidate
from apps.providers.events import price_payloads_publish_after_commit, price_update_json
from apps.providers.models import (
    PROVIDER_ACTIVE,
    PROVIDER_DISABLED,
    Provider,
    ProviderSyncRun,
)
from apps.providers.services.demo_market import (
    DemoMarket,
    PreviousState,
    demo_history_backfill,
    demo_rows_drift,
)
from apps.providers.services.normalise import OfferRejected, OfferRow, offer_row
from apps.providers.services.upsert import (
    GoneOffer,
    OfferChange,
    bulk_cursor,
    offers_gone_changes,
    offers_stage,
    offers_upsert_changes,
    price_history_backfill_insert,
    price_history_write,
)
from gpubroker.core.events import after_commit

logger = logging.getLogger(__name__)

SyncStatus = Literal["ok", "failed", "circuit_open", "locked", "not_configured", "disabled"]
QUARANTINE_SAMPLE = 20


@dataclass(frozen=True)
class SyncResult:
    """What one sync attempt did: counts, fetch latency (ms), the error, the published updates."""

    provider: str
    status: SyncStatus
    offers_seen: int = 0
    offers_inserted: int = 0
    offers_changed: int = 0
    offers_gone: int = 0
    offers_skipped: int = 0
    offers_quarantined: int = 0
    #: Elements of lists inside records that were not offers (an empty location, say).
    elements_skipped: int = 0
    #: Every skip (records, elements, rejected offers) counted by reason.
    skip_reasons: dict[str, int] = field(default_factory=dict)
    fetch_latency_ms: float | None = None
    error: str = ""
    #: AdapterError.kind of a failed fetch and whether a retry can help.
    error_kind: str = ""
    retryable: bool | None = None
    #: The demo market's round number when its simulated drift was applied (replay only).
    demo_round: int | None = None
    #: The price updates published after commit (PriceUpdate JSON, `PriceUpdate.parse` reads
    #: them): new and changed offers, then offers gone from available or limited.
    published: list[str] = field(default_factory=list, repr=False, compare=False)


def _health_status(status: str) -> Case:
    """SQL setting the provider's health `status`, except over an operator's "disabled".

    An operator may disable the provider while its sync is under way; the sync's write must not
    switch it back on.
    """
    return Case(
        When(status=PROVIDER_DISABLED, then=Value(PROVIDER_DISABLED)),
        default=Value(status),
    )


def _normalise(
    fetch: FetchResult, now: datetime
) -> tuple[dict[str, OfferRow], int, dict[str, int]]:
    """Rows by external id, the count of rejected offers, and every skip counted by reason."""
    rows: dict[str, OfferRow] = {}
    reasons: Counter[str] = Counter(fetch.skip_reasons)
    rejected = 0
    for offer in fetch.offers:
        try:
            rows[offer.external_id] = offer_row(offer, fetched_at=now)
        except OfferRejected as exc:
            rejected += 1
            count_reason(reasons, f"rejected: {exc}")
            logger.info("offer rejected: %s", exc, extra={"external_id": offer.external_id[:80]})
    return rows, rejected, dict(reasons)


def _demo_previous(provider: Provider) -> dict[str, PreviousState]:
    """What the previous round stored for each of the provider's offers that is not stale."""
    return {
        external_id: PreviousState(price, availability)
        for external_id, price, availability in provider.offers.filter(is_stale=False)
        .values_list("external_id", "price_per_hour", "availability_status")
        .iterator(chunk_size=5000)
    }


def _events(
    provider: str, changes: list[OfferChange], gone: list[GoneOffer], now: datetime
) -> list[str]:
    """The updates to publish, as PriceUpdate JSON.

    One per new or changed offer, then one per offer gone from available or limited; built
    from the rows' values by `price_update_json` (no PriceUpdate object each), same messages.
    """
    at = now.isoformat()
    as_of_text: dict[datetime, str] = {}
    events = []
    for change in changes:
        as_of = change.price_as_of
        if as_of is not None and as_of not in as_of_text:
            as_of_text[as_of] = as_of.isoformat()
        count = change.gpu_count
        events.append(
            price_update_json(
                (
                    change.offer_id,
                    provider,
                    change.gpu_type,
                    change.region,
                    change.old_price,
                    change.new_price,
                    change.availability,
                    at,
                    None if as_of is None else as_of_text[as_of],
                    change.spot_price,
                    round(change.new_price / count, 6) if count else None,
                    *change[10:15],
                )
            )
        )
    events.extend(
        price_update_json(
            (
                offer.offer_id,
                provider,
                offer.gpu_type,
                offer.region,
                offer.price,
                offer.price,
                "unavailable",
                at,
                None,
                offer.spot_price,
                None,
                *offer[6:11],
            )
        )
        for offer in gone
        if offer.was_available
    )
    return events


def offers_apply(
    *,
    provider: Provider,
    fetch: FetchResult,
    fetch_latency_ms: float,
    now: datetime,
    demo: DemoMarket | None = None,
) -> SyncResult:
    """Write one successful fetch in a single transaction (see the module docstring).

    The rows are COPYed into a temporary table and upserted in one statement, the provider's
    missing offers are marked gone in another and the history of every change is written in a
    third (`services.upsert`); the events are published after commit in one Redis pipeline.
    With `demo`, the normalised offers first get the demo market's simulated drift (round
    number: this provider's earlier successful syncs) and new offers a simulated past week of
    history; see `demo_market`.
    """
    rows, rejected, skip_reasons = _normalise(fetch, now)
    skipped = fetch.skipped + rejected
    quarantined = sorted({r.gpu_name_raw for r in rows.values() if r.gpu_model is None})
    demo_round: int | None = None
    with transaction.atomic():
        if demo is not None:
            demo_round = ProviderSyncRun.objects.filter(provider=provider, is_success=True).count()
            rows = demo_rows_drift(
                rows,
                previous=_demo_previous(provider),
                round_number=demo_round,
                market=demo,
                provider=provider.name,
            )
        backfill: list[tuple[uuid.UUID, datetime, Decimal, str]] = []
        with bulk_cursor() as cursor:
            offers_stage(cursor, rows=rows.values())
            changes = offers_upsert_changes(
                cursor,
                provider_id=provider.id,
                compliance_tags=list(provider.compliance_tags),
                now=now,
            )
            gone = offers_gone_changes(cursor, provider_id=provider.id, now=now)
            price_history_write(cursor, now=now)
            inserted = sum(1 for change in changes if change.inserted)
            if demo is not None:
                for change in changes:
                    if change.inserted:
                        offer_id = uuid.UUID(change.offer_id)
                        backfill.extend(
                            (offer_id, at, price, availability)
                            for at, price, availability in demo_history_backfill(
                                rows[change.external_id],
                                market=demo,
                                provider=provider.name,
                                now=now,
                            )
                        )
                price_history_backfill_insert(cursor, entries=backfill)
        events = _events(provider.name, changes, gone, now)
        Provider.objects.filter(pk=provider.pk).update(
            last_sync_at=now,
            last_success_at=now,
            error_count=0,
            last_error=None,
            status=_health_status(PROVIDER_ACTIVE),
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
            elements_skipped=fetch.elements_skipped,
            skip_reasons=skip_reasons,
        )
        if events or gone:
            price_payloads_publish_after_commit(events)
            after_commit(listing_cache_invalidate)
    if backfill:
        logger.info(
            "demo market: simulated price history backfilled",
            extra={
                "provider": provider.name,
                "demo_market": True,
                "offers": inserted,
                "history_points": len(backfill),
                "days": demo.backfill_days if demo else None,
            },
        )
    return SyncResult(
        provider=provider.name,
        status="ok",
        offers_seen=len(rows),
        offers_inserted=inserted,
        offers_changed=len(events),
        offers_gone=len(gone),
        offers_skipped=skipped,
        offers_quarantined=sum(1 for r in rows.values() if r.gpu_model is None),
        elements_skipped=fetch.elements_skipped,
        skip_reasons=skip_reasons,
        fetch_latency_ms=fetch_latency_ms,
        demo_round=demo_round,
        published=events,
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
            status=_health_status("circuit_open" if kind == "circuit_open" else "error"),
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
