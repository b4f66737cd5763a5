"""Refresh rotation, reuse detection, logout and /me."""

from __future__ import annotations

import pytest
from django.test import Client
from jose import jwt

from apps.auth_app.audit import AuditAction
from apps.auth_app.models import AuditLog, User, UserSession
from apps.auth_app.tests.conftest import bearer, login
from apps.auth_app.tokens import token_digest

pytestmark = pytest.mark.django_db


def refresh(client: Client, token: str):
    return client.post(
        "/api/v2/auth/refresh", {"refresh_token": token}, content_type="application/json"
    )


def logout(client: Client, access: str, token: str):
    return client.post(
        "/api/v2/auth/logout",
        {"refresh_token": token},
        content_type="application/json",
        **bearer(access),
    )


def _jti_hash(token: str) -> str:
    return token_digest(jwt.get_unverified_claims(token)["jti"])


def test_refresh_rotates_the_pair(client: Client, tokens) -> None:
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["refresh_token"] != tokens["refresh_token"]
    old = UserSession.objects.get(jti=_jti_hash(tokens["refresh_token"]))
    new = UserSession.objects.get(jti=_jti_hash(pair["refresh_token"]))
    assert old.revoked_at is not None
    assert old.replaced_by == new.jti
    assert (new.revoked_at, new.family_id) == (None, old.family_id)
    assert client.get("/api/v2/auth/me", **bearer(pair["access_token"])).status_code == 200
    assert AuditLog.objects.order_by("-id").first().action == AuditAction.TOKEN_REFRESHED


def test_reusing_a_rotated_refresh_token_revokes_the_family(client: Client, tokens) -> None:
    second = refresh(client, tokens["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()

    reuse = refresh(client, tokens["refresh_token"])
    assert reuse.status_code == 401
    assert reuse.json()["detail"] == "Refresh token was already used; the session has been revoked"
    assert UserSession.objects.filter(revoked_at__isnull=True).count() == 0
    # The thief's newest token is dead too.
    assert refresh(client, third["refresh_token"]).status_code == 401
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions[-1] == AuditAction.REFRESH_REUSE_DETECTED
    assert AuditLog.objects.order_by("-id").first().details == {"sessions_revoked": 1}


def test_reuse_does_not_touch_other_logins(client: Client, tokens) -> None:
    other = login(client).json()
    refresh(client, tokens["refresh_token"])
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert refresh(client, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("bad", ["not-a-token", "a.b.c"])
def test_bad_refresh_token_is_401_and_changes_nothing(client: Client, tokens, bad: str) -> None:
    before = (UserSession.objects.count(), AuditLog.objects.count())
    assert refresh(client, bad).status_code == 401
    assert (UserSession.objects.count(), AuditLog.objects.count()) == before


def test_access_token_is_not_a_refresh_token(client: Client, tokens) -> None:
    before = (UserSession.objects.count(), AuditLog.objects.count())
    assert refresh(client, tokens["access_token"]).status_code == 401
    assert (UserSession.objects.count(), AuditLog.objects.count()) == before


def test_refresh_for_inactive_user_is_refused(client: Client, tokens) -> None:
    User.objects.update(is_active=False)
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert UserSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_oversized_refresh_body_is_422(client: Client, tokens) -> None:
    assert refresh(client, "x" * 16 * 1024).status_code == 422


def test_logout_revokes_the_session(client: Client, tokens) -> None:
    response = logout(client, tokens["access_token"], tokens["refresh_token"])
    assert response.status_code == 204
    assert response.content == b""
    assert UserSession.objects.get().revoked_at is not None
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert AuditLog.objects.order_by("-id").first().action == AuditAction.LOGOUT


def test_logout_needs_an_access_token(client: Client, tokens) -> None:
    response = client.post(
        "/api/v2/auth/logout",
        {"refresh_token": tokens["refresh_token"]},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert UserSession.objects.get().revoked_at is None


def test_logout_with_someone_elses_refresh_token_changes_nothing(
    client: Client, tokens, make_user
) -> None:
    make_user("eve@example.com")
    eve = login(client, email="eve@example.com").json()
    before = AuditLog.objects.count()
    assert logout(client, eve["access_token"], tokens["refresh_token"]).status_code == 401
    assert UserSession.objects.filter(revoked_at__isnull=True).count() == 2
    assert AuditLog.objects.count() == before


def test_me_returns_profile_role_and_tenant(client: Client, tokens) -> None:
    user = User.objects.select_related("tenant").get()
    response = client.get("/api/v2/auth/me", **bearer(tokens["access_token"]))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": str(user.id),
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "organization": None,
        "is_active": True,
        "is_verified": False,
        "created_at": body["created_at"],
        "last_login": body["last_login"],
        "role": "user",
        "tenant": {"id": str(user.tenant.id), "name": "ada@example.com", "plan": "free"},
    }
    assert body["last_login"] is not None


def test_request_log_line_names_the_user(client: Client, tokens, json_logs) -> None:
    client.get("/api/v2/auth/me", **bearer(tokens["access_token"]))
    lines = [r for r in json_logs.records if r["logger"] == "gpubroker.request"]
    assert lines[-1]["user_id"] == str(User.objects.get().id)
    assert tokens["access_token"] not in json_logs.text
