"""Reads of the marketplace: the offer listing, one offer, its price history, provider status.

Every function here is keyword-only and read-only. The listing costs a bounded number of
queries whatever the data size: providers (a handful of rows), the page, and the count (skipped
or cached when it can be). KPIs per offer come from `gpu_kpi_inputs()`, a small per-process map
of the canonical GPUs (one query every `GPU_KPI_INPUTS_TTL_SECONDS`), never a query per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from algorithms.price_analytics import PriceStatistics, price_statistics
from apps.gpus.catalogue import all_gpus
from apps.gpus.kpis import (
    GpuKpiInputs,
    OfferKpis,
    gpu_kpi_inputs,
    gpu_kpi_inputs_reset,
    offer_kpis,
    token_cost_factors,
)
from apps.providers.cache import (
    LISTING_PREFIX,
    listing_cache_get,
    listing_cache_key,
    listing_cache_set,
)
from apps.providers.models import GPUOffer, PriceHistory, Provider, ProviderSyncRun
from gpubroker.core.errors import NotFound

OfferSort = Literal["price", "-price", "gpu_memory", "cost_per_token", "updated"]
HistoryWindow = Literal["24h", "7d", "30d"]

HISTORY_WINDOWS: Mapping[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
# A provider is stale when its last successful sync is older than this many sync intervals.
STALE_AFTER_INTERVALS = 2
# Uptime and latency are measured over this window of sync attempts.
SYNC_STATS_WINDOW = timedelta(days=7)
# Attempts that say nothing about the provider's health (our own missing configuration).
NOT_PROVIDER_FAULTS = ("not_configured",)

_SORT_ORDER: Mapping[str, tuple[Any, ...]] = {
    "price": (F("price_per_hour").asc(), F("id").asc()),
    "-price": (F("price_per_hour").desc(), F("id").asc()),
    "gpu_memory": (F("gpu_memory_gb").desc(), F("id").asc()),
    "cost_per_token": (F("cost_per_token").asc(nulls_last=True), F("id").asc()),
    "updated": (F("updated_at").desc(), F("id").asc()),
}
_ITEM_COLUMNS = (
    "id",
    "provider_id",
    "gpu_type",
    "gpu_model",
    "gpu_memory_gb",
    "price_per_hour",
    "currency",
    "availability_status",
    "region",
    "compliance_tags",
    "updated_at",
    "gpu_count",
    "cpu_cores",
    "ram_gb",
    "storage_gb",
    "spot_pricing",
    "is_stale",
)


def cost_per_token_expression() -> Case:
    """SQL for an offer's cost_per_token in USD/token, `offer_kpis`'s figure (NULL when unknown).

    price_per_hour / replicas x the GPU's `token_cost_factors` entry (USD per token at 1 USD/h):
    the formula stays in `algorithms.kpi`. A CASE over the ~40 canonical models instead of a
    join: gpu_offers has no foreign key to gpu_benchmarks, the factors come from the same
    per-process map the items use (so order and figures agree), and PostgreSQL evaluates it only
    over rows that already passed the filters.
    """
    factors = [
        When(gpu_model=gpu_model, then=Value(factor))
        for gpu_model, factor in token_cost_factors().items()
    ]
    factor = Case(*factors, default=Value(None), output_field=FloatField())
    replicas = Coalesce(NullIf(F("gpu_count"), Value(0)), Value(1))
    return Case(
        When(
            price_per_hour__gt=0,
            then=Cast("price_per_hour", FloatField()) / replicas * factor,
        ),
        default=Value(None),
        output_field=FloatField(),
    )


# ---- provider freshness ------------------------------------------------------------------------


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
    quarantined_names: list[str]
    price_source: str
    age_seconds: float | None
    is_stale: bool
    is_breaker_open: bool
    is_down: bool

    def warning(self) -> str | None:
        """One human-readable line when the provider's offers should not be trusted as current."""
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


