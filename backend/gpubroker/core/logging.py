"""JSON log lines with the request's trace id, and redaction of secrets.

Every record becomes one JSON object per line. Secrets are removed twice: keys that name a
secret are replaced wherever they appear in structured extras, and token-shaped substrings
(bearer tokens, JWTs, `password=...`) are masked in the rendered message.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from gpubroker.core.context import trace_id_var, user_id_var

REDACTED = "[REDACTED]"
_SECRET_KEY_PARTS = (
    "authorization",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "cookie",
    "private_key",
    "client_secret",
    "credential",
)
_SECRET_PATTERNS = (
    # JWT: three base64url segments, the first starting with '{"' encoded.
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)\b(password|passwd|secret|token|api[_-]?key|client_secret)"
        r"(\"?\s*[:=]\s*\"?)[^\s\"&,}]+"
    ),
)
# Attributes every LogRecord has; anything else on a record is a structured extra.
_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "trace_id", "user_id"}
)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """Return `value` with secrets removed (recursively for mappings and sequences)."""
    if key and is_secret_key(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class ContextFilter(logging.Filter):
    """Stamps each record with the current trace and user ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", ""):
            record.trace_id = trace_id_var.get()
        if not getattr(record, "user_id", ""):
            record.user_id = user_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, trace_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
            "trace_id": getattr(record, "trace_id", "") or trace_id_var.get(),
        }
        entry["user_id"] = getattr(record, "user_id", "") or user_id_var.get() or None
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = redact(value, key)
        if record.exc_info:
            # Tracebacks stay in logs (never in responses), as one escaped string.
            entry["exc_info"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)
