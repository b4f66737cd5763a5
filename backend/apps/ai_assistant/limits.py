"""The assistant's rate limits, counted by the project's limiter (`gpubroker.core.ratelimit`).

- Chat (`POST /ai/chat`, `/ai/chat/stream`): messages per minute per tenant by plan
  (`AI_CHAT_RATE_LIMIT_PER_MINUTE`, free 20), on top of the API's per-second limits; a user
  without a tenant counts as free, on their own counter.
- MCP (`/mcp`, outside `/api/v2/` and its middleware): the API's own rules for the same caller
  (`auth_app.middleware.caller_rate_limit_rules`), on the same counters, so REST and MCP share
  one budget.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.auth_app.auth import Principal
from apps.auth_app.middleware import caller_rate_limit_rules
from gpubroker.core.ratelimit import Decision, Rule, limiter

_UNLIMITED = Decision(allowed=True, limit=0, remaining=0, retry_after=0)


def chat_rule(*, user_id: Any, tenant: Any | None) -> Rule:
    """The per-minute chat counter of a user's tenant (or of the user, without one).

    Args:
        user_id: The user's id (the counter's key without a tenant).
        tenant: The user's tenant (its `plan` picks the limit), or None (free).

    Returns:
        A rule of `AI_CHAT_RATE_LIMIT_PER_MINUTE[plan]` messages per 60 seconds.
    """
    plans: dict[str, int] = settings.AI_CHAT_RATE_LIMIT_PER_MINUTE
    plan = getattr(tenant, "plan", None) or "free"
    per_minute = int(plans.get(plan, plans["free"]))
    key = f"ai-chat:tenant:{tenant.pk}" if tenant is not None else f"ai-chat:user:{user_id}"
    return Rule(key, per_minute, 60, scope="ai_chat")


async def chat_limit_hit(*, user_id: Any, tenant: Any | None) -> Decision:
    """Count one chat message; `Decision.allowed` is False once the minute's budget is spent."""
    if not settings.RATE_LIMIT_ENABLED:
        return _UNLIMITED
    return await limiter.ahit([chat_rule(user_id=user_id, tenant=tenant)])


async def mcp_limit_hit(*, principal: Principal | None, ip: str) -> Decision:
    """Count one MCP request against the API's rules for this caller (token's tenant or IP)."""
    rules = caller_rate_limit_rules(principal=principal, ip=ip)
    if not rules:
        return _UNLIMITED
    return await limiter.ahit(rules)
