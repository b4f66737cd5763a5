"""Django app config of the AI assistant."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


def check_ai_settings(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` names a misconfigured AI backend (see backends.configuration_errors)."""
    from apps.ai_assistant.backends import configuration_errors

    return [
        checks.Error(message, hint="See docs/ai.md and .env.example.", id="ai_assistant.E001")
        for message in configuration_errors()
    ]


class AiAssistantConfig(AppConfig):
    """The `ai_assistant` app: the assistant's endpoints (top layer)."""

    name = "apps.ai_assistant"
    label = "ai_assistant"
    verbose_name = "AI assistant"

    def ready(self) -> None:
        """Register the AI settings check with `manage.py check`."""
        checks.register(check_ai_settings)
