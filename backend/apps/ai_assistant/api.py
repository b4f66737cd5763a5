"""AI assistant router. The chat agent is wave 2; only its health is reported honestly now."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["ai"])


class AiHealthOut(Schema):
    """`/ai/health`: whether an assistant agent is configured (SOMA_AGENT_URL)."""

    status: str
    agent_configured: bool


@router.get("/health", response=AiHealthOut, auth=None)
async def ai_health(request: HttpRequest) -> dict[str, object]:
    """Report whether an agent is configured; never calls it."""
    configured = bool(settings.SOMA_AGENT_URL)
    return {
        "status": "configured" if configured else "not_configured",
        "agent_configured": configured,
    }
