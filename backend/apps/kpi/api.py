"""Ninja router of the KPI endpoints, mounted at /api/v2/kpi (SPEC.md "/kpi/*").

Every route takes an optional access token; each calls one selector of apps.kpi.selectors
(aggregate queries). 404 NOT_FOUND for an unknown GPU or provider, 503 "Database not
available" when PostgreSQL is down.

The answers are market-wide aggregates that change only when ingestion commits, so each is
cached as its rendered JSON beside the listing's pages (`listing_cache_key`, the same TTL),
and ingestion's invalidation after a commit drops them with the pages: a hit costs one Redis
GET, a miss one thread hop around the selector. `generated_at` says when the figures were
computed. Errors (404, 503) are never cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import NinjaJSONEncoder

from apps.auth_app.auth import OptionalJWTAuth
from apps.kpi import schemas
from apps.kpi.selectors import (
    kpi_gpu_get,
    kpi_market_insights,
    kpi_overview,
    kpi_provider_get,
)
from apps.providers.cache import cached_render, listing_cache_key
from gpubroker.core.schemas import plain_model, responses

router = Router(tags=["kpi"], auth=OptionalJWTAuth())


async def _cached(
    key_params: dict[str, Any], schema: type[Schema], compute: Callable[[], Any]
) -> HttpResponse:
    """The rendered `schema` of `compute()` from the cache, or computed, rendered and cached.

    Rendered as Ninja renders a returned value (the schema's fields dumped, then
    `NinjaJSONEncoder`), so a cached answer is byte-for-byte what an uncached one would be.
    """

    def render() -> bytes:
        dumped = plain_model(schema).model_validate(compute()).model_dump()
        return json.dumps(dumped, cls=NinjaJSONEncoder).encode()

    body = await cached_render(listing_cache_key({"kind": "kpi", **key_params}), render)
    return HttpResponse(body, content_type="application/json")


@router.get(
    "/overview",
    response=responses(schemas.OverviewOut, 401, 429, 503),
    summary="Market overview: cost per token, uptime, latency, offers, mean price",
)
async def get_overview(request: HttpRequest) -> HttpResponse:
    """Market overview: mean cost per token and price, active providers, sync uptime and latency."""
    return await _cached({"route": "overview"}, schemas.OverviewOut, kpi_overview)


@router.get(
    "/gpu/{gpu_type}",
    response=responses(schemas.GpuKpisOut, 401, 404, 422, 429, 503),
    summary="Prices and costs of one GPU type, optionally at one provider",
)
async def get_gpu_kpis(
    request: HttpRequest, gpu_type: str, params: Query[schemas.GpuKpisQueryIn]
) -> HttpResponse:
    """Prices and costs of one GPU (canonical name or alias); 404 for an unknown GPU or provider."""
    return await _cached(
        {"route": "gpu", "gpu": gpu_type, "provider": params.provider},
        schemas.GpuKpisOut,
        lambda: kpi_gpu_get(gpu_type=gpu_type, provider_name=params.provider),
    )


@router.get(
    "/provider/{provider_name}",
    response=responses(schemas.ProviderKpisOut, 401, 404, 429, 503),
    summary="A provider's offers, prices, volatility, uptime and latency",
)
async def get_provider_kpis(request: HttpRequest, provider_name: str) -> HttpResponse:
    """A provider's offers, prices, volatility, uptime and latency; 404 for an unknown provider."""
    return await _cached(
        {"route": "provider", "provider": provider_name},
        schemas.ProviderKpisOut,
        lambda: kpi_provider_get(provider_name=provider_name),
    )


@router.get(
    "/insights/market",
    response=responses(schemas.MarketInsightsOut, 401, 429, 503),
    summary="Market size, cheapest and dearest offers, mean price and 7-day trend",
)
async def get_market_insights(request: HttpRequest) -> HttpResponse:
    """Market size, cheapest and dearest offers, mean price and the 7-day trend."""
    return await _cached({"route": "insights"}, schemas.MarketInsightsOut, kpi_market_insights)
