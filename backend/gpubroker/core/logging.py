"""JSON log lines through structlog, with the request's trace id and redaction of secrets.

Every record, whether from the standard library's `logging` (all of this code base) or from a
`structlog.get_logger()` logger, goes through one `structlog.stdlib.ProcessorFormatter`
(`JsonFormatter`) and becomes one JSON object per line: `timestamp` (UTC, milliseconds),
`level`, `logger`, `message`, `trace_id` and `user_id` of the current request (from the
contextvars in `gpubroker.core.context`), the call's `extra=` fields, and `exc_info` (the
traceback as one string) when there is one.

Secrets are removed twice: fields whose name names a secret are replaced wherever they appear in
the extras (nested too), and token-shaped substrings (bearer tokens, JWTs, `password=...`) are
masked in the message and the traceback.

Settings wire it up through `LOGGING_CONFIG = "gpubroker.core.logging.configure"`.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

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
    # Ninja's HttpBearer, under DEBUG, logs a header of another scheme whole ("Token xyz").
    re.compile(r"(?i)(unexpected auth -)\s*'[^']*'?"),
    re.compile(
        r"(?i)\b(password|passwd|secret|token|api[_-]?key|client_secret)"
        r"(\"?\s*[:=]\s*\"?)[^\s\"&,}]+"
    ),
)
# The fields every line starts with, in this order; extras follow, the traceback comes last.
_HEAD_FIELDS = ("timestamp", "level", "logger", "message", "trace_id", "user_id")
# Attributes a formatter may have set on a record before ours saw it (another handler's pass).
_FORMATTER_ARTEFACTS = frozenset({"asctime"})
# structlog's own bookkeeping, removed by `ProcessorFormatter.remove_processors_meta`.
_STRUCTLOG_META = frozenset({"_record", "_from_structlog"})


def is_secret_key(key: str) -> bool:
    """Whether a field named `key` holds a secret (case-insensitive substring match)."""
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """`text` with JWTs, bearer/basic credentials and `secret=value` pairs masked."""
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


# --- structlog processors (logger, method name, event dict) -> event dict ---------------------
def add_request_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """`trace_id` and `user_id` of the current request, unless the call named its own."""
    if not event_dict.get("trace_id"):
        event_dict["trace_id"] = trace_id_var.get()
    if not event_dict.get("user_id"):
        event_dict["user_id"] = user_id_var.get() or None
    return event_dict


def add_level(_: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """`level` as the standard library names it (`INFO`, `WARNING`, ...)."""
    record = event_dict.get("_record")
    event_dict["level"] = record.levelname if record is not None else method_name.upper()
    return event_dict


def add_timestamp(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """`timestamp`: when the record was made, ISO 8601 in UTC with milliseconds (`+00:00`)."""
    record = event_dict.get("_record")
    moment = datetime.fromtimestamp(record.created, tz=UTC) if record else datetime.now(tz=UTC)
    event_dict["timestamp"] = moment.isoformat(timespec="milliseconds")
    return event_dict


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask secrets (see the module docstring) and put the line's fields in their order.

    structlog's `format_exc_info` names the traceback `exception`; it is written as `exc_info`
    as before. Private attributes (`_name`) and formatter artefacts (`asctime`) are dropped.
    """
    line: EventDict = {key: event_dict[key] for key in _HEAD_FIELDS if key in event_dict}
    if isinstance(line.get("message"), str):
        line["message"] = redact_text(line["message"])
    for key, value in event_dict.items():
        if key in line or key == "exception" or key in _FORMATTER_ARTEFACTS:
            continue
        if key in _STRUCTLOG_META:
            line[key] = value
        elif not key.startswith("_"):
            line[key] = redact(value, key)
    if "exception" in event_dict:
        # Tracebacks stay in logs (never in responses), as one escaped string.
        line["exc_info"] = redact_text(str(event_dict["exception"]))
    return line


# Shared by stdlib records and structlog events; the last step renders the JSON line.
PROCESSORS: tuple[Any, ...] = (
    structlog.stdlib.ExtraAdder(),
    add_request_context,
    structlog.stdlib.add_logger_name,
    add_level,
    add_timestamp,
    structlog.processors.format_exc_info,
    structlog.processors.EventRenamer("message"),
    redact_secrets,
    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
    structlog.processors.JSONRenderer(serializer=json.dumps, default=str, ensure_ascii=False),
)


class ClientMistakeNotice(logging.Filter):
    """Logs Ninja's "Unexpected auth" line at INFO instead of ERROR.

    Under DEBUG (`make run`), Ninja's `HttpBearer` logs an Authorization header of another
    scheme (`Basic …`, `Token …`) at ERROR on the `django` logger. That is a client's mistake,
    already answered with a 401 envelope, not an error of the server's; the line (its value
    masked by `redact_text`) stays, at INFO. Every other record passes unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Lower Ninja's "Unexpected auth" record to INFO; keep every record (True)."""
        if record.levelno >= logging.ERROR and str(record.msg).startswith("Unexpected auth - "):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """The production formatter: one JSON object per record (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("processors", PROCESSORS)
        super().__init__(*args, **kwargs)


def configure(logging_settings: dict[str, Any]) -> None:
    """Django's `LOGGING_CONFIG` hook: apply `LOGGING`, then send structlog through it.

    structlog loggers (`structlog.get_logger(__name__)`) hand their events to the standard
    library logger of the same name, so both kinds of call share levels, handlers and
    `JsonFormatter`.
    """
    logging.config.dictConfig(logging_settings)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
