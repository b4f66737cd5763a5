"""Bad tokens and malformed headers: every one is a 401 envelope and changes nothing."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client, override_settings
from jose import jwt

from apps.auth_app.models import AuditLog, User, UserSession
from apps.auth_app.tests.conftest import bearer
from apps.auth_app.tokens import key_id, keyring

pytestmark = pytest.mark.django_db

ME = "/api/v2/auth/me"


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user.email,
        "uid": str(user.id),
        "roles": ["user"],
        "tenant_id": str(user.tenant_id),
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 900,
        "iss": "gpubroker",
        "aud": "gpubroker-api",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], private_pem: str | None = None, kid: str | None = None) -> str:
    ring = keyring()
    return jwt.encode(
        claims,
        private_pem or ring.signing_key,
        algorithm="RS256",
        headers={"kid": kid or ring.kid},
    )


def _hs256(claims: dict[str, Any], secret: str, kid: str) -> str:
    # The classic key-confusion forgery, built by hand (jose refuses to sign it).
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


@functools.cache
def _key_pair(slot: int) -> tuple[str, str]:
    """A throwaway RSA pair per slot (generation is slow; each slot is made once per run)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def _assert_refused(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert body["detail"] == body["error"]["message"]
    assert response["WWW-Authenticate"] == "Bearer"


def _snapshot() -> tuple[int, int, int]:
    return User.objects.count(), UserSession.objects.count(), AuditLog.objects.count()


def test_valid_token_is_accepted(client: Client, make_user) -> None:
    user = make_user()
    response = client.get(ME, **bearer(_sign(_claims(user))))
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


ATTACKS = [
    "alg_none",
    "hs256_with_public_key",
    "expired",
    "no_exp",
    "no_iat",
    "no_typ",
    "no_jti",
    "no_iss",
    "no_aud",
    "wrong_aud",
    "wrong_iss",
    "refresh_as_access",
    "tampered_payload",
    "foreign_key",
    "unknown_kid",
    "huge_token",
    "garbage",
    "unknown_user",
    "bad_uid",
]


def attack_tokens(user: User) -> dict[str, str]:
    """Every forged, broken or misused token of the attack list, by name (ATTACKS)."""
    ring = keyring()
    good = _sign(_claims(user))
    return {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': ring.kid})}."
        f"{_b64(_claims(user))}.",
        "hs256_with_public_key": _hs256(_claims(user), ring.public_keys[ring.kid], ring.kid),
        "expired": _sign(_claims(user, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)),
        "no_exp": _sign(_claims(user, exp=None)),
        "no_iat": _sign(_claims(user, iat=None)),
        "no_typ": _sign(_claims(user, typ=None)),
        "no_jti": _sign(_claims(user, jti=None)),
        "no_iss": _sign(_claims(user, iss=None)),
        "no_aud": _sign(_claims(user, aud=None)),
        "wrong_aud": _sign(_claims(user, aud="someone-else")),
        "wrong_iss": _sign(_claims(user, iss="evil")),
        "refresh_as_access": _sign(_claims(user, typ="refresh")),
        "tampered_payload": ".".join(
            [good.split(".")[0], _b64(_claims(user, roles=["operator"])), good.split(".")[2]]
        ),
        "foreign_key": _sign(_claims(user), private_pem=_key_pair(0)[0]),
        "unknown_kid": _sign(_claims(user), kid="0123456789abcdef"),
        "huge_token": _sign(_claims(user, padding="A" * 16 * 1024)),
        "garbage": "not.a.jwt",
        "unknown_user": _sign(_claims(user, uid=str(uuid.uuid4()))),
        "bad_uid": _sign(_claims(user, uid="1; DROP TABLE users")),
    }


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_token_is_401_and_changes_nothing(client: Client, make_user, attack: str) -> None:
    tokens = attack_tokens(make_user())
    before = _snapshot()
    _assert_refused(client.get(ME, **bearer(tokens[attack])))
    assert _snapshot() == before


def test_refresh_token_from_login_is_not_an_access_token(client: Client, tokens) -> None:
    _assert_refused(client.get(ME, **bearer(tokens["refresh_token"])))


MALFORMED_HEADERS = [
    "",
    "Bearer",
    "Bearer ",
    "bearer  two-spaces",
    "Basic YWRhOnB3",
    "Token abc",
    "Bearer a b c",
    "Bearer \x00",
    "Bearer " + "x" * 16 * 1024,
]


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_malformed_authorization_header_is_401(client: Client, tokens, header: str) -> None:
    before = _snapshot()
    _assert_refused(client.get(ME, HTTP_AUTHORIZATION=header))
    assert _snapshot() == before


def test_no_authorization_header_is_401(client: Client, db) -> None:
    _assert_refused(client.get(ME))


def test_inactive_user_token_is_refused(client: Client, make_user) -> None:
    user = make_user()
    token = _sign(_claims(user))
    User.objects.filter(pk=user.pk).update(is_active=False)
    _assert_refused(client.get(ME, **bearer(token)))


def test_previous_public_key_verifies_tokens_during_rotation(client: Client, make_user) -> None:
    user = make_user()
    old_private, old_public = _key_pair(1)
    new_private, new_public = _key_pair(2)
    with override_settings(JWT_PRIVATE_KEY=old_private, JWT_PUBLIC_KEY=old_public):
        old_token = _sign(_claims(user))
        assert jwt.get_unverified_header(old_token)["kid"] == key_id(old_public)
    with override_settings(
        JWT_PRIVATE_KEY=new_private,
        JWT_PUBLIC_KEY=new_public,
        JWT_PUBLIC_KEY_PREVIOUS=old_public,
    ):
        assert client.get(ME, **bearer(old_token)).status_code == 200
        new_token = _sign(_claims(user))
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(new_public)
        assert client.get(ME, **bearer(new_token)).status_code == 200
    with override_settings(JWT_PRIVATE_KEY=new_private, JWT_PUBLIC_KEY=new_public):
        _assert_refused(client.get(ME, **bearer(old_token)))
