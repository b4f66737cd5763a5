"""KPIs over the market: SQL aggregates over offers, sync records and price history.

"The market" is `providers.selectors.offers.offers_in_market()`: every offer a buyer could
take now (a canonical GPU, not unavailable, not stale, priced above zero in USD), the same set
the WebSocket snapshot sends. Every price, count and cost figure below is over that set;
`price_per_hour` is the whole instance's price in USD/hour. Uptime and latency come from
`providers.selectors.status.sync_runs_counted` over SYNC_STATS_WINDOW. Per-offer and per-GPU
costs: `apps.gpus.kpis.offer_kpis` (docs/kpi-formulas.md). Every function is a handful of
aggregate queries, whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet, StdDev
from django.db.models.functions import TruncDay
from django.utils import timezone

from algorithms.price_analytics import price_trend
from apps.gpus.errors import GpuNotFound
from apps.gpus.kpis import offer_kpis
from apps.gpus.query import gpu_query
from apps.providers.errors import ProviderNotFound
from apps.providers.models import Availability, GPUOffer, PriceHistory, Provider
from apps.providers.selectors.costs import cost_per_token_expression
from apps.providers.selectors.offers import (
    MARKET_CURRENCY,
    offers_in_market,
    price_per_gpu_expression,
)
from apps.providers.selectors.status import (
    SYNC_RUN_AGGREGATES,
    SYNC_STATS_WINDOW,
    provider_freshness,
    sync_run_stats,
    sync_runs_counted,
    uptime_pct,
)

TREND_DAYS = 7


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Overview:
    """`kpi_overview`'s figures: USD per token, %, ms, counts, USD per GPU-hour."""

    cost_per_token: float | None
    uptime_pct: float | None
    avg_latency_ms: float | None
    active_providers: int
    total_offers: int
    avg_price_per_hour: float | None
    generated_at: datetime


@dataclass(frozen=True)
class GpuKpis:
    """`kpi_gpu_get`'s figures: prices in USD per GPU-hour, USD per token / GFLOP.

    avg/min/max_price_per_hour are per GPU (an 8-GPU instance counts at its price / 8), so 1x
    and 8x offers average to what one GPU costs; avg_price_per_gpu_hour repeats the mean.
    """

    gpu_type: str
    gpu_models: list[str]
    provider: str | None
    offer_count: int
    avg_price_per_hour: float | None
    min_price_per_hour: float | None
    max_price_per_hour: float | None
    avg_price_per_gpu_hour: float | None
    tokens_per_second_per_gpu: float | None
    cost_per_token: float | None
    cost_per_gflop: float | None


@dataclass(frozen=True)
class ProviderKpis:
    """`kpi_provider_get`'s figures: freshness, prices per GPU-hour (USD), volatility, %, ms."""

    provider: str
    display_name: str
    status: str
    breaker_state: str
    stale: bool
    last_sync_at: datetime | None
    last_success_at: datetime | None
    total_offers: int
    gpu_models: int
    avg_price_per_hour: float | None
    min_price_per_hour: float | None
    max_price_per_hour: float | None
    price_volatility: float | None
    uptime_percentage: float | None
    avg_latency_ms: float | None
    sync_attempts: int


@dataclass(frozen=True)
class OfferSummary:
    """One market offer in the insights: its price (USD/hour) and price per GPU-hour."""

    id: str
    provider: str
    gpu: str
    gpu_count: int | None
    price_per_hour: float
    price_per_gpu_hour: float
    region: str
    availability: str


@dataclass(frozen=True)
class DailyPrice:
    """One UTC day of the trend: mean price per GPU-hour (USD) over its observations."""

    date: str
    avg_price_per_gpu_hour: float
    observations: int


@dataclass(frozen=True)
class MarketTrend:
    """Least-squares trend of the daily means: direction, % change, USD per GPU-hour per day."""

    direction: str | None
    percent_change: float | None
    slope_per_day: float | None
    daily: list[DailyPrice]


@dataclass(frozen=True)
class MarketInsights:
    """`kpi_market_insights`'s figures."""

    total_providers: int
    total_offers: int
    cheapest_gpu_offer: OfferSummary | None
    most_expensive_gpu_offer: OfferSummary | None
    avg_market_price: float | None
    price_trend_7d: MarketTrend
    generated_at: datetime


