"""Tenant integrations (`/api/v2/config/integrations`) and booking (`/providers/offers/{id}/book`).

Kept apart from the read-only marketplace router in api.py: these routes always need an access
token, write through services that audit, and talk to providers with the tenant's own key.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from ninja import Router

from apps.auth_app.auth import JWTAuth
from apps.auth_app.models import Tenant, User
from apps.providers.schemas_integrations import (
    BookingIn,
    BookingOut,
    IntegrationIn,
    IntegrationOut,
    IntegrationSavedOut,
)
from apps.providers.services.booking import BookingOutcome, offer_book
from apps.providers.services.integrations import (
    IntegrationSaved,
    IntegrationStatus,
    integration_list,
    integration_save,
)
from gpubroker.core.errors import Forbidden
from gpubroker.core.ratelimit import client_ip
from gpubroker.core.schemas import ErrorOut

config_router = Router(tags=["integrations"], auth=JWTAuth())
booking_router = Router(tags=["providers"], auth=JWTAuth())

_WRITE_ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 422, 502), ErrorOut)


def _caller(request: HttpRequest) -> tuple[User, Tenant]:
    user: User = request.auth  # type: ignore[attr-defined]
    tenant: Tenant | None = getattr(request, "tenant", None)
    if tenant is None:
        # v1 accounts adopted without a tenant cannot own integrations until one is assigned.
        raise Forbidden("Your account has no tenant; ask an operator to assign one")
    return user, tenant


def _ip(request: HttpRequest) -> str | None:
    ip = client_ip(request)
    return None if ip == "unknown" else ip


@config_router.post("/integrations", response={200: IntegrationSavedOut, **_WRITE_ERRORS})
async def save_integration(request: HttpRequest, payload: IntegrationIn) -> IntegrationSaved:
    """Validate a tenant's provider key with the provider, then store it encrypted."""
    user, tenant = _caller(request)
    return await integration_save(
        tenant=tenant,
        user=user,
        provider_name=payload.provider,
        api_key=payload.api_key,
        api_url=payload.api_url,
        ip_address=_ip(request),
    )


@config_router.get(
    "/integrations", response={200: list[IntegrationOut], 401: ErrorOut, 403: ErrorOut}
)
async def list_integrations(request: HttpRequest) -> list[IntegrationStatus]:
    """Every provider with the tenant's integration status."""
    _, tenant = _caller(request)
    return await sync_to_async(integration_list)(tenant=tenant)


@booking_router.post("/offers/{offer_id}/book", response={200: BookingOut, **_WRITE_ERRORS})
async def book_offer(request: HttpRequest, offer_id: UUID, payload: BookingIn) -> BookingOutcome:
    """Book an offer with the tenant's saved key; the price is snapshotted."""
    user, tenant = _caller(request)
    return await offer_book(
        tenant=tenant,
        user=user,
        offer_id=offer_id,
        duration_hours=payload.duration_hours,
        ip_address=_ip(request),
    )
