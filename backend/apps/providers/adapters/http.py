"""HTTP helpers of the adapters: the default timeout, headers, redaction, body excerpts.

`base.ProviderAdapter.request_json` sends every request through them. Framework-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import httpx

#: Every request carries this unless the adapter passes its own. Provider listings are small
#: JSON documents; a provider that needs longer than this is treated as down (retryable).
DEFAULT_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)

_BODY_EXCERPT_CHARS: Final = 200


def bearer(token: str) -> dict[str, str]:
    """The `Authorization: Bearer` header for a token."""
    return {"Authorization": f"Bearer {token}"}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def body_excerpt(response: httpx.Response) -> str:
    """The first characters of a response body on one line, for error messages."""
    text = response.text[:_BODY_EXCERPT_CHARS].strip().replace("\n", " ")
    return text or "<empty body>"


def status_failure(status: int) -> tuple[str, bool]:
    """(AdapterError kind, retryable) of an HTTP error status.

    429 `rate_limited` and 5xx `server` are retryable; 401/403 `auth` and other 4xx `client`
    are not.
    """
    if status == 429:
        return "rate_limited", True
    if status >= 500:
        return "server", True
    if status in (401, 403):
        return "auth", False
    return "client", False
