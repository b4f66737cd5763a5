"""POST /api/v2/auth/login, including v1 passlib hashes and the login rate limit."""

from __future__ import annotations

import argon2
import pytest
from django.test import Client, override_settings
from jose import jwt
from prometheus_client import REGISTRY

from apps.auth_app.audit import AuditAction
from apps.auth_app.models import AuditLog, User, UserSession
from apps.auth_app.tests.conftest import PASSWORD, login
from apps.auth_app.tokens import keyring, token_digest

pytestmark = pytest.mark.django_db


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_login_returns_rs256_pair_and_records_session(client: Client, make_user) -> None:
    user = make_user()
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)

    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "RS256", "typ": "JWT", "kid": keyring().kid}
    access = jwt.get_unverified_claims(body["access_token"])
    assert access["sub"] == "ada@example.com"
    assert access["uid"] == str(user.id)
    assert access["typ"] == "access"
    assert access["roles"] == ["user"]
    assert access["tenant_id"] == str(user.tenant_id)
    assert (access["iss"], access["aud"]) == ("gpubroker", "gpubroker-api")
    assert access["exp"] - access["iat"] == 15 * 60

    refresh = jwt.get_unverified_claims(body["refresh_token"])
    assert refresh["typ"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    session = UserSession.objects.get()
    assert session.jti == token_digest(refresh["jti"])
    assert session.refresh_token_hash == token_digest(body["refresh_token"])
    assert refresh["jti"] not in session.jti
    assert session.family_id is not None
    assert (session.ip_address, session.revoked_at) == ("127.0.0.1", None)

    user.refresh_from_db()
    assert user.last_login is not None
    assert AuditLog.objects.get().action == AuditAction.LOGIN_SUCCEEDED


def test_unknown_email_and_wrong_password_get_the_same_401(client: Client, make_user) -> None:
    make_user()
    counted = {
        reason: metric("gpubroker_login_failures_total", reason=reason)
        for reason in ("unknown_email", "wrong_password", "inactive")
    }
    unknown = login(client, email="nobody@example.com")
    wrong = login(client, password="not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    assert unknown.json()["detail"] == "Invalid email or password"
    assert UserSession.objects.count() == 0
    failures = list(AuditLog.objects.order_by("id").values_list("action", "details"))
    assert failures == [
        (AuditAction.LOGIN_FAILED, {"email": "nobody@example.com", "reason": "unknown_email"}),
        (AuditAction.LOGIN_FAILED, {"email": "ada@example.com", "reason": "wrong_password"}),
    ]
    assert {
        reason: metric("gpubroker_login_failures_total", reason=reason) - before
        for reason, before in counted.items()
    } == {"unknown_email": 1, "wrong_password": 1, "inactive": 0}


def test_login_email_is_case_insensitive(client: Client, make_user) -> None:
    make_user()
    assert login(client, email="ADA@Example.COM").status_code == 200


def test_inactive_user_is_refused(client: Client, make_user) -> None:
    make_user(is_active=False)
    response = login(client)
    assert response.status_code == 401
    assert response.json()["detail"] == "Account is disabled"
    assert UserSession.objects.count() == 0


def test_megabyte_password_is_refused_before_hashing(
    client: Client, make_user, monkeypatch
) -> None:
    make_user()

    def no_hashing(*args: object, **kwargs: object) -> bool:
        raise AssertionError("hashing must not run")

    monkeypatch.setattr("apps.auth_app.hashers.check_password", no_hashing)
    monkeypatch.setattr("apps.auth_app.hashers.make_password", no_hashing)
    response = login(client, password="x" * 1_000_000)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == {
        "password": "String should have at most 256 characters"
    }
    assert UserSession.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_v1_passlib_hash_logs_in_and_is_rehashed(client: Client, make_user) -> None:
    # Exactly what v1's passlib wrote: argon2id, m=64 MiB, t=3, p=4 (checked at that cost).
    v1_hasher = argon2.PasswordHasher(
        time_cost=3, memory_cost=65536, parallelism=4, type=argon2.Type.ID
    )
    v1_hash = v1_hasher.hash("v1-password-from-2023")
    assert v1_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    user = make_user()
    User.objects.filter(pk=user.pk).update(password=v1_hash)

    assert login(client, password="wrong-password-entirely").status_code == 401
    user.refresh_from_db()
    assert user.password == v1_hash

    response = login(client, password="v1-password-from-2023")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.password != v1_hash
    assert user.check_password("v1-password-from-2023")
    assert AuditLog.objects.filter(action=AuditAction.LOGIN_SUCCEEDED).get().details == {
        "password_rehashed": True
    }
    assert login(client, password="v1-password-from-2023").status_code == 200


def test_v1_user_without_tenant_gets_a_personal_tenant_on_login(client: Client, make_user) -> None:
    user = make_user()
    User.objects.filter(pk=user.pk).update(tenant=None)
    assert login(client).status_code == 200
    user.refresh_from_db()
    assert user.tenant is not None
    assert (user.tenant.name, user.tenant.plan) == ("ada@example.com", "free")


@override_settings(RATE_LIMIT_LOGIN_PER_MINUTE=3)
def test_login_is_rate_limited_per_email(client: Client, make_user) -> None:
    make_user()
    rejections = metric("gpubroker_rate_limit_rejections_total", scope="login")
    statuses = [login(client, password="wrong", **{}).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    refused = login(client)  # even the right password waits
    assert refused.status_code == 429
    assert metric("gpubroker_rate_limit_rejections_total", scope="login") == rejections + 1
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert UserSession.objects.count() == 0


@override_settings(RATE_LIMIT_LOGIN_PER_MINUTE=3)
def test_login_is_rate_limited_per_ip_across_emails(client: Client, make_user) -> None:
    make_user()
    statuses = [login(client, email=f"u{n}@example.com").status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    assert login(client).status_code == 429
    other_ip = client.post(
        "/api/v2/auth/login",
        {"email": "ada@example.com", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.9",
    )
    assert other_ip.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_login_lookup_gives_the_connection_back_before_the_hash(make_user) -> None:
    from django.db import connection

    from apps.auth_app import services

    make_user()
    connection.ensure_connection()

    user = services._login_candidate(email="ADA@example.com")

    assert user is not None
    assert user.email == "ada@example.com"
    assert connection.connection is None  # closed, or back in the pool, while the hash queues


def test_login_lookup_inside_a_transaction_keeps_its_connection(make_user) -> None:
    from django.db import connection

    from apps.auth_app import services

    make_user()

    assert services._login_candidate(email="nobody@example.com") is None
    assert connection.connection is not None
    assert connection.in_atomic_block