def kpi_overview(*, now: datetime | None = None) -> Overview:
    """Mean cost per token and price per GPU-hour of the market, providers, sync uptime/latency.

    `active_providers`: providers with at least one market offer whose status is "active"
    and whose circuit breaker is not open. Uptime and latency over the SYNC_STATS_WINDOW
    before `now` (default: the current time). Three queries.
    """
    moment = now or timezone.now()
    healthy = Q(provider__status="active") & ~Q(provider__breaker_state="open")
    market = offers_in_market().aggregate(
        total=Count("id"),
        avg_price=Avg("price_per_gpu_hour"),
        avg_cost_per_token=Avg(cost_per_token_expression()),
        active=Count("provider_id", distinct=True, filter=healthy),
    )
    runs = sync_runs_counted(since=moment - SYNC_STATS_WINDOW).aggregate(**SYNC_RUN_AGGREGATES)
    return Overview(
        cost_per_token=market["avg_cost_per_token"],
        uptime_pct=uptime_pct(successes=runs["successes"], attempts=runs["attempts"]),
        avg_latency_ms=runs["latency"],
        active_providers=market["active"],
        total_offers=market["total"],
        avg_price_per_hour=_number(market["avg_price"]),
        generated_at=moment,
    )


def kpi_gpu_get(*, gpu_type: str, provider_name: str | None = None) -> GpuKpis:
    """Prices and costs of the GPUs `gpu_type` names, optionally at one provider.

    `gpu_type` is read by `apps.gpus.query.gpu_query`, as the listing reads `gpu=`: a family
    (`h100`) covers every variant (SXM, PCIe, NVL, variant-free), a variant (`H100 SXM`) that
    variant, text the grammar cannot read the canonical names containing it (`4090`: RTX
    4090); `gpu_type` in the answer is the model or family it named, `gpu_models` every model
    counted. cost_per_token / cost_per_gflop are `offer_kpis` of one GPU at the mean price per
    GPU-hour of each model (the default cost basis: Llama 3.1 8B fp16 at the serving batch;
    None when one GPU cannot hold it), averaged over the offers when several models count
    (each cost is linear in the price, so this is the mean over offers).

    Raises:
        GpuNotFound, ProviderNotFound: (404, details `{"field": ...}`) for text that names no
            catalogue GPU, or an unknown provider.
    """
    query = gpu_query(gpu_type)
    models = query.catalogue_models()
    if not models:
        raise GpuNotFound(f"gpu_type: unknown GPU {gpu_type!r}", details={"field": "gpu_type"})
    offers = offers_in_market().filter(gpu_model__in=sorted(models))
    provider = None
    if provider_name is not None:
        provider = _provider(provider_name)
        offers = offers.filter(provider=provider)
    stats = offers.aggregate(
        count=Count("id"),
        avg=Avg("price_per_gpu_hour"),
        low=Min("price_per_gpu_hour"),
        high=Max("price_per_gpu_hour"),
    )
    per_gpu = _number(stats["avg"])
    if len(models) == 1:
        (only,) = models
        kpis = offer_kpis(price_per_hour=per_gpu, gpu_model=only, gpu_count=1)
        costs = (kpis.tokens_per_second, kpis.cost_per_token, kpis.cost_per_gflop)
    else:
        costs = _costs_over_models(offers)
    return GpuKpis(
        gpu_type=query.label,
        gpu_models=sorted(models),
        provider=provider.name if provider else None,
        offer_count=stats["count"],
        avg_price_per_hour=_number(stats["avg"]),
        min_price_per_hour=_number(stats["low"]),
        max_price_per_hour=_number(stats["high"]),
        avg_price_per_gpu_hour=per_gpu,
        tokens_per_second_per_gpu=costs[0],
        cost_per_token=costs[1],
        cost_per_gflop=costs[2],
    )


def _costs_over_models(
    offers: QuerySet[GPUOffer],
) -> tuple[float | None, float | None, float | None]:
    """Offer-weighted means of one GPU's tokens/s, USD/token and USD/GFLOP over the models."""
    per_model = offers.values("gpu_model").annotate(
        count=Count("id"), per_gpu=Avg("price_per_gpu_hour")
    )
    sums = [0.0, 0.0, 0.0]
    weights = [0, 0, 0]
    for row in per_model:
        kpis = offer_kpis(
            price_per_hour=_number(row["per_gpu"]), gpu_model=row["gpu_model"], gpu_count=1
        )
        for i, value in enumerate(
            (kpis.tokens_per_second, kpis.cost_per_token, kpis.cost_per_gflop)
        ):
            if value is not None:
                sums[i] += value * row["count"]
                weights[i] += row["count"]
    tokens, token_cost, gflop_cost = (
        total / weight if weight else None for total, weight in zip(sums, weights, strict=True)
    )
    return tokens, token_cost, gflop_cost


