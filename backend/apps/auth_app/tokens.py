"""RS256 access and refresh tokens (python-jose), with key rotation by `kid`.

Keys come from `JWT_PRIVATE_KEY` / `JWT_PUBLIC_KEY` (PEM). When they are unset and
`JWT_GENERATE_DEV_KEYS` is on (development, tests), a private key is generated once under
`VAR_DIR/jwt/` (created atomically, so processes starting together agree on one key) and the
public key is derived from it. Production settings refuse to start without the PEMs.

Every token carries `kid` = the first 16 hex digits of sha256(public key DER). Tokens are
verified with the current public key or `JWT_PUBLIC_KEY_PREVIOUS`, whichever `kid` names, and
always with `algorithms=["RS256"]`, required `exp`/`iat`/`iss`/`aud`/`jti`/`typ` and a length
cap checked before any parsing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from gpubroker.core.errors import Unauthorized

ALGORITHM = "RS256"
ACCESS = "access"
REFRESH = "refresh"
# Our access tokens are ~700 bytes; anything far larger is refused before base64/JSON parsing.
MAX_TOKEN_LENGTH = 4096
INVALID_TOKEN = "Invalid or expired token"  # noqa: S105 - an error message
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "jti", "typ")


@dataclass(frozen=True)
class Keyring:
    """The signing key and every accepted verifying key by kid, parsed once."""

    private_pem: str
    kid: str
    public_keys: dict[str, str]  # kid -> public PEM (current and previous)
    # Parsed once: loading an RSA PEM (with its consistency checks) costs ~30 ms.
    signing_key: Key
    verifying_keys: dict[str, Key]


@dataclass(frozen=True)
class IssuedToken:
    """A signed token, its jti, expiry (aware datetime) and lifetime in seconds."""

    token: str
    jti: str
    expires_at: Any  # aware datetime
    expires_in: int


def key_id(public_pem: str) -> str:
    """The kid of a public key: the first 16 hex digits of the sha256 of its DER form."""
    public = serialization.load_pem_public_key(public_pem.encode())
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def _public_from_private(private_pem: str) -> str:
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _dev_private_key(var_dir: Path) -> str:
    """Read or create var/jwt/dev-private.pem; `os.link` makes creation first-writer-wins."""
    key_dir = var_dir / "jwt"
    path = key_dir / "dev-private.pem"
    if path.exists():
        return path.read_text()
    key_dir.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp_name = tempfile.mkstemp(dir=key_dir, prefix=".dev-private-")
    try:
        os.write(fd, pem)
        os.close(fd)
        os.chmod(tmp_name, 0o600)
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp_name, path)
    finally:
        os.unlink(tmp_name)
    return path.read_text()


@functools.lru_cache(maxsize=8)
def _keyring(
    private_pem: str, public_pem: str, previous_pem: str, generate: bool, var_dir: str
) -> Keyring:
    if not private_pem:
        if not generate:
            raise ImproperlyConfigured(
                "JWT_PRIVATE_KEY/JWT_PUBLIC_KEY are not set (set them, or JWT_GENERATE_DEV_KEYS "
                "in development)"
            )
        private_pem = _dev_private_key(Path(var_dir))
        public_pem = ""
    public_pem = public_pem or _public_from_private(private_pem)
    kid = key_id(public_pem)
    public_keys = {kid: public_pem}
    if previous_pem:
        public_keys.setdefault(key_id(previous_pem), previous_pem)
    return Keyring(
        private_pem=private_pem,
        kid=kid,
        public_keys=public_keys,
        signing_key=jwk.construct(private_pem, ALGORITHM),
        verifying_keys={k: jwk.construct(pem, ALGORITHM) for k, pem in public_keys.items()},
    )


def keyring() -> Keyring:
    """The keys from settings (or development keys under var/), cached per distinct setting."""
    return _keyring(
        settings.JWT_PRIVATE_KEY,
        settings.JWT_PUBLIC_KEY,
        settings.JWT_PUBLIC_KEY_PREVIOUS,
        bool(settings.JWT_GENERATE_DEV_KEYS),
        str(settings.VAR_DIR),
    )


def token_digest(value: str) -> str:
    """sha256 hex: how jtis and refresh tokens are stored (never in clear)."""
    return hashlib.sha256(value.encode()).hexdigest()


def _issue(claims: dict[str, Any], typ: str, ttl_seconds: int) -> IssuedToken:
    ring = keyring()
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl_seconds)
    jti = secrets.token_urlsafe(24)
    payload = {
        **claims,
        "typ": typ,
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    token = jwt.encode(payload, ring.signing_key, algorithm=ALGORITHM, headers={"kid": ring.kid})
    return IssuedToken(token=token, jti=jti, expires_at=expires_at, expires_in=ttl_seconds)


def issue_access_token(
    *, email: str, user_id: uuid.UUID, roles: list[str], tenant_id: uuid.UUID | None
) -> IssuedToken:
    """An RS256 access token (JWT_ACCESS_TTL_SECONDS) with the user's roles and tenant."""
    claims = {
        "sub": email,
        "uid": str(user_id),
        "roles": roles,
        "tenant_id": str(tenant_id) if tenant_id else None,
    }
    return _issue(claims, ACCESS, int(settings.JWT_ACCESS_TTL_SECONDS))


def issue_refresh_token(*, email: str, user_id: uuid.UUID) -> IssuedToken:
    """An RS256 refresh token (JWT_REFRESH_TTL_SECONDS); its jti is recorded on the session."""
    return _issue(
        {"sub": email, "uid": str(user_id)}, REFRESH, int(settings.JWT_REFRESH_TTL_SECONDS)
    )


def decode_token(token: str, *, typ: str) -> dict[str, Any]:
    """Verified claims of a token of type `typ`; anything else raises `Unauthorized`."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized(INVALID_TOKEN)
    ring = keyring()
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise Unauthorized(INVALID_TOKEN) from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthorized(INVALID_TOKEN)
    public_key = ring.verifying_keys.get(str(header.get("kid") or ring.kid))
    if public_key is None:
        raise Unauthorized(INVALID_TOKEN)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={f"require_{name}": True for name in ("exp", "iat", "iss", "aud", "jti")},
        )
    except JOSEError as exc:
        raise Unauthorized(INVALID_TOKEN) from exc
    if any(name not in claims for name in _REQUIRED_CLAIMS) or claims.get("typ") != typ:
        raise Unauthorized(INVALID_TOKEN)
    try:
        claims["uid"] = str(uuid.UUID(str(claims.get("uid"))))
    except ValueError as exc:
        raise Unauthorized(INVALID_TOKEN) from exc
    return claims
