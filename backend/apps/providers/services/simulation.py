"""Saying so when a tenant-facing answer came from recordings, not from the provider.

In replay mode (`GPUBROKER_PROVIDER_MODE=replay`, the demo and test default) every provider
request is answered by a recorded response: a "validated" key was never checked and a "booked"
instance was never launched. Booking and key validation therefore mark each answer
`simulated: true` with `REPLAY_*` messages, prefix booking ids with `replay-`, and put
`simulated: true` in the details of their errors. Live answers carry `simulated: false`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.conf import settings

REPLAY_NOTICE: Final = "Replay mode: no request reached the provider"
REPLAY_BOOKING_MESSAGE: Final = (
    f"{REPLAY_NOTICE}; this booking is simulated from recorded responses and no instance was"
    " launched"
)
REPLAY_VALIDATION_MESSAGE: Final = (
    f"{REPLAY_NOTICE}; this key validation is simulated from recordings and the key was not checked"
)
#: Booking ids made from recordings are marked in the response and in the stored booking.
REPLAY_BOOKING_ID_PREFIX: Final = "replay-"


def provider_calls_simulated() -> bool:
    """True when provider requests are answered from recordings (replay mode)."""
    return bool(settings.GPUBROKER_PROVIDER_MODE == "replay")


def is_simulated_message(message: str) -> bool:
    """Whether a stored integration message records a simulated (replayed) check."""
    return message.startswith(REPLAY_NOTICE)


def error_details(details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Error details, with `simulated: true` added when the error came from a recording."""
    merged = dict(details or {})
    if provider_calls_simulated():
        merged["simulated"] = True
    return merged
