"""Per-request context (trace id, user id) carried in contextvars.

Contextvars follow the request through sync_to_async/async_to_sync hops, so every log line of a
request can name its trace without threading the request object through domain code.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

trace_id_var: ContextVar[str] = ContextVar("trace_id", default="")
user_id_var: ContextVar[str] = ContextVar("user_id", default="")

# W3C Trace Context: version-traceid-parentid-flags, lowercase hex, ids not all zeros.
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def new_trace_id() -> str:
    """A fresh W3C trace id: 32 lowercase hex digits."""
    return secrets.token_hex(16)


def trace_id_from_traceparent(header: str | None) -> str | None:
    """Return the trace id of a valid `traceparent` header, else None."""
    if not header or len(header) > 128:
        return None
    match = _TRACEPARENT.match(header.strip())
    if match is None:
        return None
    trace_id, parent_id = match.groups()
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def current_trace_id() -> str:
    """The trace id of the request being served ("" outside one)."""
    return trace_id_var.get()


def set_user_id(user_id: object) -> None:
    """Record the request's user id for its log lines ("" when anonymous)."""
    user_id_var.set(str(user_id) if user_id else "")
