"""Per-request context (trace id, user id) carried in contextvars.

Contextvars follow the request through sync_to_async/async_to_sync hops, so every log line of a
request can name its trace without threading the request object through domain code.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

trace_id_var: ContextVar[str] = ContextVar("trace_id", default="")
user_id_var: ContextVar[str] = ContextVar("user_id", default="")

_W3C_TRACE_CONTEXT = TraceContextTextMapPropagator()
# Longer headers are refused before parsing: OpenTelemetry would log a warning for each one
# over 512 characters, and the header is the client's to choose.
_TRACEPARENT_MAX_CHARS = 128


def new_trace_id() -> str:
    """A fresh W3C trace id: 32 lowercase hex digits (128 random bits)."""
    return secrets.token_hex(16)


def trace_id_from_traceparent(header: str | None) -> str | None:
    """The trace id (32 hex digits) of a valid W3C `traceparent` header, else None.

    Parsed by OpenTelemetry's W3C Trace Context propagator: lowercase hex only, trace and
    parent ids not all zeros, version `ff` refused, later versions' extra fields tolerated.
    """
    if not header or len(header) > _TRACEPARENT_MAX_CHARS:
        return None
    extracted = _W3C_TRACE_CONTEXT.extract({"traceparent": header})
    span_context = trace.get_current_span(extracted).get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def current_trace_id() -> str:
    """The trace id of the request being served ("" outside one)."""
    return trace_id_var.get()


def set_user_id(user_id: object) -> None:
    """Record the request's user id for its log lines ("" when anonymous)."""
    user_id_var.set(str(user_id) if user_id else "")
