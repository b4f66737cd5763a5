"""Ninja router of the KPI endpoints, mounted at /api/v2/kpi (SPEC.md "/kpi/*").

Every route takes an optional access token; each calls one selector of apps.kpi.selectors
(aggregate queries). 404 NOT_FOUND for an unknown GPU or provider, 503 "Database not
available" when PostgreSQL is down.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from apps.auth_app.auth import OptionalJWTAuth
from apps.kpi import schemas
from apps.kpi.selectors import (
    GpuKpis,
    MarketInsights,
    Overview,
    ProviderKpis,
    kpi_gpu_get,
    kpi_market_insights,
    kpi_overview,
    kpi_provider_get,
)
from gpubroker.core.schemas import responses

router = Router(tags=["kpi"], auth=OptionalJWTAuth())


@router.get(
    "/overview",
    response=responses(schemas.OverviewOut, 401, 429, 503),
    summary="Market overview: cost per token, uptime, latency, offers, mean price",
)
def get_overview(request: HttpRequest) -> Overview:
    """Market overview: mean cost per token and price, active providers, sync uptime and latency."""
    return kpi_overview()


@router.get(
    "/gpu/{gpu_type}",
    response=responses(schemas.GpuKpisOut, 401, 404, 422, 429, 503),
    summary="Prices and costs of one GPU type, optionally at one provider",
)
def get_gpu_kpis(
    request: HttpRequest, gpu_type: str, params: Query[schemas.GpuKpisQueryIn]
) -> GpuKpis:
    """Prices and costs of one GPU (canonical name or alias); 404 for an unknown GPU or provider."""
    return kpi_gpu_get(gpu_type=gpu_type, provider_name=params.provider)


@router.get(
    "/provider/{provider_name}",
    response=responses(schemas.ProviderKpisOut, 401, 404, 429, 503),
    summary="A provider's offers, prices, volatility, uptime and latency",
)
def get_provider_kpis(request: HttpRequest, provider_name: str) -> ProviderKpis:
    """A provider's offers, prices, volatility, uptime and latency; 404 for an unknown provider."""
    return kpi_provider_get(provider_name=provider_name)


@router.get(
    "/insights/market",
    response=responses(schemas.MarketInsightsOut, 401, 429, 503),
    summary="Market size, cheapest and dearest offers, mean price and 7-day trend",
)
def get_market_insights(request: HttpRequest) -> MarketInsights:
    """Market size, cheapest and dearest offers, mean price and the 7-day trend."""
    return kpi_market_insights()