def _freshness(provider: Provider, now: datetime) -> ProviderFreshness:
    interval = provider.sync_interval_seconds or settings.PROVIDER_SYNC_INTERVAL_SECONDS
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
        quarantined_names=list(provider.quarantined_names),
        price_source=provider.price_source,
        age_seconds=age,
        is_stale=age is None or age > STALE_AFTER_INTERVALS * interval,
        is_breaker_open=is_breaker_open,
        is_down=is_breaker_open or provider.status in ("error", "circuit_open"),
    )


def provider_freshness_list(*, now: datetime | None = None) -> list[ProviderFreshness]:
    """Every provider with its freshness, by name (one query)."""
    moment = now or timezone.now()
    return [_freshness(p, moment) for p in Provider.objects.order_by("name")]


# ---- listing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferQuery:
    """Validated listing parameters (see schemas.OfferFilterIn for their meaning)."""

    gpu: str | None = None
    gpu_type: str | None = None
    region: str | None = None
    provider: str | None = None
    availability: str | None = None
    compliance_tag: str | None = None
    gpu_memory_min: int | None = None
    gpu_memory_max: int | None = None
    price_min: Decimal | None = None
    max_price: Decimal | None = None
    gpu_count_min: int | None = None
    spot: bool | None = None
    sort: OfferSort = "price"
    page: int = 1
    per_page: int = 20

    def filter_params(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in ("sort", "page", "per_page") and value is not None
        }

    def cache_params(self) -> dict[str, Any]:
        return {**self.filter_params(), "sort": self.sort, "page": self.page, "per": self.per_page}


@dataclass(frozen=True)
class OfferPage:
    """`items` are plain dicts with the response keys of schemas.OfferOut."""

    total: int
    items: list[dict[str, Any]]
    warnings: list[str]


RAW_NAMES_CACHE_KEY = LISTING_PREFIX + "raw-names"
# A loose index scan over offers_gpu_raw_idx: one index probe per distinct name (a few hundred)
# instead of reading every offer. Quarantined offers' names may appear; the listing's
# `gpu_model IS NOT NULL` filter drops their rows anyway.
_DISTINCT_RAW_NAMES_SQL = """
WITH RECURSIVE names(name) AS (
    (SELECT gpu_name_raw FROM gpu_offers WHERE gpu_name_raw IS NOT NULL
     ORDER BY gpu_name_raw LIMIT 1)
    UNION ALL
    SELECT (SELECT o.gpu_name_raw FROM gpu_offers o WHERE o.gpu_name_raw > names.name
            ORDER BY o.gpu_name_raw LIMIT 1)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL
"""


def listed_raw_names() -> list[str]:
    """Distinct provider GPU strings of listed offers (a few hundred).

    Kept in the listing cache (same TTL, dropped by ingestion's invalidation with the pages),
    so a name seen by the last sync is searchable as soon as the listing itself is fresh.
    """
    cached = listing_cache_get(RAW_NAMES_CACHE_KEY)
    if isinstance(cached, list):
        return cached
    with connection.cursor() as cursor:
        cursor.execute(_DISTINCT_RAW_NAMES_SQL)
        names = [row[0] for row in cursor.fetchall()]
    listing_cache_set(RAW_NAMES_CACHE_KEY, names, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS)
    return names


def gpu_names_matching(needle: str) -> tuple[list[str], list[str]]:
    """Canonical models and raw provider names containing `needle`, case-insensitively.

    Substring matching happens here over ~40 catalogue names and a few hundred distinct raw
    names, so the database filters with equality on indexed columns instead of scanning every
    offer with `UPPER(column) LIKE '%needle%'`. For listed offers gpu_type is the canonical
    model, so matching gpu_model is matching gpu_type.
    """
    folded = needle.casefold()
    models = [gpu.gpu_model for gpu in all_gpus() if folded in gpu.gpu_model.casefold()]
    raw_names = [name for name in listed_raw_names() if folded in name.casefold()]
    return models, raw_names


