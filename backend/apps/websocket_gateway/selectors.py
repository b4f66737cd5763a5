"""Database reads of the price stream: the snapshot and the socket limit of a tenant."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from apps.auth_app.models import Tenant, User
from apps.providers.selectors.offers import OfferQuery, offer_filter, offers_in_market
from apps.websocket_gateway.filters import StreamFilters

_SNAPSHOT_FIELDS = (
    "id",
    "provider__name",
    "gpu_type",
    "gpu_model",
    "region",
    "price_per_hour",
    "availability_status",
    "updated_at",
)


def offer_snapshot(*, filters: StreamFilters, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Offers in the market matching `filters`, cheapest first, at most `limit` of them.

    The offers the KPIs count (`offers_in_market`: listed, so never a quarantined GPU; not
    unavailable, not stale, priced in USD), filtered exactly as the REST listing filters
    (`offer_filter`: the same GPU text match, provider, region or country code, price cap).
    Returns the offers as JSON-ready dicts and whether more matched than `limit`. One query
    (plus the listing's cached raw-name lookup for a `gpu` filter).
    """
    query = OfferQuery(
        gpu=filters.gpu,
        provider=filters.provider,
        region=filters.region,
        max_price=None if filters.max_price is None else Decimal(str(filters.max_price)),
    )
    queryset = offer_filter(query=query, offers=offers_in_market())
    rows = list(queryset.order_by("price_per_hour", "id").values(*_SNAPSHOT_FIELDS)[: limit + 1])
    offers = [
        {
            "offer_id": str(row["id"]),
            "provider": row["provider__name"],
            "gpu": row["gpu_model"] or row["gpu_type"],
            "gpu_type": row["gpu_type"],
            "region": row["region"],
            "price_per_hour": float(row["price_per_hour"]),
            "availability_status": row["availability_status"],
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows[:limit]
    ]
    return offers, len(rows) > limit


def tenant_id_for_user(*, user_id: str) -> str | None:
    """The tenant of an active user, or None (unknown user, inactive, or no tenant)."""
    try:
        key = uuid.UUID(str(user_id))
    except ValueError:
        return None
    tenant_id = (
        User.objects.filter(id=key, is_active=True).values_list("tenant_id", flat=True).first()
    )
    return str(tenant_id) if tenant_id is not None else None


def tenant_ws_limit(*, tenant_id: str) -> int | None:
    """`Tenant.ws_limit`, or None when the tenant does not exist."""
    try:
        key = uuid.UUID(str(tenant_id))
    except ValueError:
        return None
    return Tenant.objects.filter(id=key).values_list("ws_limit", flat=True).first()
