"""Marketplace read API, mounted at /api/v2/providers (SPEC.md "Offer listing").

Every route takes an optional access token. Errors: 422 VALIDATION_ERROR for bad query or path
values, 404 NOT_FOUND for an unknown or unlisted offer, 503 when PostgreSQL is unavailable
(except for listing pages still in the cache).

The listing is cached as the rendered JSON under `listing_cache_key(params)` for
PROVIDERS_LIST_CACHE_TTL_SECONDS, so a hit costs one Redis GET and no serialisation; ingestion
invalidates every page after it commits a change. The database work of a miss runs in one
thread hop (`sync_to_async` around the selector) rather than one hop per async ORM query.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from apps.auth_app.auth import OptionalJWTAuth
from apps.providers import schemas
from apps.providers.cache import cached_render, listing_cache_key
from apps.providers.selectors import history as price_history
from apps.providers.selectors import offers, status
from gpubroker.core.schemas import plain_model, responses

router = Router(tags=["providers"], auth=OptionalJWTAuth())

JSON = "application/json"


def _render_listing(query: offers.OfferQuery) -> bytes:
    page = offers.offer_list(query=query)
    body = plain_model(schemas.OfferListOut).model_validate(
        {
            "total": page.total,
            "total_is_estimate": page.total_is_estimate,
            "items": page.items,
            "warnings": page.warnings,
        }
    )
    # `warnings` is optional in the contract: absent when there is nothing to warn about;
    # `total_is_estimate` likewise, present (true) only when the total is an estimate.
    exclude = {"warnings"} if not page.warnings else set()
    if not page.total_is_estimate:
        exclude.add("total_is_estimate")
    return body.model_dump_json(exclude=exclude or None).encode()


@router.get(
    "",
    response=responses(schemas.OfferListOut, 401, 422, 429, 503),
    summary="List GPU offers with filters, sorting and pagination",
)
async def list_offers(request: HttpRequest, filters: Query[schemas.OfferFilterIn]) -> HttpResponse:
    """One page of the listing; served from the Redis cache when the same query was rendered.

    Parameters the listing does not know are ignored and named in `warnings` (a typo such as
    `max_prize` would otherwise list every offer without a word).
    """
    query = filters.to_query()
    key = listing_cache_key(query.cache_params())
    body = await cached_render(key, lambda: _render_listing(query), counted=True)
    unknown = sorted(set(request.GET).difference(schemas.LISTING_PARAMS))
    if unknown:
        body = _with_warning(body, unknown_parameters_warning(unknown))
    return HttpResponse(body, content_type=JSON)


_NAMES_SHOWN = 10


def unknown_parameters_warning(names: list[str]) -> str:
    """The warning naming query parameters the listing ignored (at most 10, each cut to 64)."""
    shown = ", ".join(repr(name[:64]) for name in names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"Unknown parameters ignored: {shown}{more} (the listing's parameters: /api/v2/docs)"


def _with_warning(body: bytes, warning: str) -> bytes:
    """A rendered listing page with `warning` added to its `warnings` (created when absent)."""
    page = json.loads(body)
    page["warnings"] = [*(page.get("warnings") or []), warning]
    return json.dumps(page).encode()


@router.get(
    "/status",
    response=responses(list[schemas.ProviderStatusOut], 401, 429, 503),
    summary="Health, freshness and sync statistics of every provider",
)
def list_provider_status(request: HttpRequest) -> list[dict[str, Any]]:
    """Health, freshness, offer counts and 7-day sync statistics of every provider."""
    return [
        {
            **_freshness_fields(item.freshness),
            "error_count": item.freshness.error_count,
            "breaker_open_until": item.freshness.breaker_open_until,
            "sync_interval_seconds": item.freshness.sync_interval_seconds,
            "next_sync_at": item.freshness.next_sync_at,
            "price_source": item.freshness.price_source,
            "offer_count": item.offer_count,
            "listed_offer_count": item.listed_offer_count,
            "quarantined_offer_count": item.quarantined_offer_count,
            "quarantined_names": item.freshness.quarantined_names,
            "quarantined_gpus": [
                {
                    "gpu_name_raw": name.gpu_name_raw,
                    "offer_count": name.offer_count,
                    "reason": name.reason,
                    "explanation": name.explanation,
                }
                for name in item.quarantined_gpus
            ],
            "sync_attempts_7d": item.sync.attempts,
            "uptime_pct": item.sync.uptime_pct,
            "avg_fetch_latency_ms": item.sync.avg_fetch_latency_ms,
            "price_max_age_seconds": item.freshness.price_max_age_seconds,
            "oldest_price_as_of": item.oldest_price_as_of,
            "newest_price_as_of": item.newest_price_as_of,
            "last_sync": item.last_sync,
        }
        for item in status.provider_status_list()
    ]


def _freshness_fields(provider: status.ProviderFreshness) -> dict[str, Any]:
    return {
        "name": provider.name,
        "display_name": provider.display_name,
        "status": provider.status,
        "breaker_state": provider.breaker_state,
        "last_sync_at": provider.last_sync_at,
        "last_success_at": provider.last_success_at,
        "freshness_seconds": provider.age_seconds,
        "stale": provider.is_stale,
        "down": provider.is_down,
        "price_max_age_seconds": provider.price_max_age_seconds,
    }


@router.get(
    "/offers/{offer_id}",
    response=responses(schemas.OfferDetailOut, 401, 404, 422, 429, 503),
    summary="One offer with its KPIs and its provider's freshness",
)
def get_offer(request: HttpRequest, offer_id: UUID) -> dict[str, Any]:
    """One listed offer with its KPIs and its provider's freshness; 404 otherwise."""
    detail = offers.offer_get(offer_id=offer_id)
    offer = detail.offer
    return {
        **detail.item,
        "external_id": offer.external_id,
        "gpu_name_raw": offer.gpu_name_raw,
        "storage_type": offer.storage_type,
        "network_speed_gbps": offer.network_speed_gbps,
        "interconnect": offer.interconnect,
        "reliability": offer.reliability,
        "created_at": offer.created_at,
        "last_seen_at": offer.last_seen_at,
        "kpis": detail.kpis,
        "provider_freshness": _freshness_fields(detail.provider),
    }


@router.get(
    "/offers/{offer_id}/history",
    response=responses(schemas.OfferHistoryOut, 401, 404, 422, 429, 503),
    summary="Price history of one offer over 24h, 7d or 30d with statistics",
)
def get_offer_history(
    request: HttpRequest, offer_id: UUID, params: Query[schemas.HistoryQueryIn]
) -> dict[str, Any]:
    """A listed offer's price points over the window, with statistics; 404 otherwise."""
    history = price_history.offer_price_history(offer_id=offer_id, window=params.window)
    stats = history.statistics
    return {
        "offer_id": history.offer_id,
        "window": history.window,
        "start": history.start,
        "end": history.end,
        "points": [
            {
                "timestamp": point.timestamp,
                "price_per_hour": point.price_per_hour,
                "availability": point.availability,
                "spot_price_per_hour": point.spot_price_per_hour,
            }
            for point in history.points
        ],
        "min": stats.min,
        "max": stats.max,
        "mean": stats.mean,
        "p50": stats.p50,
        "p95": stats.p95,
        "volatility": stats.volatility,
        "statistics": stats,
        "spot_statistics": history.spot_statistics,
    }
