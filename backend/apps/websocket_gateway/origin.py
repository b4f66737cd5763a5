"""The WebSocket origin check: refuse foreign browser pages, admit clients that send no Origin.

Browsers always send `Origin` on a WebSocket handshake, and the check exists to stop a page on
another site from opening the stream in a visitor's browser (cross-site WebSocket hijacking).
Non-browser clients (the `websockets` package, wscat, bots) send no Origin at all; they can set
any header they like, so refusing them protects nothing and only broke anonymous access with a
bare 403. Channels' `AllowedHostsOriginValidator` refuses a missing Origin unless
ALLOWED_HOSTS contains "*"; this validator keeps its host matching and allows a missing one.
A present Origin that is foreign, malformed or `null` is still refused (HTTP 403 on the
handshake).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings

#: ALLOWED_HOSTS that DEBUG with an empty setting implies (as Django and Channels do).
DEBUG_ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


class MissingOriginAllowedValidator(OriginValidator):
    """Channels' `OriginValidator`, except that a handshake without `Origin` is let through."""

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        """True without an Origin header (not a browser); else Channels' ALLOWED_HOSTS check."""
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))


def origin_validator(application: Any) -> MissingOriginAllowedValidator:
    """Wrap the WebSocket app: Origin must match ALLOWED_HOSTS when present."""
    allowed_hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = DEBUG_ALLOWED_HOSTS
    return MissingOriginAllowedValidator(application, allowed_hosts)
