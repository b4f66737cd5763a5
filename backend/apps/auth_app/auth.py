"""Authentication for the API, for non-Ninja views and for other apps.

Public API (import from `apps.auth_app.auth`):

- `JWTAuth()`: Ninja auth (async `HttpBearer`) requiring a valid access token; the NinjaAPI's
  default. Missing/malformed `Authorization`, an invalid, expired or refresh token, an unknown or
  inactive user → 401 envelope.
- `OptionalJWTAuth()`: token optional (SPEC "opt" routes). No `Authorization` header → the
  caller is anonymous; a header that does not carry a valid access token → 401 (a bad token is
  never silently downgraded to anonymous).
- After either, in the handler: `request.auth` and `request.user` are the `User` (or Django's
  `AnonymousUser` for an anonymous optional call), `request.tenant` is the user's `Tenant` or
  None, `request.auth_claims` the verified token claims (`{}` when anonymous).
  `JWTAuthenticationMiddleware` sets the same `request.user`/`request.tenant` for non-Ninja views
  when a valid bearer token is sent.
- `authenticate_access_token(token)` / `aauthenticate_access_token(token)` → `Principal(user,
  tenant, claims)` or raise `gpubroker.core.errors.Unauthorized`: for WebSocket consumers
  (`?token=`) and anything else holding a raw token.
- `tenant_rate_limit(tenant)` → requests per second for a tenant (its `rate_limit_rps` override,
  else the plan default from `RATE_LIMIT_PLAN_RPS`); `tenant_rate_limit(None)` is the anonymous
  rate. `Tenant.ws_limit` caps its concurrent sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer

from apps.auth_app.models import Tenant, User
from apps.auth_app.tokens import ACCESS, INVALID_TOKEN, decode_token
from gpubroker.core.context import set_user_id
from gpubroker.core.errors import Unauthorized

__all__ = [
    "JWTAuth",
    "OptionalJWTAuth",
    "Principal",
    "aauthenticate_access_token",
    "authenticate_access_token",
    "bearer_token",
    "request_principal",
    "tenant_rate_limit",
]

_PRINCIPAL_ATTR = "_gpubroker_principal"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, their tenant (None for un-migrated v1 users), claims."""

    user: User
    tenant: Tenant | None
    claims: dict[str, Any] = field(default_factory=dict)


def tenant_rate_limit(tenant: Tenant | None) -> int:
    """Requests/s allowed: the tenant's override, else its plan's, else the anonymous rate."""
    if tenant is None:
        return int(settings.RATE_LIMIT_ANON_RPS)
    if tenant.rate_limit_rps:
        return int(tenant.rate_limit_rps)
    plans: dict[str, int] = settings.RATE_LIMIT_PLAN_RPS
    return int(plans.get(tenant.plan, plans["free"]))


def _principal(user: User | None, claims: dict[str, Any]) -> Principal:
    if user is None or not user.is_active:
        raise Unauthorized(INVALID_TOKEN)
    return Principal(user=user, tenant=user.tenant, claims=claims)


def authenticate_access_token(token: str) -> Principal:
    """The active user and tenant of a valid access token; Unauthorized (401) otherwise."""
    claims = decode_token(token, typ=ACCESS)
    user = User.objects.select_related("tenant").filter(pk=claims["uid"]).first()
    return _principal(user, claims)


async def aauthenticate_access_token(token: str) -> Principal:
    """Async `authenticate_access_token` (one async ORM query); Unauthorized (401) when invalid."""
    claims = decode_token(token, typ=ACCESS)
    user = await User.objects.select_related("tenant").filter(pk=claims["uid"]).afirst()
    return _principal(user, claims)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None."""
    parts = request.headers.get("Authorization", "").split(" ")
    if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1]:
        return parts[1]
    return None


def request_principal(request: HttpRequest) -> Principal | None:
    """The principal the middleware resolved for this request, if any (no query)."""
    memo = getattr(request, _PRINCIPAL_ATTR, None)
    return memo[1] if memo and isinstance(memo[1], Principal) else None


def remember(request: HttpRequest, token: str, outcome: Principal | Unauthorized) -> None:
    setattr(request, _PRINCIPAL_ATTR, (token, outcome))


def _remembered(request: HttpRequest, token: str) -> Principal | Unauthorized | None:
    memo = getattr(request, _PRINCIPAL_ATTR, None)
    if memo and memo[0] == token:
        outcome: Principal | Unauthorized = memo[1]
        return outcome
    return None


def attach(request: HttpRequest, principal: Principal | None) -> None:
    """Expose the caller as `request.user` / `request.tenant` / `request.auth_claims`."""
    user: Any = principal.user if principal else AnonymousUser()
    request.user = user
    request.tenant = principal.tenant if principal else None  # type: ignore[attr-defined]
    request.auth_claims = principal.claims if principal else {}  # type: ignore[attr-defined]
    if principal:
        set_user_id(principal.user.pk)


async def resolve(request: HttpRequest, token: str) -> Principal:
    """The principal for `token`, reusing what the middleware already resolved."""
    outcome = _remembered(request, token)
    if outcome is None:
        try:
            outcome = await aauthenticate_access_token(token)
        except Unauthorized as exc:
            outcome = exc
        remember(request, token, outcome)
    if isinstance(outcome, Unauthorized):
        raise Unauthorized(outcome.message)
    attach(request, outcome)
    return outcome


class JWTAuth(HttpBearer):
    """Requires a valid RS256 access token; `request.auth` becomes the `User`."""

    async def authenticate(self, request: HttpRequest, token: str) -> User:
        """The token's user (`request.auth`); Unauthorized (401) for an invalid or inactive one."""
        principal = await resolve(request, token)
        return principal.user


class OptionalJWTAuth(JWTAuth):
    """Anonymous callers pass (as `AnonymousUser`); a present but invalid token is a 401."""

    def __call__(self, request: HttpRequest) -> Any:
        """Anonymous without an Authorization header; otherwise as JWTAuth."""
        if not request.headers.get(self.header):
            return self._anonymous(request)
        return super().__call__(request)

    @staticmethod
    async def _anonymous(request: HttpRequest) -> AnonymousUser:
        attach(request, None)
        user: AnonymousUser = request.user  # type: ignore[assignment]
        return user
