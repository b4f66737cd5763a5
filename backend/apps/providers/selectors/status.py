"""Reads of provider health: freshness of each provider's data and sync statistics.

`/providers/status`, the listing's warnings and stale flags, and the provider KPIs all read
provider health here. Which sync attempts count (`sync_runs_counted`) and the uptime formula
(`uptime_pct`) are defined once, for the status page and the KPIs alike, and so are a
provider's interval (`sync_interval_for`) and its next sync (`next_sync_at`), which the ingest
loop schedules by and the status page shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Max, Min, Q, QuerySet
from django.utils import timezone

from apps.providers.models import LISTED, PROVIDER_DISABLED, GPUOffer, Provider, ProviderSyncRun
from apps.providers.selectors.quarantine import QuarantinedName, quarantined_gpu_names

# A provider is stale when its last successful sync is older than this many sync intervals.
STALE_AFTER_INTERVALS = 2
# Uptime and latency are measured over this window of sync attempts.
SYNC_STATS_WINDOW = timedelta(days=7)
# Attempts that say nothing about the provider's health (our own missing configuration).
NOT_PROVIDER_FAULTS = ("not_configured",)


@dataclass(frozen=True)
class ProviderFreshness:
    """A provider row plus what the listing needs to know about how current its data is."""

    id: uuid.UUID
    name: str
    display_name: str
    status: str
    last_sync_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    breaker_state: str
    breaker_open_until: datetime | None
    sync_interval_seconds: int
    next_sync_at: datetime | None
    quarantined_names: list[str]
    price_source: str
    #: How old a price may be before its offer is stale (settings, per provider or source).
    price_max_age_seconds: int
    age_seconds: float | None
    is_stale: bool
    is_breaker_open: bool
    is_down: bool

    def warning(self) -> str | None:
        """One human-readable line when the provider's offers should not be trusted as current."""
        if self.status == PROVIDER_DISABLED:
            return f"{self.name}: disabled by an operator; its offers are not listed"
        if self.is_down:
            return (
                f"{self.name}: provider is down (status {self.status}, circuit breaker "
                f"{self.breaker_state}); its offers are the last known ones"
            )
        if self.is_stale:
            if self.last_success_at is None:
                return f"{self.name}: no successful sync yet; offers may be missing or outdated"
            return (
                f"{self.name}: offers are stale (last successful sync "
                f"{self.last_success_at.isoformat()}, expected every "
                f"{self.sync_interval_seconds} s)"
            )
        return None


def price_max_age_seconds(name: str, price_source: str) -> int:
    """Seconds a price of this provider stays fresh after its `price_as_of`.

    PROVIDER_PRICE_MAX_AGE_SECONDS[name] when set, else the budget of the provider's price
    source (PROVIDER_PRICE_MAX_AGE_BY_SOURCE: "api" marketplaces minutes, "manual" lists days).
    """
    by_name: Mapping[str, int] = settings.PROVIDER_PRICE_MAX_AGE_SECONDS
    by_source: Mapping[str, int] = settings.PROVIDER_PRICE_MAX_AGE_BY_SOURCE
    if name in by_name:
        return int(by_name[name])
    return int(by_source.get(price_source, by_source["api"]))


def sync_interval_for(provider: Provider) -> int:
    """Seconds between two syncs of `provider` (no query).

    The operator's value on the row (the console's `sync_interval_seconds`) if set; else, with
    the demo market on, its round (`GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS`); else the
    provider's setting (`PROVIDER_SYNC_INTERVALS`, from `<NAME>_SYNC_INTERVAL_SECONDS`), else
    `PROVIDER_SYNC_INTERVAL_SECONDS`.
    """
    if provider.sync_interval_seconds:
        return int(provider.sync_interval_seconds)
    if settings.GPUBROKER_DEMO_MARKET and settings.GPUBROKER_PROVIDER_MODE == "replay":
        return int(settings.GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS)
    intervals: Mapping[str, int] = settings.PROVIDER_SYNC_INTERVALS
    return int(intervals.get(provider.name, settings.PROVIDER_SYNC_INTERVAL_SECONDS))


