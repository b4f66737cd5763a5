"""Fixtures for the auth app: users in tenants, tokens, a clean limiter per test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from apps.auth_app.models import Plan, Tenant, User
from gpubroker.core.ratelimit import limiter

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_limiter() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(
        email: str = "ada@example.com",
        password: str = PASSWORD,
        *,
        plan: str = Plan.FREE,
        rate_limit_rps: int | None = None,
        **fields: Any,
    ) -> User:
        tenant = Tenant.objects.create(name=email, plan=plan, rate_limit_rps=rate_limit_rps)
        fields.setdefault("full_name", "Ada Lovelace")
        return User.objects.create_user(email, password, tenant=tenant, **fields)

    return make


def login(client: Client, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
    return client.post(
        "/api/v2/auth/login",
        {"email": email, "password": password},
        content_type="application/json",
    )


@pytest.fixture
def tokens(client: Client, make_user: Callable[..., User]) -> dict[str, str]:
    make_user()
    response = login(client)
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: connections are refused at once."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
