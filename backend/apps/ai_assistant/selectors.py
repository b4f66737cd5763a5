"""Reads of chat sessions: ownership, the turns a backend sees, the stored history."""

from __future__ import annotations

from uuid import UUID

from apps.ai_assistant.backends.base import ChatTurn
from apps.ai_assistant.models import ChatMessage, ChatSession
from gpubroker.core.errors import NotFound


def chat_session_get(*, session_id: UUID, user_id: UUID) -> ChatSession:
    """The user's own session.

    Raises:
        NotFound: for an unknown id and for another user's session alike (so ids cannot be
            probed).
    """
    session = ChatSession.objects.filter(id=session_id, user_id=user_id).first()
    if session is None:
        raise NotFound("Session not found", details={"session_id": str(session_id)})
    return session


def chat_turns_recent(*, session_id: UUID, turns: int) -> tuple[ChatTurn, ...]:
    """The last `turns` exchanges (user message + assistant reply), oldest first."""
    if turns <= 0:
        return ()
    rows = list(
        ChatMessage.objects.filter(session_id=session_id)
        .order_by("-created_at", "-id")
        .values_list("role", "content")[: turns * 2]
    )
    rows.reverse()
    result: list[ChatTurn] = []
    pending: str | None = None
    for role, content in rows:
        if role == ChatMessage.Role.USER:
            pending = content
        elif pending is not None:
            result.append(ChatTurn(user=pending, assistant=content))
            pending = None
    return tuple(result[-turns:])


def chat_messages_recent(*, session_id: UUID, limit: int) -> list[ChatMessage]:
    """The last `limit` messages of a session, oldest first."""
    rows = list(
        ChatMessage.objects.filter(session_id=session_id).order_by("-created_at", "-id")[:limit]
    )
    rows.reverse()
    return rows
