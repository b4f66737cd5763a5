"""The frames sent to WebSocket clients: price updates, snapshots and control frames.

Framework-free. Producers publish `apps.providers.events.PriceUpdate` JSON; the relay parses it
once per process and serialises the client frame once, so fan-out to a thousand sockets costs
a thousand `send` calls and no JSON work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.providers.events import MalformedPriceUpdate, PriceUpdate

__all__ = [
    "HEARTBEAT_FRAME",
    "PONG_FRAME",
    "MalformedPriceUpdate",
    "UpdateFrame",
    "control_frame",
    "parse_price_update",
    "snapshot_frame",
    "update_frame",
]


@dataclass(frozen=True)
class UpdateFrame:
    """A validated update as the relay hands it to sockets: its data and client frame.

    Attributes:
        data: The SPEC data object (`PriceUpdate.as_data()`), what socket filters match on.
        frame: The `price_update` frame, serialised once per process for every socket.
    """

    data: dict[str, Any]
    frame: str

    @property
    def offer_id(self) -> str:
        """The offer the update is about (the outbox coalesces per offer)."""
        return str(self.data["offer_id"])


def update_frame(update: PriceUpdate) -> UpdateFrame:
    """The client frame of one update: `{"type": "price_update", "data": {...}}`."""
    data = update.as_data()
    frame = json.dumps({"type": "price_update", "data": data}, separators=(",", ":"))
    return UpdateFrame(data=data, frame=frame)


def parse_price_update(raw: bytes | str) -> UpdateFrame:
    """`PriceUpdate.parse` a published message and build its frame.

    Raises:
        MalformedPriceUpdate: the message breaks the contract (see `PriceUpdate.parse`).
    """
    return update_frame(PriceUpdate.parse(raw))


def control_frame(message_type: str, **fields: Any) -> str:
    """A small server → client frame such as `heartbeat`, `pong` or `error`."""
    return json.dumps({"type": message_type, **fields}, separators=(",", ":"))


HEARTBEAT_FRAME = control_frame("heartbeat")
PONG_FRAME = control_frame("pong")


def snapshot_frame(
    *, reason: str, filters: dict[str, Any], offers_json: str, is_truncated: bool
) -> str:
    """The `snapshot` frame, built around an offers list serialised once and shared."""
    head = json.dumps({"reason": reason, "filters": filters, "truncated": is_truncated})
    return '{"type":"snapshot","data":' + head[:-1] + ',"offers":' + offers_json + "}}"
