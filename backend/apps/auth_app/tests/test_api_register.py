"""POST /api/v2/auth/register."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.auth_app.audit import AuditAction
from apps.auth_app.models import AuditLog, Tenant, User

pytestmark = pytest.mark.django_db

URL = "/api/v2/auth/register"
STRONG = "violet-tangerine-orbit-42"


def register(client: Client, **body: object):
    payload = {"email": "grace@example.com", "password": STRONG, "full_name": "Grace Hopper"}
    payload.update(body)
    return client.post(URL, payload, content_type="application/json")


def test_creates_user_in_personal_free_tenant(client: Client) -> None:
    response = register(client, email="Grace@Example.com", organization="Navy")
    assert response.status_code == 201
    body = response.json()
    user = User.objects.get()
    assert body == {
        "id": str(user.id),
        "email": "grace@example.com",
        "full_name": "Grace Hopper",
        "organization": "Navy",
        "is_active": True,
        "created_at": body["created_at"],
    }
    assert user.tenant is not None
    assert user.tenant.plan == "free"
    assert user.tenant.rate_limit_rps is None
    assert user.role == "user"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(STRONG)
    audit = AuditLog.objects.get()
    assert (audit.action, audit.user_id, audit.tenant_id) == (
        AuditAction.REGISTER,
        user.id,
        user.tenant.id,
    )
    assert audit.ip_address == "127.0.0.1"


def test_duplicate_email_is_409_case_insensitively_and_writes_nothing(client: Client) -> None:
    assert register(client).status_code == 201
    response = register(client, email="GRACE@example.com")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert response.json()["detail"] == "Email already registered"
    assert User.objects.count() == 1
    assert Tenant.objects.count() == 1
    assert AuditLog.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("8427619305418", "entirely numeric"),
        ("grace@example.com", "too similar"),
        (" " * 20, "too repetitive"),
        ("aaaaaaaaaaaa", "too repetitive"),
        ("ab ab ab ab ab ab", "too repetitive"),
    ],
)
def test_weak_password_is_422_and_writes_nothing(
    client: Client, password: str, fragment: str
) -> None:
    response = register(client, password=password)
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert fragment in body["error"]["details"]["fields"]["password"]
    assert password not in response.content.decode()
    assert User.objects.count() == 0
    assert Tenant.objects.count() == 0
    assert AuditLog.objects.count() == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "", "x" * 250 + "@example.com"])
def test_bad_email_is_422_and_writes_nothing(client: Client, email: str) -> None:
    response = register(client, email=email)
    assert response.status_code == 422
    assert "email" in response.json()["error"]["details"]["fields"]
    assert User.objects.count() == 0


def test_missing_full_name_is_422(client: Client) -> None:
    response = client.post(
        URL, {"email": "a@example.com", "password": STRONG}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == {"full_name": "Field required"}
    assert User.objects.count() == 0


def test_megabyte_password_is_refused_before_hashing(client: Client, monkeypatch) -> None:
    def no_hashing(*args: object, **kwargs: object) -> str:
        raise AssertionError("hashing must not run")

    monkeypatch.setattr("apps.auth_app.hashers.make_password", no_hashing)
    response = register(client, password="p" * 1_000_000)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == {
        "password": "String should have at most 256 characters"
    }
    assert User.objects.count() == 0


def test_sql_and_html_in_names_are_stored_and_returned_verbatim(client: Client) -> None:
    name = "Robert'); DROP TABLE users;-- <script>alert(1)</script>"
    org = '<b>ACME</b> " OR 1=1 --'
    response = register(client, full_name=name, organization=org)
    assert response.status_code == 201
    assert response.json()["full_name"] == name
    assert response.json()["organization"] == org
    user = User.objects.get()
    assert (user.full_name, user.organization) == (name, org)
    assert User.objects.count() == 1
