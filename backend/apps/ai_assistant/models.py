"""Chat sessions and their messages, per user (new tables; v1 kept history in its agent).

A session belongs to one user; only that user reads it. Messages are written a turn at a time:
the user's message and the assistant's reply in one transaction, after the backend answered,
so a failed answer leaves nothing behind.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ChatSession(models.Model):
    """One user's conversation (`ai_chat_sessions`): titled by its first message."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions"
    )
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ai_chat_sessions"
        indexes = [
            models.Index(fields=["user", "-updated_at"], name="ai_sessions_user_idx"),
            # The console's list: newest activity first.
            models.Index(models.F("updated_at").desc(), name="ai_sessions_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.title or str(self.id)


class ChatMessage(models.Model):
    """One message of a session (`ai_chat_messages`).

    Assistant messages keep what the response carried: the tool calls (name, arguments,
    outcome, offer ids) and the recommended offers; user messages keep their parse.
    """

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    id = models.BigAutoField("ID", primary_key=True)
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    parsed_workload = models.JSONField(null=True, blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    backend = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    elapsed_ms = models.PositiveIntegerField("Elapsed (ms)", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ai_chat_messages"
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["session", "created_at"], name="ai_messages_session_idx")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"
