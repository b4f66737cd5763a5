"""`?token=` authentication for WebSocket connections.

Browsers cannot set an Authorization header on a WebSocket, so the access token travels in the
query string. The middleware only decodes it and records who is connecting in
`scope["ws_identity"]`; the consumer decides what to do (anonymous sockets are allowed, a
token that does not verify is refused with close code 4401).

Token decoding belongs to the auth app. The decoder is looked up lazily, by name, on each
connection until found, so this module works before and after the auth app provides it: while
none exists a token cannot be verified and the socket is treated as anonymous (logged once).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

TOKEN_DECODER_PATHS = (
    "apps.auth_app.tokens.decode_access_token",
    "apps.auth_app.auth.decode_access_token",
)

TokenDecoder = Callable[[str], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class WsIdentity:
    """Who opened a socket. `is_token_invalid` means a token was sent and did not verify."""

    user_id: str | None = None
    tenant_id: str | None = None
    is_token_invalid: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None


ANONYMOUS = WsIdentity()
_decoder: TokenDecoder | None = None
_warned_missing_decoder = False


def load_token_decoder() -> TokenDecoder | None:
    """The auth app's `decode_access_token(token) -> claims`, or None while it does not exist."""
    global _decoder
    if _decoder is None:
        for path in TOKEN_DECODER_PATHS:
            try:
                _decoder = import_string(path)
            except ImportError:
                continue
            break
    return _decoder


async def identity_from_token(token: str) -> WsIdentity:
    """Decode an access token into an identity (claims `sub` and `tenant_id`/`tid`)."""
    global _warned_missing_decoder
    decoder = load_token_decoder()
    if decoder is None:
        if not _warned_missing_decoder:
            _warned_missing_decoder = True
            logger.warning("ws token ignored: no access-token decoder installed")
        return ANONYMOUS
    try:
        if inspect.iscoroutinefunction(decoder):
            claims = await decoder(token)
        else:
            claims = await sync_to_async(decoder)(token)
    # The decoder is another app's code with its own exceptions (jose's JWTError, an auth
    # ApiError, ValueError …): whatever it raises, the token did not verify.
    except Exception as exc:  # noqa: BLE001
        logger.info("ws token rejected", extra={"error": exc.__class__.__name__})
        return WsIdentity(is_token_invalid=True)
    if not isinstance(claims, Mapping) or not claims.get("sub"):
        return WsIdentity(is_token_invalid=True)
    tenant_id = claims.get("tenant_id") or claims.get("tid")
    return WsIdentity(
        user_id=str(claims["sub"]),
        tenant_id=str(tenant_id) if tenant_id else None,
    )


class QueryTokenAuthMiddleware:
    """ASGI middleware: `scope["ws_identity"]` from the `token` query parameter."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        identity = await identity_from_token(token) if token else ANONYMOUS
        # `send` is passed through untouched: flow_control relies on daphne's own callable.
        return await self.inner({**scope, "ws_identity": identity}, receive, send)
