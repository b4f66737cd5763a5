"""Request middleware: bearer-token identity, then per-tenant / per-IP rate limits.

Both run on the sync and the async path, so they never force Django to adapt the chain.

`JWTAuthenticationMiddleware` (after Django's `AuthenticationMiddleware`): a valid access token in
`Authorization: Bearer …` makes `request.user`/`request.tenant` the token's user and tenant for
every view, Ninja or not, and names the user in the request log line. An invalid token leaves
the request anonymous here; Ninja's `JWTAuth`/`OptionalJWTAuth` turn it into a 401 on routes
that look at tokens.

`RateLimitMiddleware` (SPEC "Rate limits") on `/api/v2/…` only: an authenticated caller counts
against its tenant's per-second limit, an anonymous one against its IP's, and every request
against the IP's per-minute cap — all in one Redis round trip. Every limited response carries
`X-RateLimit-Limit`/`X-RateLimit-Remaining`; a refused one is the 429 envelope with
`Retry-After`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from apps.auth_app.auth import (
    Principal,
    aauthenticate_access_token,
    attach,
    authenticate_access_token,
    bearer_token,
    remember,
    request_principal,
    tenant_rate_limit,
)
from gpubroker.core.errors import RateLimited, Unauthorized, api_error_response
from gpubroker.core.middleware import DualModeMiddleware
from gpubroker.core.ratelimit import Decision, Rule, client_ip, limiter

LIMITED_PATH_PREFIX = "/api/v2/"


class JWTAuthenticationMiddleware(DualModeMiddleware):
    """A valid RS256 bearer token becomes `request.user` / `request.tenant`.

    A missing or invalid token leaves the request anonymous; whether a route needs a token is
    decided per route by Ninja's auth classes, which answer 401 in the envelope.
    """

    def __call__(self, request: HttpRequest) -> Any:
        """Authenticate the request (sync or async, whichever the stack runs)."""
        if self.is_async:
            return self._acall(request)
        token = bearer_token(request)
        if token:
            try:
                principal = authenticate_access_token(token)
            except Unauthorized as exc:
                remember(request, token, exc)
            else:
                remember(request, token, principal)
                attach(request, principal)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        token = bearer_token(request)
        if token:
            try:
                principal = await aauthenticate_access_token(token)
            except Unauthorized as exc:
                remember(request, token, exc)
            else:
                remember(request, token, principal)
                attach(request, principal)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        return await get_response(request)


def caller_rate_limit_rules(*, principal: Principal | None, ip: str) -> list[Rule]:
    """The counters a caller's request is charged to, wherever it arrives (the API, `/mcp`).

    Args:
        principal: The bearer token's user and tenant, or None when anonymous.
        ip: The client's address (`gpubroker.core.ratelimit.client_ip`).

    Returns:
        The tenant's per-second rule (its plan's rate; a user without a tenant and an anonymous
        caller get the anonymous rate, on their own counter), then the IP's per-minute rule;
        empty when `RATE_LIMIT_ENABLED` is off.
    """
    if not settings.RATE_LIMIT_ENABLED:
        return []
    if principal is None:
        first = Rule(f"anon:{ip}", int(settings.RATE_LIMIT_ANON_RPS), 1, scope="anonymous")
    elif principal.tenant is None:
        first = Rule(f"user:{principal.user.pk}", tenant_rate_limit(None), 1, scope="tenant")
    else:
        first = Rule(
            f"tenant:{principal.tenant.pk}",
            tenant_rate_limit(principal.tenant),
            1,
            scope="tenant",
        )
    minute = Rule(f"ip:{ip}", int(settings.RATE_LIMIT_IP_PER_MINUTE), 60, scope="ip_minute")
    return [first, minute]


def rate_limit_rules(request: HttpRequest) -> list[Rule]:
    """The counters one API request is charged to (empty when the path is not limited)."""
    if not settings.RATE_LIMIT_ENABLED or not request.path.startswith(LIMITED_PATH_PREFIX):
        return []
    return caller_rate_limit_rules(principal=request_principal(request), ip=client_ip(request))


def _refusal(decision: Decision) -> HttpResponseBase:
    return api_error_response(
        RateLimited(
            retry_after=decision.retry_after,
            details={"limit": decision.limit},
            headers=decision.headers(),
        )
    )


def _with_headers(response: HttpResponseBase, decision: Decision) -> HttpResponseBase:
    # A view's own, narrower limit (the login limiter's 429) keeps its headers.
    if "X-RateLimit-Limit" not in response:
        for name, value in decision.headers().items():
            response[name] = value
    return response


class RateLimitMiddleware(DualModeMiddleware):
    """Per-tenant (or per-IP when anonymous) and per-IP-per-minute limits on /api/v2/.

    Refused requests get the 429 envelope with `Retry-After`; every limited response carries
    `X-RateLimit-Limit` and `X-RateLimit-Remaining`. Fails open when Redis is unreachable.
    """

    def __call__(self, request: HttpRequest) -> Any:
        """Count the request against its rules, then answer 429 or pass it on."""
        if self.is_async:
            return self._acall(request)
        rules = rate_limit_rules(request)
        if not rules:
            return self.get_response(request)
        decision = limiter.hit(rules)
        if not decision.allowed:
            return _refusal(decision)
        return _with_headers(self.get_response(request), decision)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        rules = rate_limit_rules(request)
        if not rules:
            return await get_response(request)
        decision = await limiter.ahit(rules)
        if not decision.allowed:
            return _refusal(decision)
        return _with_headers(await get_response(request), decision)