def next_sync_at(provider: Provider, *, interval_seconds: int) -> datetime | None:
    """When the ingest loop syncs `provider` next; None while it is disabled (no query).

    One interval after its last attempt (`last_sync_at`, whatever the outcome), or its
    registration when it was never attempted (due at once); while its circuit breaker is open,
    not before the breaker's half-open time (`breaker_open_until`). A time in the past means
    due now, or overdue when no ingest process is running.
    """
    if provider.is_disabled:
        return None
    if provider.last_sync_at is None:
        due = provider.created_at
    else:
        due = provider.last_sync_at + timedelta(seconds=interval_seconds)
    if provider.breaker_state == "open" and provider.breaker_open_until is not None:
        due = max(due, provider.breaker_open_until)
    return due


def provider_freshness(provider: Provider, now: datetime) -> ProviderFreshness:
    """How current one provider's data is at `now` (no query: the row holds everything)."""
    interval = sync_interval_for(provider)
    age = None
    if provider.last_success_at is not None:
        age = max(0.0, (now - provider.last_success_at).total_seconds())
    is_breaker_open = provider.breaker_state == "open"
    return ProviderFreshness(
        id=provider.id,
        name=provider.name,
        display_name=provider.display_name,
        status=provider.status,
        last_sync_at=provider.last_sync_at,
        last_success_at=provider.last_success_at,
        error_count=provider.error_count,
        breaker_state=provider.breaker_state,
        breaker_open_until=provider.breaker_open_until,
        sync_interval_seconds=interval,
        next_sync_at=next_sync_at(provider, interval_seconds=interval),
        quarantined_names=list(provider.quarantined_names),
        price_source=provider.price_source,
        price_max_age_seconds=price_max_age_seconds(provider.name, provider.price_source),
        age_seconds=age,
        is_stale=age is None or age > STALE_AFTER_INTERVALS * interval,
        is_breaker_open=is_breaker_open,
        is_down=is_breaker_open or provider.status in ("error", "circuit_open"),
    )


def provider_freshness_list(*, now: datetime | None = None) -> list[ProviderFreshness]:
    """Every provider with its freshness, by name (one query)."""
    moment = now or timezone.now()
    return [provider_freshness(p, moment) for p in Provider.objects.order_by("name")]


@dataclass(frozen=True)
class SyncRunStats:
    """A provider's sync attempts, successes, uptime % and mean fetch latency (ms) over a window."""

    attempts: int
    successes: int
    uptime_pct: float | None
    avg_fetch_latency_ms: float | None


def sync_runs_counted(
    *, since: datetime, provider_id: uuid.UUID | None = None
) -> QuerySet[ProviderSyncRun]:
    """Sync attempts since `since` that say something about the provider's health.

    Attempts that failed for our own configuration (NOT_PROVIDER_FAULTS) are not the
    provider's fault and are left out of every uptime and latency figure.
    """
    runs = ProviderSyncRun.objects.filter(started_at__gte=since).exclude(
        error_kind__in=NOT_PROVIDER_FAULTS
    )
    if provider_id is not None:
        runs = runs.filter(provider_id=provider_id)
    return runs


SYNC_RUN_AGGREGATES: Mapping[str, Any] = {
    "attempts": Count("id"),
    "successes": Count("id", filter=Q(is_success=True)),
    "latency": Avg("fetch_latency_ms"),
}


def uptime_pct(*, successes: int, attempts: int) -> float | None:
    """Uptime in percent: successful attempts / attempts x 100; None with no attempt."""
    return 100.0 * successes / attempts if attempts else None


def sync_run_stats(
    *, since: datetime, provider_id: uuid.UUID | None = None
) -> dict[uuid.UUID, SyncRunStats]:
    """Per provider: sync attempts since `since`, successes, uptime % and mean fetch latency.

    Over `sync_runs_counted`; latency = mean fetch_latency_ms of the attempts that have one
    (failed fetches included: a timeout is the latency users would see). One query.
    """
    rows: Iterable[Mapping[str, Any]] = (
        sync_runs_counted(since=since, provider_id=provider_id)
        .values("provider_id")
        .annotate(**SYNC_RUN_AGGREGATES)
    )
    return {
        row["provider_id"]: SyncRunStats(
            attempts=row["attempts"],
            successes=row["successes"],
            uptime_pct=uptime_pct(successes=row["successes"], attempts=row["attempts"]),
            avg_fetch_latency_ms=row["latency"],
        )
        for row in rows
    }


