"""schemathesis hooks for GPUBROKER (loaded through SCHEMATHESIS_HOOKS by gpubroker.testing.fuzz).

`error_envelope`: every response with a status of 400 or more carries the SPEC envelope,
`{"error": {"code", "message", "details", "trace_id"}, "detail"}` with `detail` equal to
`message`, whatever layer wrote it (a handler, a middleware, the server itself).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

ENVELOPE_KEYS = {"code", "message", "details", "trace_id"}


@schemathesis.check
def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Fail unless a 4xx/5xx response is the SPEC error envelope."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(
            f"{response.status_code} is not JSON: {response.content[:200]!r}"
        ) from None
    error = body.get("error") if isinstance(body, dict) else None
    if (
        not isinstance(error, dict)
        or not error.keys() >= ENVELOPE_KEYS
        or not isinstance(error["details"], dict)
        or body.get("detail") != error["message"]
    ):
        raise AssertionError(f"{response.status_code} is not the error envelope: {body!r:.300}")
    return None
