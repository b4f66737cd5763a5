"""Django app config of the AI assistant."""

from django.apps import AppConfig


class AiAssistantConfig(AppConfig):
    """The `ai_assistant` app: the assistant's endpoints (top layer)."""

    name = "apps.ai_assistant"
    label = "ai_assistant"