def kpi_provider_get(*, provider_name: str, now: datetime | None = None) -> ProviderKpis:
    """A provider's market offers, prices per GPU-hour and their dispersion, uptime, latency.

    price_volatility = sample standard deviation / mean of its market offers' prices per GPU.

    Raises:
        ProviderNotFound: (404, details `{"field": "provider"}`) for an unknown provider.
    """
    moment = now or timezone.now()
    provider = _provider(provider_name)
    stats = (
        offers_in_market()
        .filter(provider=provider)
        .aggregate(
            count=Count("id"),
            models=Count("gpu_model", distinct=True),
            avg=Avg("price_per_gpu_hour"),
            low=Min("price_per_gpu_hour"),
            high=Max("price_per_gpu_hour"),
            stdev=StdDev("price_per_gpu_hour", sample=True),
        )
    )
    run = sync_run_stats(since=moment - SYNC_STATS_WINDOW, provider_id=provider.id).get(provider.id)
    freshness = provider_freshness(provider, moment)
    mean = _number(stats["avg"])
    stdev = _number(stats["stdev"])
    return ProviderKpis(
        provider=provider.name,
        display_name=provider.display_name,
        status=provider.status,
        breaker_state=provider.breaker_state,
        stale=freshness.is_stale or freshness.is_breaker_open,
        last_sync_at=provider.last_sync_at,
        last_success_at=provider.last_success_at,
        total_offers=stats["count"],
        gpu_models=stats["models"],
        avg_price_per_hour=mean,
        min_price_per_hour=_number(stats["low"]),
        max_price_per_hour=_number(stats["high"]),
        price_volatility=stdev / mean if stdev is not None and mean else None,
        uptime_percentage=run.uptime_pct if run else None,
        avg_latency_ms=run.avg_fetch_latency_ms if run else None,
        sync_attempts=run.attempts if run else 0,
    )


def kpi_market_insights(*, now: datetime | None = None) -> MarketInsights:
    """Size of the market, cheapest and dearest offers and mean price per GPU-hour, 7-day trend."""
    moment = now or timezone.now()
    market = offers_in_market()
    stats = market.aggregate(
        providers=Count("provider_id", distinct=True),
        total=Count("id"),
        avg=Avg("price_per_gpu_hour"),
    )
    return MarketInsights(
        total_providers=stats["providers"],
        total_offers=stats["total"],
        cheapest_gpu_offer=_summary(market.order_by("price_per_gpu_hour", "id")),
        most_expensive_gpu_offer=_summary(market.order_by("-price_per_gpu_hour", "id")),
        avg_market_price=_number(stats["avg"]),
        price_trend_7d=kpi_price_trend(days=TREND_DAYS, now=moment),
        generated_at=moment,
    )


def kpi_price_trend(*, days: int, now: datetime | None = None) -> MarketTrend:
    """Least-squares trend of the daily mean price per GPU-hour over price_history.

    Observations of listed offers in MARKET_CURRENCY from the `days` days before `now` (a
    price recorded when an offer went unavailable is not a price anyone could pay and is left
    out), averaged per UTC day in SQL; the trend is `algorithms.price_analytics.price_trend`
    over those daily points (USD per GPU-hour per day).
    """
    moment = now or timezone.now()
    rows = list(
        PriceHistory.objects.filter(
            recorded_at__gte=moment - timedelta(days=days),
            recorded_at__lte=moment,
            offer__gpu_model__isnull=False,
            offer__currency=MARKET_CURRENCY,
            price_per_hour__gt=0,
        )
        .exclude(availability_status=Availability.UNAVAILABLE)
        .annotate(day=TruncDay("recorded_at"))
        .values("day")
        .annotate(mean=Avg(price_per_gpu_expression("offer__")), observations=Count("id"))
        .order_by("day")
    )
    daily = [
        DailyPrice(
            date=row["day"].date().isoformat(),
            avg_price_per_gpu_hour=float(row["mean"]),
            observations=row["observations"],
        )
        for row in rows
    ]
    trend = price_trend([(row["day"].timestamp(), float(row["mean"])) for row in rows])
    return MarketTrend(
        direction=trend.direction,
        percent_change=trend.percent_change,
        slope_per_day=trend.slope_per_day,
        daily=daily,
    )


def _provider(name: str) -> Provider:
    provider = Provider.objects.filter(name__iexact=name.strip()).first()
    if provider is None:
        raise ProviderNotFound(
            f"provider: unknown provider {name!r}", details={"field": "provider"}
        )
    return provider


def _summary(offers: QuerySet[GPUOffer]) -> OfferSummary | None:
    row = (
        offers.annotate(per_gpu=F("price_per_gpu_hour"))
        .values(
            "id",
            "provider__name",
            "gpu_model",
            "gpu_count",
            "price_per_hour",
            "per_gpu",
            "region",
            "availability_status",
        )
        .first()
    )
    if row is None:
        return None
    return OfferSummary(
        id=str(row["id"]),
        provider=row["provider__name"],
        gpu=str(row["gpu_model"]),
        gpu_count=row["gpu_count"],
        price_per_hour=float(row["price_per_hour"]),
        price_per_gpu_hour=float(row["per_gpu"]),
        region=row["region"],
        availability=row["availability_status"],
    )
