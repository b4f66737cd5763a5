"""KPIs over the market: SQL aggregates over offers, sync records and price history.

"The market" is every offer a buyer could take now: a canonical GPU (quarantined names are
excluded), not unavailable, seen in its provider's last successful sync (not `is_stale`), priced
above zero in USD. Every price, count and cost figure below is over that set; `price_per_hour`
is the whole instance's price as listed. Uptime and latency come from `provider_sync_runs`
over `SYNC_STATS_WINDOW` (see apps.providers.selectors.sync_run_stats). Formulas for the
per-offer costs: docs/kpi-formulas.md and apps.providers.selectors.offer_kpis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    StdDev,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, TruncDay
from django.utils import timezone

from algorithms import kpi as kpi_math
from algorithms.price_analytics import PriceTrend, price_trend
from apps.gpus.kpis import GpuKpiInputs, gpu_kpi_inputs
from apps.gpus.selectors import gpu_resolve
from apps.providers.models import Availability, GPUOffer, PriceHistory, Provider, ProviderSyncRun
from apps.providers.selectors.offers import cost_per_token_expression
from apps.providers.selectors.status import (
    NOT_PROVIDER_FAULTS,
    SYNC_STATS_WINDOW,
    provider_freshness_list,
    sync_run_stats,
)
from gpubroker.core.errors import NotFound

MARKET_CURRENCY = "USD"
TREND_DAYS = 7


def market_offers() -> QuerySet[GPUOffer]:
    """The offers every KPI is computed over (see the module docstring)."""
    return GPUOffer.objects.filter(
        gpu_model__isnull=False,
        is_stale=False,
        currency=MARKET_CURRENCY,
        price_per_hour__gt=0,
    ).exclude(availability_status=Availability.UNAVAILABLE)


def _price_per_gpu() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("price_per_hour") / Coalesce(NullIf(F("gpu_count"), Value(0)), Value(1)),
        output_field=DecimalField(max_digits=14, decimal_places=8),
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Overview:
    cost_per_token: float | None
    uptime_pct: float | None
    avg_latency_ms: float | None
    active_providers: int
    total_offers: int
    avg_price_per_hour: float | None
    generated_at: datetime


@dataclass(frozen=True)
class GpuKpis:
    gpu_type: str
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
    date: str
    avg_price_per_gpu_hour: float
    observations: int


@dataclass(frozen=True)
class MarketTrend:
    direction: str | None
    percent_change: float | None
    slope_per_day: float | None
    daily: list[DailyPrice]


@dataclass(frozen=True)
class MarketInsights:
    total_providers: int
    total_offers: int
    cheapest_gpu_offer: OfferSummary | None
    most_expensive_gpu_offer: OfferSummary | None
    avg_market_price: float | None
    price_trend_7d: MarketTrend
    generated_at: datetime


class KPIEngine:
    """Market KPIs; every method is a handful of aggregate queries, whatever the data size."""

    def __init__(self, *, now: datetime | None = None) -> None:
        self.now = now or timezone.now()

    # -- overview ---------------------------------------------------------------------------

    def overview(self) -> Overview:
        """Mean cost per token and price of the market, active providers, sync uptime/latency.

        `active_providers`: providers with at least one market offer whose status is "active"
        and whose circuit breaker is not open.
        """
        healthy = Q(provider__status="active") & ~Q(provider__breaker_state="open")
        market = market_offers().aggregate(
            total=Count("id"),
            avg_price=Avg("price_per_hour"),
            avg_cost_per_token=Avg(cost_per_token_expression()),
            active=Count("provider_id", distinct=True, filter=healthy),
        )
        runs = self._sync_runs().aggregate(
            attempts=Count("id"),
            successes=Count("id", filter=Q(is_success=True)),
            latency=Avg("fetch_latency_ms"),
        )
        uptime = 100.0 * runs["successes"] / runs["attempts"] if runs["attempts"] else None
        return Overview(
            cost_per_token=market["avg_cost_per_token"],
            uptime_pct=uptime,
            avg_latency_ms=runs["latency"],
            active_providers=market["active"],
            total_offers=market["total"],
            avg_price_per_hour=_number(market["avg_price"]),
            generated_at=self.now,
        )

    def calculate_cost_per_token(
        self, *, price_per_gpu_hour: float | None, inputs: GpuKpiInputs
    ) -> float | None:
        """Cost per token of one GPU at a price per GPU-hour (7B fp16, batch 1)."""
        if not price_per_gpu_hour or price_per_gpu_hour <= 0 or not inputs.tokens_per_second:
            return None
        return kpi_math.cost_per_token(
            price_per_hour=price_per_gpu_hour, tokens_per_second=inputs.tokens_per_second
        ).cost_per_token

    def calculate_cost_per_gflop(
        self, *, price_per_gpu_hour: float | None, inputs: GpuKpiInputs
    ) -> float | None:
        """Cost per GFLOP at one GPU's fp32 peak and a price per GPU-hour."""
        if not price_per_gpu_hour or price_per_gpu_hour <= 0 or not inputs.tflops_fp32:
            return None
        return kpi_math.cost_per_gflop(
            price_per_hour=price_per_gpu_hour, tflops=inputs.tflops_fp32
        ).cost_per_gflop

    # -- one GPU ----------------------------------------------------------------------------

    def gpu(self, *, gpu_type: str, provider_name: str | None = None) -> GpuKpis:
        """Prices and costs of one canonical GPU (name or alias), optionally at one provider.

        cost_per_token / cost_per_gflop are the means over the offers of each offer's own
        figure (an n-GPU offer is n replicas), i.e. the per-GPU costs at the mean price per
        GPU-hour. NotFound for an unknown GPU or provider.
        """
        resolved = gpu_resolve(name=gpu_type)
        if resolved is None:
            raise NotFound(f"gpu_type: unknown GPU {gpu_type!r}", details={"field": "gpu_type"})
        gpu_model = resolved.gpu.gpu_model
        offers = market_offers().filter(gpu_model=gpu_model)
        provider = None
        if provider_name is not None:
            provider = self._provider(provider_name)
            offers = offers.filter(provider=provider)
        stats = offers.aggregate(
            count=Count("id"),
            avg=Avg("price_per_hour"),
            low=Min("price_per_hour"),
            high=Max("price_per_hour"),
            per_gpu=Avg(_price_per_gpu()),
        )
        inputs = gpu_kpi_inputs().get(gpu_model, GpuKpiInputs(None, None))
        per_gpu = _number(stats["per_gpu"])
        return GpuKpis(
            gpu_type=gpu_model,
            provider=provider.name if provider else None,
            offer_count=stats["count"],
            avg_price_per_hour=_number(stats["avg"]),
            min_price_per_hour=_number(stats["low"]),
            max_price_per_hour=_number(stats["high"]),
            avg_price_per_gpu_hour=per_gpu,
            tokens_per_second_per_gpu=inputs.tokens_per_second,
            cost_per_token=self.calculate_cost_per_token(price_per_gpu_hour=per_gpu, inputs=inputs),
            cost_per_gflop=self.calculate_cost_per_gflop(price_per_gpu_hour=per_gpu, inputs=inputs),
        )

    # -- one provider -----------------------------------------------------------------------

    def provider(self, *, provider_name: str) -> ProviderKpis:
        """A provider's market share of offers, prices and their dispersion, uptime, latency.

        price_volatility = sample standard deviation / mean of its market offers' prices.
        """
        provider = self._provider(provider_name)
        stats = (
            market_offers()
            .filter(provider=provider)
            .aggregate(
                count=Count("id"),
                models=Count("gpu_model", distinct=True),
                avg=Avg("price_per_hour"),
                low=Min("price_per_hour"),
                high=Max("price_per_hour"),
                stdev=StdDev("price_per_hour", sample=True),
            )
        )
        runs = sync_run_stats(since=self.now - SYNC_STATS_WINDOW, provider_id=provider.id)
        run = runs.get(provider.id)
        freshness = next(p for p in provider_freshness_list(now=self.now) if p.id == provider.id)
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

    # -- market insights --------------------------------------------------------------------

    def market_insights(self) -> MarketInsights:
        """Size of the market, its cheapest and dearest offers, mean price and 7-day trend."""
        market = market_offers()
        stats = market.aggregate(
            providers=Count("provider_id", distinct=True),
            total=Count("id"),
            avg=Avg("price_per_hour"),
        )
        return MarketInsights(
            total_providers=stats["providers"],
            total_offers=stats["total"],
            cheapest_gpu_offer=self._summary(market.order_by("price_per_hour", "id")),
            most_expensive_gpu_offer=self._summary(market.order_by("-price_per_hour", "id")),
            avg_market_price=_number(stats["avg"]),
            price_trend_7d=self.price_trend(days=TREND_DAYS),
            generated_at=self.now,
        )

    def price_trend(self, *, days: int) -> MarketTrend:
        """Least-squares trend of the daily mean price per GPU-hour over price_history.

        Observations of listed offers in USD from the last `days` days (a price recorded when
        an offer went unavailable is not a price anyone could pay and is left out), averaged
        per UTC day in SQL; the trend is math_core's `price_trend` over those daily points.
        """
        since = self.now - timedelta(days=days)
        per_gpu = ExpressionWrapper(
            F("price_per_hour") / Coalesce(NullIf(F("offer__gpu_count"), Value(0)), Value(1)),
            output_field=DecimalField(max_digits=14, decimal_places=8),
        )
        rows = list(
            PriceHistory.objects.filter(
                recorded_at__gte=since,
                recorded_at__lte=self.now,
                offer__gpu_model__isnull=False,
                offer__currency=MARKET_CURRENCY,
                price_per_hour__gt=0,
            )
            .exclude(availability_status=Availability.UNAVAILABLE)
            .annotate(day=TruncDay("recorded_at"))
            .values("day")
            .annotate(mean=Avg(per_gpu), observations=Count("id"))
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
        trend: PriceTrend = price_trend(
            [(row["day"].timestamp(), float(row["mean"])) for row in rows]
        )
        return MarketTrend(
            direction=trend.direction,
            percent_change=trend.percent_change,
            slope_per_day=trend.slope_per_day,
            daily=daily,
        )

    # -- helpers ----------------------------------------------------------------------------

    def _sync_runs(self) -> QuerySet[ProviderSyncRun]:
        return ProviderSyncRun.objects.filter(started_at__gte=self.now - SYNC_STATS_WINDOW).exclude(
            error_kind__in=NOT_PROVIDER_FAULTS
        )

    @staticmethod
    def _provider(name: str) -> Provider:
        provider = Provider.objects.filter(name__iexact=name.strip()).first()
        if provider is None:
            raise NotFound(f"provider: unknown provider {name!r}", details={"field": "provider"})
        return provider

    @staticmethod
    def _summary(offers: QuerySet[GPUOffer]) -> OfferSummary | None:
        row = (
            offers.annotate(per_gpu=_price_per_gpu())
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
