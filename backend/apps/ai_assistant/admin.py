"""Admin for the assistant's chat sessions: read them (support, abuse), delete them (on request).

Sessions are users' conversations: nobody adds or edits one here, and a deletion (a user's
request to forget a conversation) is written to the audit chain. The list is a large table
(bounded count, newest activity first on an index); a session's page shows its latest
messages, the full text of each, with what the assistant's reply carried (backend, model,
tool calls, recommended offers).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.auth_app.admin_audit import AuditedAdmin
from gpubroker.core.admin import LargeTableAdmin, ReadOnlyAdmin, RecentRowsInline


class ChatMessageInline(RecentRowsInline):
    """A session's latest messages, newest first (a long session is not loaded whole)."""

    model = ChatMessage
    recent_limit = 50
    recent_ordering = ("-created_at", "-id")
    verbose_name_plural = "latest 50 messages"
    fields = (
        "created_at",
        "role",
        "content",
        "backend",
        "model",
        "elapsed_ms",
        "tool_calls",
        "recommendations",
    )


@admin.register(ChatSession)
class ChatSessionAdmin(ReadOnlyAdmin, AuditedAdmin, LargeTableAdmin):
    """Chat sessions by latest activity; view, or delete (audited); never add or edit."""

    list_display = ("title_or_id", "user", "message_count", "created_at", "updated_at")
    list_select_related = ("user",)
    search_fields = ("=user__email",)
    ordering = ("-updated_at",)
    fields = ("id", "user", "title", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (ChatMessageInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatSession]:
        """Sessions with their user and message count (a subquery per shown row, not a scan)."""
        messages = (
            ChatMessage.objects.filter(session=OuterRef("pk"))
            .order_by()
            .values("session")
            .annotate(count=Count("id"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(messages_total=Subquery(messages, output_field=IntegerField()))
        )

    @admin.display(description="session", ordering="title")
    def title_or_id(self, session: ChatSession) -> str:
        """The session's title (its first message), or its id while untitled."""
        return str(session)

    @admin.display(description="messages")
    def message_count(self, session: ChatSession) -> int:
        """Messages in the session (user and assistant)."""
        return int(getattr(session, "messages_total", 0) or 0)
