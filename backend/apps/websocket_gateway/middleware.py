"""`?token=` authentication for WebSocket connections.

Browsers cannot set an Authorization header on a WebSocket, so the access token travels in the
query string. The middleware verifies it with the auth app and records who is connecting in
`scope["ws_identity"]`; the consumer decides what to do (anonymous sockets are allowed, a
token that does not verify is refused with close code 4401).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from gpubroker.core.errors import Unauthorized

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WsIdentity:
    """Who opened a socket. `is_token_invalid` means a token was sent and did not verify.

    `ws_limit` is the tenant's socket cap when the token's user belongs to a tenant.
    """

    user_id: str | None = None
    tenant_id: str | None = None
    ws_limit: int | None = None
    is_token_invalid: bool = False

    @property
    def is_authenticated(self) -> bool:
        """True when a valid token named a user."""
        return self.user_id is not None


ANONYMOUS = WsIdentity()
INVALID_TOKEN = WsIdentity(is_token_invalid=True)


async def authenticate_token(token: str) -> WsIdentity:
    """Verify an access token (signature, expiry, type, active user) into an identity.

    Raises the auth app's `Unauthorized` when the token does not verify. Imported lazily so the
    gateway's routing does not pull the auth app's models in at import time.
    """
    from apps.auth_app.auth import aauthenticate_access_token

    principal = await aauthenticate_access_token(token)
    tenant = principal.tenant
    return WsIdentity(
        user_id=str(principal.user.pk),
        tenant_id=str(tenant.pk) if tenant is not None else None,
        ws_limit=tenant.ws_limit if tenant is not None else None,
    )


async def identity_from_token(token: str) -> WsIdentity:
    """The socket's identity; `INVALID_TOKEN` when the token does not verify."""
    try:
        return await authenticate_token(token)
    except Unauthorized:
        logger.info("ws token rejected")
        return INVALID_TOKEN


class QueryTokenAuthMiddleware:
    """ASGI middleware: `scope["ws_identity"]` from the `token` query parameter."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Put the socket's identity in `scope["ws_identity"]` and call the inner application."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        identity = await identity_from_token(token) if token else ANONYMOUS
        # `send` is passed through untouched: flow_control relies on daphne's own callable.
        return await self.inner({**scope, "ws_identity": identity}, receive, send)