@dataclass(frozen=True)
class ProviderStatus:
    """One provider's freshness, offer counts (all, listed, quarantined) and sync statistics.

    `quarantined_gpus`: its unknown GPU strings with counts and the reason each is refused
    (`selectors.quarantine.QuarantinedName`), most offers first.
    """

    freshness: ProviderFreshness
    offer_count: int
    listed_offer_count: int
    quarantined_offer_count: int
    sync: SyncRunStats
    quarantined_gpus: tuple[QuarantinedName, ...] = ()
    #: Oldest and newest `price_as_of` of the provider's listed offers (None without offers).
    oldest_price_as_of: datetime | None = None
    newest_price_as_of: datetime | None = None
    #: What the last successful sync skipped: records, list elements, counts by reason.
    last_sync: LastSync | None = None


@dataclass(frozen=True)
class LastSync:
    """The skips of a provider's last successful sync (`ProviderSyncRun`)."""

    started_at: datetime
    offers_seen: int
    offers_skipped: int
    offers_quarantined: int
    elements_skipped: int
    skip_reasons: Mapping[str, int]


def provider_status_list() -> list[ProviderStatus]:
    """Every provider's health, freshness, offer counts, price dates and sync statistics.

    Queries: providers, offer counts with the listed offers' oldest and newest
    `price_as_of`, sync statistics, each provider's last successful sync, and the quarantine
    (each unknown GPU string with its offer count and reason).
    """
    now = timezone.now()
    freshness = provider_freshness_list(now=now)
    counts: dict[uuid.UUID, Mapping[str, Any]] = {
        row["provider_id"]: row
        for row in GPUOffer.objects.values("provider_id").annotate(
            total=Count("id"),
            listed=Count("id", filter=LISTED),
            oldest=Min("price_as_of", filter=LISTED),
            newest=Max("price_as_of", filter=LISTED),
        )
    }
    last_runs = {
        run.provider_id: LastSync(
            started_at=run.started_at,
            offers_seen=run.offers_seen,
            offers_skipped=run.offers_skipped,
            offers_quarantined=run.offers_quarantined,
            elements_skipped=run.elements_skipped,
            skip_reasons=run.skip_reasons or {},
        )
        for run in ProviderSyncRun.objects.filter(is_success=True)
        .order_by("provider_id", "-started_at")
        .distinct("provider_id")
    }
    stats = sync_run_stats(since=now - SYNC_STATS_WINDOW)
    empty_stats = SyncRunStats(0, 0, None, None)
    quarantined: dict[uuid.UUID, list[QuarantinedName]] = {}
    for name in quarantined_gpu_names():
        quarantined.setdefault(name.provider_id, []).append(name)
    result = []
    for provider in freshness:
        row = counts.get(provider.id, {"total": 0, "listed": 0, "oldest": None, "newest": None})
        result.append(
            ProviderStatus(
                freshness=provider,
                offer_count=row["total"],
                listed_offer_count=row["listed"],
                quarantined_offer_count=row["total"] - row["listed"],
                sync=stats.get(provider.id, empty_stats),
                oldest_price_as_of=row["oldest"],
                newest_price_as_of=row["newest"],
                last_sync=last_runs.get(provider.id),
                quarantined_gpus=tuple(quarantined.get(provider.id, ())),
            )
        )
    return result


def offer_is_stale(
    *,
    is_stale: bool,
    provider: ProviderFreshness | None,
    price_as_of: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether the listing flags an offer stale.

    Stale: the offer was not seen in its provider's last sync, or its provider is stale (no
    success within STALE_AFTER_INTERVALS intervals) or its circuit breaker is open, or its
    price is older than the provider's price budget (`now - price_as_of >
    provider.price_max_age_seconds`, e.g. a manual list dated months ago).
    """
    if is_stale or provider is None or provider.is_stale or provider.is_breaker_open:
        return True
    return price_is_dated(price_as_of=price_as_of, provider=provider, now=now)


def price_is_dated(
    *, price_as_of: datetime | None, provider: ProviderFreshness, now: datetime | None = None
) -> bool:
    """True when a price's time is older than its provider's budget (seconds, settings)."""
    if price_as_of is None:
        return False
    age = ((now or timezone.now()) - price_as_of).total_seconds()
    return age > provider.price_max_age_seconds
