"""The assistant's rate limits, kept in one place so they move with the limiter (issue 11
replaces `gpubroker.core.ratelimit` with the `limits` library).

- Chat (`POST /ai/chat`, `/ai/chat/stream`): messages per minute per tenant by plan
  (`AI_CHAT_RATE_LIMIT_PER_MINUTE`, free 20), on top of the API's per-second limits; a user
  without a tenant counts as free, on their own counter.
- MCP (`/mcp`, outside `/api/v2/` and its middleware): the API's own rules for the same
  caller, on the same counters, so REST and MCP share one budget: a bearer token's tenant at
  its plan's requests per second, an anonymous caller per IP at `RATE_LIMIT_ANON_RPS`, and
  every IP at `RATE_LIMIT_IP_PER_MINUTE`. Mirrors `auth_app.middleware.rate_limit_rules`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.auth_app.auth import tenant_rate_limit
from gpubroker.core.ratelimit import Decision, Rule, limiter


def chat_rule(*, user_id: Any, tenant: Any | None) -> Rule:
    """The per-minute chat counter of a user's tenant (or of the user, without one)."""
    plans: dict[str, int] = settings.AI_CHAT_RATE_LIMIT_PER_MINUTE
    plan = getattr(tenant, "plan", None) or "free"
    per_minute = int(plans.get(plan, plans["free"]))
    key = f"ai-chat:tenant:{tenant.pk}" if tenant is not None else f"ai-chat:user:{user_id}"
    return Rule(key, per_minute, 60)


async def chat_limit_hit(*, user_id: Any, tenant: Any | None) -> Decision:
    """Count one chat message; `Decision.allowed` is False once the minute's budget is spent."""
    if not settings.RATE_LIMIT_ENABLED:
        return Decision(allowed=True, limit=0, remaining=0, retry_after=0)
    return await limiter.ahit([chat_rule(user_id=user_id, tenant=tenant)])


def mcp_rules(*, user_id: Any | None, tenant: Any | None, ip: str) -> list[Rule]:
    """The counters one MCP request is charged to (the API's rules for the same caller)."""
    if user_id is None:
        first = Rule(f"anon:{ip}", int(settings.RATE_LIMIT_ANON_RPS), 1)
    elif tenant is None:
        first = Rule(f"user:{user_id}", tenant_rate_limit(None), 1)
    else:
        first = Rule(f"tenant:{tenant.pk}", tenant_rate_limit(tenant), 1)
    return [first, Rule(f"ip:{ip}", int(settings.RATE_LIMIT_IP_PER_MINUTE), 60)]


async def mcp_limit_hit(*, user_id: Any | None, tenant: Any | None, ip: str) -> Decision:
    if not settings.RATE_LIMIT_ENABLED:
        return Decision(allowed=True, limit=0, remaining=0, retry_after=0)
    return await limiter.ahit(mcp_rules(user_id=user_id, tenant=tenant, ip=ip))