def offer_filter(*, query: OfferQuery, provider_ids: Sequence[uuid.UUID] | None) -> QuerySet[Any]:
    """Listed offers (canonical GPU known) matching every filter of `query`, AND-combined.

    GPU substrings compare UPPER(column) LIKE '%VALUE%', the expression of the trigram GIN
    indexes (offers_gpu_type_trgm / offers_gpu_raw_trgm); gpu_type holds the canonical name
    for every listed offer. `provider_ids` is the already resolved `provider` filter.
    """
    offers = GPUOffer.objects.filter(gpu_model__isnull=False)
    for needle in (query.gpu, query.gpu_type):
        if needle:
            models, raw_names = gpu_names_matching(needle)
            offers = offers.filter(Q(gpu_model__in=models) | Q(gpu_name_raw__in=raw_names))
    if query.region:
        offers = offers.filter(Q(region__iexact=query.region) | Q(country__iexact=query.region))
    if provider_ids is not None:
        offers = offers.filter(provider_id__in=provider_ids)
    if query.availability:
        offers = offers.filter(availability_status=query.availability)
    if query.compliance_tag:
        offers = offers.filter(compliance_tags__contains=[query.compliance_tag])
    if query.gpu_memory_min is not None:
        offers = offers.filter(gpu_memory_gb__gte=query.gpu_memory_min)
    if query.gpu_memory_max is not None:
        offers = offers.filter(gpu_memory_gb__lte=query.gpu_memory_max)
    if query.price_min is not None:
        offers = offers.filter(price_per_hour__gte=query.price_min)
    if query.max_price is not None:
        offers = offers.filter(price_per_hour__lte=query.max_price)
    if query.gpu_count_min is not None:
        offers = offers.filter(gpu_count__gte=query.gpu_count_min)
    if query.spot is not None:
        offers = offers.filter(spot_pricing=query.spot)
    return offers


def offer_list(*, query: OfferQuery) -> OfferPage:
    """One page of the listing, its total and the providers' freshness.

    Queries: providers (1), the page (1), the count (1, skipped when the first page is not full
    and cached per filter set for the listing TTL), plus the GPU KPI map once per process TTL.
    A page past the end is empty with the correct total.
    """
    freshness = provider_freshness_list()
    by_id = {p.id: p for p in freshness}
    provider_ids = None
    relevant = freshness
    if query.provider is not None:
        wanted = query.provider.lower()
        relevant = [p for p in freshness if p.name.lower() == wanted]
        provider_ids = [p.id for p in relevant]
    warnings = [w for w in (p.warning() for p in relevant) if w]
    if provider_ids == []:
        return OfferPage(total=0, items=[], warnings=warnings)

    offers = offer_filter(query=query, provider_ids=provider_ids)
    if query.sort == "cost_per_token":
        offers = offers.annotate(cost_per_token=cost_per_token_expression())
    offset = (query.page - 1) * query.per_page
    rows = list(
        offers.order_by(*_sort_order(query)).values(*_ITEM_COLUMNS)[
            offset : offset + query.per_page
        ]
    )
    if query.page == 1 and len(rows) < query.per_page:
        total = len(rows)
    else:
        total = _cached_count(offers, query)
    items = [offer_item(row, by_id.get(row["provider_id"])) for row in rows]
    return OfferPage(total=total, items=items, warnings=warnings)


def _sort_order(query: OfferQuery) -> tuple[Any, ...]:
    """ORDER BY for the page query.

    With a GPU filter the matching rows are found through the gpu_model / gpu_name_raw indexes
    and then sorted; walking the price index instead (what the planner picks for a LIMIT when it
    underestimates how far the cheapest match lies, e.g. H100s among cheaper cards) scanned
    tens of thousands of rows. `price_per_hour + 0` keeps the same order without offering the
    planner that index.
    """
    if (query.gpu or query.gpu_type) and query.sort in ("price", "-price"):
        price = ExpressionWrapper(F("price_per_hour") + 0, output_field=DecimalField())
        first = price.asc() if query.sort == "price" else price.desc()
        return (first, F("id").asc())
    return _SORT_ORDER[query.sort]


def _cached_count(offers: QuerySet[Any], query: OfferQuery) -> int:
    # Under the listing prefix, so ingestion's invalidation drops counts with the pages.
    key = listing_cache_key({**query.filter_params(), "kind": "count"})
    cached = listing_cache_get(key)
    if isinstance(cached, int):
        return cached
    total = offers.count()
    listing_cache_set(key, total, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS)
    return total


