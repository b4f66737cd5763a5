"""Fixtures for the math endpoints: loaded specs, offers in the market, users and a JSON client."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.auth_app.models import Tenant, User
from apps.providers.models import GPUOffer, Provider


class JsonClient:
    """POST/GET against /api/v2/math with JSON bodies; raw strings are sent verbatim."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, path: str, body: Any, **headers: str) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(
            f"/api/v2/math{path}", data, content_type="application/json", headers=headers
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(f"/api/v2/math{path}", headers=headers)


@pytest.fixture
def api() -> JsonClient:
    return JsonClient(Client())


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


def assert_error(response: Any, status: int, field: str) -> dict[str, Any]:
    """The SPEC envelope with ``status``, naming ``field`` (400: details.field and the message's
    first word; 422: a key of details.fields)."""
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    error = body["error"]
    assert body["detail"] == error["message"]
    if status == 422:
        assert error["code"] == "VALIDATION_ERROR"
        assert field in error["details"]["fields"], error["details"]
    else:
        assert error["details"]["field"] == field
        assert error["message"].startswith(f"{field}: ")
    return body
