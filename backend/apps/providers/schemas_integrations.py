"""Schemas of the integration (tenant provider keys) and booking endpoints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema


class IntegrationIn(Schema):
    """POST /config/integrations: a provider, its key and, where the provider has one, API URL."""

    provider: str = Field(..., min_length=1, max_length=64)
    # Verda/DataCrunch: "client_id:client_secret".
    api_key: str | None = Field(None, min_length=1, max_length=4096)
    api_url: str | None = Field(None, min_length=1, max_length=500)


_SIMULATED = (
    "True when the answer came from recorded provider responses (replay mode): no request"
    " reached the provider. False for a live provider's answer."
)


class IntegrationSavedOut(Schema):
    """The integration was validated and stored (`simulated` in replay mode)."""

    status: str
    provider: str
    simulated: bool = Field(..., description=_SIMULATED)
    message: str = Field(..., description="How the key was checked.")


class IntegrationOut(Schema):
    """One provider's integration status for the tenant."""

    provider: str
    status: str
    message: str
    last_checked: datetime | None
    simulated: bool = Field(..., description=_SIMULATED)


class BookingIn(Schema):
    """POST /providers/offers/{id}/book: the duration in hours."""

    # No max_digits: le and decimal_places already bound it, and pydantic checks digits first,
    # so 1e9 hours was refused as "no more than 8 digits in total" instead of "<= 8760".
    duration_hours: Decimal = Field(..., gt=0, le=8760, decimal_places=2)


class BookingOut(Schema):
    """The booking: id, status, snapshotted price (USD/hour) and estimated cost (USD)."""

    booking_id: UUID
    offer_id: UUID
    provider: str
    status: str
    external_booking_id: str
    price_per_hour: float
    currency: str
    duration_hours: float
    estimated_cost: float
    created_at: datetime
    simulated: bool = Field(
        ...,
        description=_SIMULATED + " A simulated booking launched nothing; its id starts 'replay-'.",
    )
    message: str = Field(..., description="What happened, in words.")
