"""Booking an offer through its provider's adapter with the tenant's stored key.

In replay mode the launch is answered by a recording and no instance exists: the outcome says
`simulated`, its booking id is prefixed `replay-` (in the response and the stored booking) and
the audit row records it (`simulation`).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import httpx
from asgiref.sync import sync_to_async
from django.db import transaction

from apps.auth_app.audit import audit_append
from apps.auth_app.models import Tenant, User
from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import AdapterError, BookingResult, Credentials, ProviderOffer
from apps.providers.adapters.registry import default_registry
from apps.providers.errors import OfferNotFound, ProviderUnavailable
from apps.providers.models import Booking, GPUOffer
from apps.providers.services.integrations import integration_credentials, integration_mark_error
from apps.providers.services.simulation import (
    REPLAY_BOOKING_ID_PREFIX,
    REPLAY_BOOKING_MESSAGE,
    error_details,
    provider_calls_simulated,
)
from apps.providers.services.sync import provider_http_client
from apps.providers.signals import offer_booked
from gpubroker.core.errors import BadRequest, Conflict

logger = logging.getLogger(__name__)

BOOKING_CREATED = "booking.created"


@dataclass(frozen=True)
class BookingOutcome:
    """The booking as recorded; `simulated` when a recording answered the launch (replay)."""

    booking_id: uuid.UUID
    offer_id: uuid.UUID
    provider: str
    status: str
    external_booking_id: str
    price_per_hour: Decimal
    currency: str
    duration_hours: Decimal
    estimated_cost: Decimal
    created_at: datetime
    simulated: bool
    message: str


def _offer_for_booking(offer_id: uuid.UUID) -> GPUOffer:
    offer = GPUOffer.objects.select_related("provider").filter(pk=offer_id).first()
    if offer is None:
        raise OfferNotFound(f"Offer {offer_id} not found")
    if offer.availability_status == "unavailable" or offer.is_stale:
        raise Conflict("Offer is not available any more", details={"offer_id": str(offer_id)})
    if offer.provider.is_disabled:
        raise Conflict(
            f"{offer.provider.name} is disabled by an operator; its offers cannot be booked",
            details={"offer_id": str(offer_id), "provider": offer.provider.name},
        )
    return offer


def _as_provider_offer(offer: GPUOffer) -> ProviderOffer:
    """The adapter's view of a stored offer (what `book_instance` needs to launch it)."""
    return ProviderOffer(
        external_id=offer.external_id,
        gpu_name_raw=offer.gpu_name_raw or offer.gpu_type,
        gpu_count=offer.gpu_count or 1,
        price_per_hour=offer.price_per_hour,
        gpu_memory_gb=float(offer.gpu_memory_gb) if offer.gpu_memory_gb else None,
        cpu_cores=float(offer.cpu_cores) if offer.cpu_cores is not None else None,
        ram_gb=float(offer.ram_gb) if offer.ram_gb is not None else None,
        storage_gb=float(offer.storage_gb) if offer.storage_gb is not None else None,
        currency=offer.currency,
        region=offer.region,
        country=offer.country,
        availability="limited" if offer.availability_status == "limited" else "available",
        interconnect=offer.interconnect,
        is_spot=offer.spot_pricing,
    )


def _prepare(
    *, tenant: Tenant, offer_id: uuid.UUID
) -> tuple[GPUOffer, type[ProviderAdapter], Credentials]:
    offer = _offer_for_booking(offer_id)
    adapter_class = default_registry.get_adapter(offer.provider.name)
    if not adapter_class.supports_booking:
        raise BadRequest(
            f"Booking is not supported by {adapter_class.display_name}: book on the provider's"
            " own site",
            details={"provider": offer.provider.name},
        )
    credentials = integration_credentials(tenant=tenant, provider_name=offer.provider.name)
    if credentials is None:
        raise BadRequest(
            f"No usable {adapter_class.display_name} key is saved for your tenant; save one with"
            " POST /api/v2/config/integrations",
            details={"provider": offer.provider.name},
        )
    return offer, adapter_class, credentials


def _record(
    *,
    tenant: Tenant,
    user: User,
    offer: GPUOffer,
    duration_hours: Decimal,
    result: BookingResult,
    ip_address: str | None,
    simulated: bool,
) -> Booking:
    with transaction.atomic():
        # The price is snapshotted from our catalogue at the moment of booking.
        booking = Booking.objects.create(
            tenant=tenant,
            user=user,
            offer=offer,
            duration_hours=duration_hours,
            price_per_hour=offer.price_per_hour,
            currency=offer.currency,
            status=result.status[:32],
            external_booking_id=result.external_booking_id[:255],
        )
        offer_booked.send(sender=Booking, user=user, offer=offer)
        audit_append(
            action=BOOKING_CREATED,
            user_id=user.pk,
            tenant_id=tenant.pk,
            resource_type="booking",
            resource_id=str(booking.pk),
            details={
                "offer_id": str(offer.pk),
                "provider": offer.provider.name,
                "price_per_hour": offer.price_per_hour,
                "duration_hours": duration_hours,
                "external_booking_id": booking.external_booking_id,
                "simulated": simulated,
            },
            ip_address=ip_address,
        )
    return booking


async def offer_book(
    *,
    tenant: Tenant,
    user: User,
    offer_id: uuid.UUID,
    duration_hours: Decimal,
    ip_address: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> BookingOutcome:
    """Launch an offer with the tenant's key; record the booking, interaction and audit row.

    Nothing is recorded unless the provider confirmed the launch.
    """
    offer, adapter_class, credentials = await sync_to_async(_prepare)(
        tenant=tenant, offer_id=offer_id
    )
    http = client or provider_http_client()
    try:
        adapter = adapter_class(http, base_url=credentials.api_url)
        result = await adapter.book_instance(
            _as_provider_offer(offer), float(duration_hours), credentials
        )
    except AdapterError as exc:
        if exc.kind == "auth":
            await sync_to_async(integration_mark_error)(
                tenant=tenant, provider_name=offer.provider.name, message=exc.message
            )
            raise BadRequest(
                f"{adapter_class.display_name} rejected your saved key; save a new one",
                details=error_details({"provider": offer.provider.name}),
            ) from exc
        if exc.retryable:
            raise ProviderUnavailable(
                f"{adapter_class.display_name} did not answer the booking; nothing was booked",
                details=error_details({"provider": offer.provider.name}),
            ) from exc
        raise BadRequest(
            f"{adapter_class.display_name} refused the booking: {exc.message}",
            details=error_details({"provider": offer.provider.name}),
        ) from exc
    finally:
        if client is None:
            await http.aclose()
    simulated = provider_calls_simulated()
    if simulated:
        result = dataclasses.replace(
            result, external_booking_id=f"{REPLAY_BOOKING_ID_PREFIX}{result.external_booking_id}"
        )
        message = REPLAY_BOOKING_MESSAGE
    else:
        message = f"{adapter_class.display_name} accepted the booking"
    booking = await sync_to_async(_record)(
        tenant=tenant,
        user=user,
        offer=offer,
        duration_hours=duration_hours,
        result=result,
        ip_address=ip_address,
        simulated=simulated,
    )
    return BookingOutcome(
        booking_id=booking.pk,
        offer_id=offer.pk,
        provider=offer.provider.name,
        status=booking.status,
        external_booking_id=booking.external_booking_id,
        price_per_hour=booking.price_per_hour,
        currency=booking.currency,
        duration_hours=duration_hours,
        estimated_cost=(booking.price_per_hour * duration_hours).quantize(Decimal("0.0001")),
        created_at=booking.created_at,
        simulated=simulated,
        message=message,
    )