def offer_is_stale(*, is_stale: bool, provider: ProviderFreshness | None) -> bool:
    """Stale: the offer was not seen in its provider's last sync, or its provider is stale (no
    success within STALE_AFTER_INTERVALS intervals) or its circuit breaker is open."""
    return bool(is_stale or provider is None or provider.is_stale or provider.is_breaker_open)


def offer_item(row: Mapping[str, Any], provider: ProviderFreshness | None) -> dict[str, Any]:
    """One listing item (v1 keys first, then v2's) from a row of _ITEM_COLUMNS."""
    kpis = offer_kpis(
        price_per_hour=row["price_per_hour"],
        gpu_model=row["gpu_model"],
        gpu_count=row["gpu_count"],
    )
    count = row["gpu_count"] or 1
    return {
        "id": row["id"],
        "provider": provider.name if provider else None,
        "name": f"{count}x {row['gpu_type']}" if count > 1 else row["gpu_type"],
        "gpu": row["gpu_model"],
        "gpu_memory_gb": row["gpu_memory_gb"],
        "price_per_hour": row["price_per_hour"],
        "currency": row["currency"],
        "availability": row["availability_status"],
        "region": row["region"],
        "tags": row["compliance_tags"],
        "last_updated": row["updated_at"],
        "gpu_count": row["gpu_count"],
        "cpu_cores": row["cpu_cores"],
        "ram_gb": row["ram_gb"],
        "storage_gb": row["storage_gb"],
        "spot": row["spot_pricing"],
        "cost_per_token": kpis.cost_per_token,
        "cost_per_gflop": kpis.cost_per_gflop,
        "stale": offer_is_stale(is_stale=row["is_stale"], provider=provider),
    }


# ---- one offer and its history -----------------------------------------------------------------


@dataclass(frozen=True)
class OfferDetail:
    offer: GPUOffer
    provider: ProviderFreshness
    kpis: OfferKpis
    is_stale: bool


def offer_get(*, offer_id: uuid.UUID) -> OfferDetail:
    """A listed offer with its KPIs and its provider's freshness; NotFound otherwise."""
    offer = (
        GPUOffer.objects.select_related("provider")
        .filter(id=offer_id, gpu_model__isnull=False)
        .first()
    )
    if offer is None:
        raise NotFound("Offer not found", details={"offer_id": str(offer_id)})
    provider = _freshness(offer.provider, timezone.now())
    kpis = offer_kpis(
        price_per_hour=offer.price_per_hour, gpu_model=offer.gpu_model, gpu_count=offer.gpu_count
    )
    stale = offer_is_stale(is_stale=offer.is_stale, provider=provider)
    return OfferDetail(offer=offer, provider=provider, kpis=kpis, is_stale=stale)


@dataclass(frozen=True)
class PriceHistoryPoint:
    timestamp: datetime
    price_per_hour: Decimal
    availability: str | None


@dataclass(frozen=True)
class OfferPriceHistory:
    offer_id: uuid.UUID
    window: str
    start: datetime
    end: datetime
    points: list[PriceHistoryPoint]
    statistics: PriceStatistics


def offer_price_history(*, offer_id: uuid.UUID, window: HistoryWindow) -> OfferPriceHistory:
    """Price observations of a listed offer in the window, with statistics over them.

    History rows are written on change only, so the price in force when the window opened (the
    last observation before it) is carried in as a point at the window's start; without it an
    offer whose price never changed would have no points at all.
    """
    if not GPUOffer.objects.filter(id=offer_id, gpu_model__isnull=False).exists():
        raise NotFound("Offer not found", details={"offer_id": str(offer_id)})
    end = timezone.now()
    start = end - HISTORY_WINDOWS[window]
    history = PriceHistory.objects.filter(offer_id=offer_id)
    columns = ("recorded_at", "price_per_hour", "availability_status")
    inside = list(
        history.filter(recorded_at__gte=start, recorded_at__lte=end)
        .order_by("recorded_at", "id")
        .values_list(*columns)
    )
    before = history.filter(recorded_at__lt=start).order_by("-recorded_at", "-id")
    carried = before.values_list(*columns).first()
    points = [PriceHistoryPoint(at, price, status) for at, price, status in inside]
    if carried is not None:
        points.insert(0, PriceHistoryPoint(start, carried[1], carried[2]))
    statistics = price_statistics(
        [(p.timestamp.timestamp(), float(p.price_per_hour)) for p in points]
    )
    return OfferPriceHistory(
        offer_id=offer_id, window=window, start=start, end=end, points=points, statistics=statistics
    )


