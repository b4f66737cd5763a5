"""Ninja schemas of the KPI endpoints (SPEC.md "/kpi/*"). Prices are JSON numbers."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

__all__ = [
    "GpuKpisOut",
    "GpuKpisQueryIn",
    "MarketInsightsOut",
    "OverviewOut",
    "ProviderKpisOut",
]


class OverviewOut(Schema):
    """GET /kpi/overview. Prices in USD per GPU-hour, cost per token in USD."""

    cost_per_token: float | None = Field(
        description="Mean cost per token of the market's offers (7B fp16, batch 1)."
    )
    uptime_pct: float | None = Field(description="Successful sync attempts, all providers, 7 days.")
    avg_latency_ms: float | None = Field(description="Mean provider fetch latency, 7 days.")
    active_providers: int
    total_offers: int
    avg_price_per_hour: float | None = Field(
        description="Mean price per GPU-hour of the market's offers (instance price / GPUs)."
    )
    generated_at: datetime


class GpuKpisQueryIn(Schema):
    """Query of GET /kpi/gpu/{gpu_type}: an optional provider name."""

    provider: str | None = Field(None, min_length=1, max_length=100)


class GpuKpisOut(Schema):
    """GET /kpi/gpu/{gpu_type}: the offers of every model the path names (a family: all)."""

    gpu_type: str = Field(description="The model or family the path named (e.g. H100 SXM, H100).")
    gpu_models: list[str] = Field(description="Every canonical model counted.")
    provider: str | None
    offer_count: int
    avg_price_per_hour: float | None = Field(
        description="Mean price per GPU-hour (instance price / GPUs), so 1x and 8x offers compare."
    )
    min_price_per_hour: float | None = Field(description="Lowest price per GPU-hour.")
    max_price_per_hour: float | None = Field(description="Highest price per GPU-hour.")
    avg_price_per_gpu_hour: float | None
    tokens_per_second_per_gpu: float | None
    cost_per_token: float | None
    cost_per_gflop: float | None


class ProviderKpisOut(Schema):
    """GET /kpi/provider/{provider_name}: offers, prices per GPU-hour (USD), uptime %, ms."""

    provider: str
    display_name: str
    status: str
    breaker_state: str
    stale: bool
    last_sync_at: datetime | None
    last_success_at: datetime | None
    total_offers: int
    gpu_models: int
    avg_price_per_hour: float | None = Field(description="Mean price per GPU-hour of its offers.")
    min_price_per_hour: float | None = Field(description="Lowest price per GPU-hour.")
    max_price_per_hour: float | None = Field(description="Highest price per GPU-hour.")
    price_volatility: float | None = Field(
        description="Sample stdev / mean of its offers' prices per GPU-hour."
    )
    uptime_percentage: float | None
    avg_latency_ms: float | None
    sync_attempts: int


class OfferSummaryOut(Schema):
    id: str
    provider: str
    gpu: str
    gpu_count: int | None
    price_per_hour: float
    price_per_gpu_hour: float
    region: str
    availability: str


class DailyPriceOut(Schema):
    date: str
    avg_price_per_gpu_hour: float
    observations: int


class MarketTrendOut(Schema):
    direction: str | None = Field(
        description="up, down or flat (|change| < 1 %); null if < 2 days."
    )
    percent_change: float | None
    slope_per_day: float | None
    daily: list[DailyPriceOut]


class MarketInsightsOut(Schema):
    """GET /kpi/insights/market: size, extremes and mean price per GPU-hour (USD), 7-day trend."""

    total_providers: int
    total_offers: int
    cheapest_gpu_offer: OfferSummaryOut | None
    most_expensive_gpu_offer: OfferSummaryOut | None
    avg_market_price: float | None = Field(description="Mean price per GPU-hour (USD).")
    price_trend_7d: MarketTrendOut
    generated_at: datetime
