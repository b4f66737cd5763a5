"""Tenant isolation: every route that takes the id of something a tenant owns, called with
another tenant's token, answers 403/404 and changes nothing of the owner's (issue 17).

Tenant A owns: an AI chat session (its id), a provider key saved for vastai, a refresh-token
session, its user id (the recommender's history). Tenant B holds a valid token of its own and
knows every one of A's ids.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.auth_app.models import AuditLog, Tenant, User, UserSession
from apps.providers.models import Booking, GPUOffer, ProviderIntegration
from apps.providers.services.sync import provider_sync
from apps.providers.tests import test_api_integrations
from apps.providers.tests.conftest import FakeProviders

pytestmark = pytest.mark.django_db

# Provider HTTP replaced by the recordings, as in the integration tests (the same fixture).
fake_http = test_api_integrations.fake_http

PASSWORD = "a long enough password"
A_PROVIDER_KEY = "tenant-a-vast-key-0123456789"


def _post(client: Client, path: str, body: dict[str, Any], token: str) -> Any:
    return client.post(
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _login(client: Client, email: str) -> dict[str, str]:
    response = client.post(
        "/api/v2/auth/login",
        json.dumps({"email": email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def world(client: Client, fake_http: FakeProviders, specs: None) -> dict[str, Any]:
    provider_sync(provider_name="vastai", client=fake_http.client())
    offer = GPUOffer.objects.filter(provider__name="vastai", availability_status="available")
    owner = User.objects.create_user(
        "a@tenant-a.test", PASSWORD, tenant=Tenant.objects.create(name="A"), full_name="A"
    )
    User.objects.create_user(
        "b@tenant-b.test", PASSWORD, tenant=Tenant.objects.create(name="B"), full_name="B"
    )
    a_tokens = _login(client, "a@tenant-a.test")
    saved = _post(
        client,
        "/api/v2/config/integrations",
        {"provider": "vastai", "api_key": A_PROVIDER_KEY},
        a_tokens["access_token"],
    )
    assert saved.status_code == 200
    chat = _post(
        client, "/api/v2/ai/chat", {"message": "serve llama 3 8b"}, a_tokens["access_token"]
    )
    assert chat.status_code == 200
    # A's key did go to the provider on A's behalf (the check below is not vacuous).
    assert any(
        A_PROVIDER_KEY in value
        for request in fake_http.requests
        for value in request.headers.values()
    )
    fake_http.requests.clear()
    return {
        "owner": owner,
        "a_tokens": a_tokens,
        "b_token": _login(client, "b@tenant-b.test")["access_token"],
        "session_id": chat.json()["session_id"],
        "offer_id": str(offer.order_by("external_id").first().pk),
    }


def _owner_state(world: dict[str, Any]) -> dict[str, Any]:
    owner = world["owner"]
    integration = ProviderIntegration.objects.get(tenant=owner.tenant)
    return {
        "messages": list(
            ChatMessage.objects.filter(session__user=owner).values_list("id", "content")
        ),
        "sessions": ChatSession.objects.filter(user=owner).count(),
        "integration": (integration.pk, integration.updated_at, integration.status),
        "refresh_sessions": list(
            UserSession.objects.filter(user=owner).values_list("jti", "revoked_at")
        ),
        "audit": AuditLog.objects.filter(tenant_id=owner.tenant_id).count(),
        "bookings": Booking.objects.count(),
    }


# (method, path, body, statuses B may get): ids and tokens are filled in from A's world.
ROUTES = [
    ("get", "/api/v2/ai/sessions/{session_id}/history", None, {404}),
    ("post", "/api/v2/ai/chat", {"message": "hello", "session_id": "{session_id}"}, {404}),
    ("post", "/api/v2/ai/chat/stream", {"message": "hi", "session_id": "{session_id}"}, {404}),
    # Offers are public; the key is A's: B's booking finds no key of B's (400), never A's.
    ("post", "/api/v2/providers/offers/{offer_id}/book", {"duration_hours": "2"}, {400}),
    (
        "post",
        "/api/v2/math/ensemble-recommend",
        {
            "user_id": "{owner_id}",
            "workload_profile": {"price_per_hour": 2.0, "vram_gb": 24},
            "candidate_offers": ["{offer_id}"],
            "top_k": 1,
        },
        {403},
    ),
    ("post", "/api/v2/auth/logout", {"refresh_token": "{refresh_token}"}, {401, 403}),
]


def _fill(value: Any, world: dict[str, Any]) -> Any:
    names = {
        "session_id": world["session_id"],
        "offer_id": world["offer_id"],
        "owner_id": str(world["owner"].pk),
        "refresh_token": world["a_tokens"]["refresh_token"],
    }
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "statuses"), ROUTES, ids=[r[1] for r in ROUTES])
def test_another_tenants_token_cannot_reach_an_owned_resource(
    client: Client, world: dict[str, Any], fake_http: FakeProviders, method, path, body, statuses
) -> None:
    before = _owner_state(world)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world['b_token']}"}
    url = _fill(path, world)
    if method == "get":
        response = client.get(url, **auth)
    else:
        response = client.post(
            url, json.dumps(_fill(body, world)), content_type="application/json", **auth
        )
    assert response.status_code in statuses, response.content
    assert response.json()["error"]["code"] in {
        "BAD_REQUEST",
        "NOT_FOUND",
        "FORBIDDEN",
        "UNAUTHORIZED",
    }
    assert _owner_state(world) == before
    # A's provider key never left the server on B's behalf.
    # (httpx masks credentials in a Headers repr: read the values themselves.)
    sent = [value for request in fake_http.requests for value in request.headers.values()]
    assert all(A_PROVIDER_KEY not in value for value in sent)


def test_integration_listing_shows_only_the_callers_keys(client: Client, world) -> None:
    response = client.get(
        "/api/v2/config/integrations", HTTP_AUTHORIZATION=f"Bearer {world['b_token']}"
    )
    assert response.status_code == 200
    vastai = next(row for row in response.json() if row["provider"] == "vastai")
    assert vastai["status"] == "not_configured"
    assert A_PROVIDER_KEY not in response.content.decode()
