"""Chat backends behind one interface (`base.ChatBackend`), chosen by `AI_BACKEND`.

`builtin` (default): offline and deterministic. `openai`: any OpenAI-compatible server.
`somaagent`: v1's agent protocol. See docs/ai.md.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.ai_assistant.backends.base import ChatBackend
from apps.ai_assistant.backends.builtin import BuiltinBackend
from apps.ai_assistant.backends.openai_backend import OpenAIBackend
from apps.ai_assistant.backends.somaagent import SomaAgentBackend

BACKEND_NAMES = ("builtin", "openai", "somaagent")


def configuration_errors() -> list[str]:
    """What is wrong with the AI settings (empty when the backend can be built)."""
    name = settings.AI_BACKEND
    if name not in BACKEND_NAMES:
        return [f"AI_BACKEND must be one of {', '.join(BACKEND_NAMES)} (got {name!r})"]
    if name == "openai" and not settings.AI_MODEL:
        return ["AI_BACKEND=openai needs AI_MODEL (the model name the server serves)"]
    if name == "somaagent" and not settings.SOMA_AGENT_URL:
        return ["AI_BACKEND=somaagent needs SOMA_AGENT_URL"]
    return []


def backend_from_settings() -> ChatBackend:
    """The configured backend (cheap to build: clients are shared per event loop)."""
    errors = configuration_errors()
    if errors:
        raise ImproperlyConfigured("; ".join(errors))
    timeout = float(settings.AI_TIMEOUT_SECONDS)
    if settings.AI_BACKEND == "openai":
        return OpenAIBackend(
            base_url=settings.AI_BASE_URL,
            api_key=settings.AI_API_KEY,
            model=settings.AI_MODEL,
            timeout_seconds=timeout,
            max_rounds=int(settings.AI_MAX_TOOL_ROUNDS),
        )
    if settings.AI_BACKEND == "somaagent":
        return SomaAgentBackend(url=settings.SOMA_AGENT_URL, timeout_seconds=timeout)
    return BuiltinBackend()


__all__ = ["BACKEND_NAMES", "backend_from_settings", "configuration_errors"]
