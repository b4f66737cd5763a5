"""Fixtures for the recommender: a provider, offers in the market and users with tenants."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from apps.auth_app.models import Tenant, User
from apps.providers.models import GPUOffer, Provider


@pytest.fixture
def provider(db: Any) -> Provider:
    return Provider.objects.create(
        name="testcloud", display_name="Test Cloud", reliability_score=Decimal("0.90")
    )


@pytest.fixture
def make_offer(provider: Provider) -> Callable[..., GPUOffer]:
    counter = iter(range(1_000_000))

    def make(
        gpu_model: str | None = "RTX 4090",
        price_per_hour: str = "1.0000",
        *,
        gpu_count: int | None = 1,
        **fields: Any,
    ) -> GPUOffer:
        fields.setdefault("gpu_type", gpu_model or "Mystery GPU")
        fields.setdefault("gpu_memory_gb", 24)
        fields.setdefault("region", "us-east")
        return GPUOffer.objects.create(
            provider=provider,
            external_id=f"offer-{next(counter)}",
            gpu_model=gpu_model,
            price_per_hour=Decimal(price_per_hour),
            gpu_count=gpu_count,
            **fields,
        )

    return make


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    counter = iter(range(1_000_000))

    def make(**fields: Any) -> User:
        number = next(counter)
        tenant = Tenant.objects.create(name=f"tenant {number}")
        fields.setdefault("full_name", f"User {number}")
        return User.objects.create_user(
            f"user{number}@example.com", "correct horse battery staple", tenant=tenant, **fields
        )

    return make