# ---- provider status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRunStats:
    attempts: int
    successes: int
    uptime_pct: float | None
    avg_fetch_latency_ms: float | None


def sync_run_stats(
    *, since: datetime, provider_id: uuid.UUID | None = None
) -> dict[uuid.UUID, SyncRunStats]:
    """Per provider: sync attempts since `since`, successes, uptime % and mean fetch latency.

    Uptime = successful attempts / attempts (attempts that failed for our own configuration are
    not the provider's fault and are left out); latency = mean fetch_latency_ms of the attempts
    that have one (failed fetches included: a timeout is the latency users would see).
    """
    runs = ProviderSyncRun.objects.filter(started_at__gte=since).exclude(
        error_kind__in=NOT_PROVIDER_FAULTS
    )
    if provider_id is not None:
        runs = runs.filter(provider_id=provider_id)
    rows = runs.values("provider_id").annotate(
        attempts=Count("id"),
        successes=Count("id", filter=Q(is_success=True)),
        latency=Avg("fetch_latency_ms"),
    )
    return {
        row["provider_id"]: SyncRunStats(
            attempts=row["attempts"],
            successes=row["successes"],
            uptime_pct=100.0 * row["successes"] / row["attempts"] if row["attempts"] else None,
            avg_fetch_latency_ms=row["latency"],
        )
        for row in rows
    }


@dataclass(frozen=True)
class ProviderStatus:
    freshness: ProviderFreshness
    offer_count: int
    listed_offer_count: int
    quarantined_offer_count: int
    sync: SyncRunStats


def provider_status_list() -> list[ProviderStatus]:
    """Every provider's health, freshness, offer counts and sync statistics (three queries)."""
    now = timezone.now()
    freshness = provider_freshness_list(now=now)
    counts = {
        row["provider_id"]: row
        for row in GPUOffer.objects.values("provider_id").annotate(
            total=Count("id"),
            listed=Count("id", filter=Q(gpu_model__isnull=False)),
        )
    }
    stats = sync_run_stats(since=now - SYNC_STATS_WINDOW)
    empty_stats = SyncRunStats(0, 0, None, None)
    result = []
    for provider in freshness:
        row = counts.get(provider.id, {"total": 0, "listed": 0})
        result.append(
            ProviderStatus(
                freshness=provider,
                offer_count=row["total"],
                listed_offer_count=row["listed"],
                quarantined_offer_count=row["total"] - row["listed"],
                sync=stats.get(provider.id, empty_stats),
            )
        )
    return result


def offers_by_ids(*, offer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, GPUOffer]:
    """Offers (with their provider) for the given ids; missing ids are simply absent."""
    wanted = set(offer_ids)
    if not wanted:
        return {}
    return {
        offer.id: offer
        for offer in GPUOffer.objects.select_related("provider").filter(id__in=wanted)
    }


__all__ = [
    "GpuKpiInputs",
    "OfferDetail",
    "OfferKpis",
    "OfferPage",
    "OfferPriceHistory",
    "OfferQuery",
    "ProviderFreshness",
    "ProviderStatus",
    "SyncRunStats",
    "cost_per_token_expression",
    "gpu_kpi_inputs",
    "gpu_kpi_inputs_reset",
    "offer_filter",
    "offer_get",
    "offer_is_stale",
    "offer_item",
    "offer_kpis",
    "offer_list",
    "offer_price_history",
    "offers_by_ids",
    "provider_freshness_list",
    "provider_status_list",
    "sync_run_stats",
]
