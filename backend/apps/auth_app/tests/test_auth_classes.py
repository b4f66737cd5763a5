"""JWTAuth / OptionalJWTAuth as other apps use them, and the middleware for plain views."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path
from ninja import NinjaAPI

from apps.auth_app.auth import JWTAuth, OptionalJWTAuth, tenant_rate_limit
from apps.auth_app.models import Tenant
from apps.auth_app.tests.conftest import bearer
from apps.auth_app.tokens import issue_access_token
from gpubroker.core.exception_handlers import install_exception_handlers

probe_api = NinjaAPI(urls_namespace="auth-probe", auth=JWTAuth())
install_exception_handlers(probe_api)


def _who(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    return {
        "auth": str(request.auth),  # type: ignore[attr-defined]
        "user": str(request.user),
        "authenticated": request.user.is_authenticated,
        "tenant": tenant.name if tenant else None,
    }


@probe_api.get("/required")
async def required(request: HttpRequest) -> dict[str, object]:
    return _who(request)


@probe_api.get("/optional", auth=OptionalJWTAuth())
async def optional(request: HttpRequest) -> dict[str, object]:
    return _who(request)


@probe_api.get("/optional-sync", auth=OptionalJWTAuth())
def optional_sync(request: HttpRequest) -> dict[str, object]:
    return _who(request)


@probe_api.get("/public", auth=None)
def public(request: HttpRequest) -> dict[str, object]:
    return {"ok": True}


def plain_view(request: HttpRequest) -> JsonResponse:
    tenant = getattr(request, "tenant", None)
    return JsonResponse({"user": str(request.user), "tenant": tenant.name if tenant else None})


urlpatterns = [path("probe/", probe_api.urls), path("plain", plain_view)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def tokens(make_user) -> dict[str, str]:
    """An access token issued directly: this module's urlconf has no login route."""
    user = make_user()
    access = issue_access_token(
        email=user.email, user_id=user.pk, roles=["user"], tenant_id=user.tenant_id
    )
    return {"access_token": access.token}


def test_required_auth_accepts_a_valid_token(client: Client, tokens) -> None:
    response = client.get("/probe/required", **bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.json() == {
        "auth": "ada@example.com",
        "user": "ada@example.com",
        "authenticated": True,
        "tenant": "ada@example.com",
    }


def test_required_auth_refuses_anonymous(client: Client, db) -> None:
    response = client.get("/probe/required")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("route", ["/probe/optional", "/probe/optional-sync"])
def test_optional_auth_lets_anonymous_through(client: Client, db, route: str) -> None:
    response = client.get(route)
    assert response.status_code == 200
    assert response.json() == {
        "auth": "AnonymousUser",
        "user": "AnonymousUser",
        "authenticated": False,
        "tenant": None,
    }


@pytest.mark.parametrize("route", ["/probe/optional", "/probe/optional-sync"])
def test_optional_auth_uses_a_valid_token(client: Client, tokens, route: str) -> None:
    response = client.get(route, **bearer(tokens["access_token"]))
    assert response.json()["tenant"] == "ada@example.com"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic abc", "Bearer"])
def test_optional_auth_refuses_an_invalid_token(client: Client, db, header: str) -> None:
    response = client.get("/probe/optional", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_public_route_ignores_tokens(client: Client, db) -> None:
    response = client.get("/probe/public", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200


def test_middleware_attaches_user_and_tenant_for_plain_views(client: Client, tokens) -> None:
    response = client.get("/plain", **bearer(tokens["access_token"]))
    assert response.json() == {"user": "ada@example.com", "tenant": "ada@example.com"}
    anonymous = client.get("/plain", HTTP_AUTHORIZATION="Bearer nonsense")
    assert anonymous.json() == {"user": "AnonymousUser", "tenant": None}


def test_tenant_rate_limit_uses_override_then_plan(db, settings) -> None:
    settings.RATE_LIMIT_ANON_RPS = 7
    assert tenant_rate_limit(Tenant(plan="free")) == 10
    assert tenant_rate_limit(Tenant(plan="pro")) == 100
    assert tenant_rate_limit(Tenant(plan="enterprise")) == 1000
    assert tenant_rate_limit(Tenant(plan="pro", rate_limit_rps=250)) == 250
    assert tenant_rate_limit(None) == 7


def test_api_routes_are_private_unless_declared(client: Client, db) -> None:
    from gpubroker.api.v2 import api

    assert isinstance(api.auth[0], JWTAuth)  # type: ignore[index]
