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


# --- the audit hook --------------------------------------------------------------------------
def _messages(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(message) for message in get_messages(response.wsgi_request)]


def _operator() -> User:
    return User.objects.get(email="root@example.com")


def test_adding_changing_and_deleting_a_tenant_are_audited(staff_client: Client) -> None:
    from apps.auth_app.audit import audit_chain_verify
    from apps.auth_app.models import Tenant

    fields = {"name": "Acme", "plan": "pro", "rate_limit_rps": "", "ws_limit": "25"}
    assert staff_client.post("/admin/auth_app/tenant/add/", fields).status_code == 302
    tenant = Tenant.objects.get(name="Acme")
    changed = {**fields, "plan": "enterprise"}
    url = f"/admin/auth_app/tenant/{tenant.pk}/change/"
    assert staff_client.post(url, changed).status_code == 302
    deleted = staff_client.post(f"/admin/auth_app/tenant/{tenant.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Tenant.objects.filter(pk=tenant.pk).exists()

    rows = list(AuditLog.objects.filter(action__startswith="admin.").order_by("id"))
    assert [row.action for row in rows] == ["admin.add", "admin.change", "admin.delete"]
    operator = _operator()
    for row in rows:
        assert row.user_id == operator.pk
        assert (row.resource_type, row.resource_id) == ("auth_app.tenant", str(tenant.pk))
        assert row.ip_address == "127.0.0.1"
        assert row.details["object"] == "Acme (enterprise)" or row.action == "admin.add"
    assert rows[1].details["message"] == "Changed Plan."
    assert audit_chain_verify().is_intact


def test_a_bulk_deletion_writes_one_audit_row_per_object(staff_client: Client) -> None:
    from apps.auth_app.models import Tenant

    tenants = [Tenant.objects.create(name=f"T{index}") for index in range(3)]
    response = staff_client.post(
        "/admin/auth_app/tenant/",
        {"action": "delete_selected", "_selected_action": [t.pk for t in tenants], "post": "yes"},
    )
    assert response.status_code == 302
    assert Tenant.objects.count() == 0
    audited = set(
        AuditLog.objects.filter(action="admin.delete").values_list("resource_id", flat=True)
    )
    assert audited == {str(t.pk) for t in tenants}


def test_a_password_changed_in_the_admin_is_audited_without_the_password(
    staff_client: Client,
) -> None:
    user = User.objects.create_user("someone@example.com", "an old password 1", full_name="S")
    url = f"/admin/auth_app/user/{user.pk}/password/"
    page = staff_client.get(url)
    assert page.status_code == 200
    new_password = "a brand new passphrase 42"
    response = staff_client.post(
        url, {"password1": new_password, "password2": new_password, "usable_password": "true"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)
    row = AuditLog.objects.get(action="admin.change", resource_id=str(user.pk))
    assert row.details["message"] == "Changed password."
    assert new_password not in str(row.details)
    assert user.password not in str(row.details)


def test_verify_the_chain_reports_an_intact_chain_and_is_audited(staff_client: Client) -> None:
    for index in range(3):
        audit_append(action="auth.login_succeeded", resource_id=str(index))
    response = staff_client.post("/admin/auth_app/auditlog/verify/", follow=True)
    assert response.status_code == 200
    assert _messages(response) == ["Audit chain intact: 3 rows verified"]
    row = AuditLog.objects.get(action="admin.audit_verify")
    assert row.user_id == _operator().pk
    assert row.details["intact"] is True
    assert row.details["rows_checked"] == 3
    assert (
        b'data-action="verify-audit-chain"' in staff_client.get("/admin/auth_app/auditlog/").content
    )


def test_verify_the_chain_names_the_first_broken_row(staff_client: Client) -> None:
    from django.db import connection

    rows = [audit_append(action="auth.login_succeeded", resource_id=str(i)) for i in range(4)]
    with connection.cursor() as cursor:  # tampering behind the application's back
        cursor.execute("UPDATE audit_logs SET action = 'forged' WHERE id = %s", [rows[2].pk])
    response = staff_client.post("/admin/auth_app/auditlog/verify/", follow=True)
    assert _messages(response) == [
        f"Audit chain BROKEN at row #{rows[2].pk}: current_hash does not match the row's"
        " content (2 rows verified before it)"
    ]
    assert AuditLog.objects.get(action="admin.audit_verify").details["intact"] is False


def test_verify_the_chain_is_post_only(staff_client: Client) -> None:
    assert staff_client.get("/admin/auth_app/auditlog/verify/").status_code == 403
    assert not AuditLog.objects.filter(action="admin.audit_verify").exists()


def test_revoking_a_session_revokes_its_rotations_and_is_audited(staff_client: Client) -> None:
    import uuid

    from django.utils import timezone

    from apps.auth_app.models import UserSession

    user = User.objects.create_user("someone@example.com", "a password 123", full_name="S")
    family = uuid.uuid4()
    expires = timezone.now() + timezone.timedelta(days=7)
    older = UserSession.objects.create(
        jti="a", user=user, refresh_token_hash="h", expires_at=expires, family_id=family
    )
    newest = UserSession.objects.create(
        jti="b", user=user, refresh_token_hash="h", expires_at=expires, family_id=family
    )
    other = UserSession.objects.create(
        jti="c", user=user, refresh_token_hash="h", expires_at=expires
    )
    response = staff_client.post(
        "/admin/auth_app/usersession/",
        {"action": "revoke", "_selected_action": [older.pk]},
        follow=True,
    )
    assert _messages(response) == ["Revoked 2 refresh session(s)"]
    revoked = set(
        UserSession.objects.filter(revoked_at__isnull=False).values_list("jti", flat=True)
    )
    assert revoked == {older.jti, newest.jti}
    other.refresh_from_db()
    assert other.revoked_at is None
    row = AuditLog.objects.get(action="admin.session_revoke")
    assert (row.resource_type, row.resource_id) == ("auth_app.usersession", "a")


def test_audit_search_finds_exact_actions_resources_and_users(staff_client: Client) -> None:
    user = User.objects.create_user("someone@example.com", "a password 123", full_name="S")
    audit_append(action="auth.login_succeeded", user_id=user.pk, resource_id="r-1")
    audit_append(action="auth.logout", resource_id="r-2")
    audit_append(action="booking.created", resource_id="r-3")
    for term, expected in [
        ("auth.logout", {"r-2"}),
        ("r-3", {"r-3"}),
        ("someone@example.com", {"r-1"}),
        (str(user.pk), {"r-1"}),
        ("auth", set()),
    ]:
        page = staff_client.get("/admin/auth_app/auditlog/", {"q": term}).content.decode()
        found = {rid for rid in ("r-1", "r-2", "r-3") if f">{rid}</td>" in page}
        assert found == expected, term
    kinds = staff_client.get("/admin/auth_app/auditlog/", {"kind": "booking."}).content.decode()
    assert ">r-3</td>" in kinds
    assert ">r-1</td>" not in kinds
