"""Admin pages for tenants, users and the read-only audit log."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.auth_app.audit import audit_append
from apps.auth_app.models import AuditLog, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db) -> Client:
    admin = User.objects.create_superuser("root@example.com", "a long admin password")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth_app/tenant/",
        "/admin/auth_app/user/",
        "/admin/auth_app/user/add/",
        "/admin/auth_app/auditlog/",
    ],
)
def test_admin_pages_load(staff_client: Client, url: str) -> None:
    assert staff_client.get(url).status_code == 200


def test_audit_log_is_read_only_in_admin(staff_client: Client) -> None:
    row = audit_append(action="auth.register")
    assert staff_client.get("/admin/auth_app/auditlog/add/").status_code == 403
    assert staff_client.get(f"/admin/auth_app/auditlog/{row.pk}/change/").status_code == 200
    response = staff_client.post(f"/admin/auth_app/auditlog/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditLog.objects.get().action == "auth.register"


def test_admin_login_accepts_a_v1_hash(db) -> None:
    import argon2

    v1 = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("v1 admin pw")
    user = User.objects.create_superuser("old@example.com", "placeholder password")
    User.objects.filter(pk=user.pk).update(password=v1)
    client = Client()
    assert client.login(username="old@example.com", password="v1 admin pw")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
