"""The frames sent to WebSocket clients: price updates, snapshots and control frames.

Framework-free. Producers publish `apps.providers.events.PriceUpdate` JSON; the relay parses it
once per process and serialises the client frame once (as text, and as the complete WebSocket
wire frame), so fan-out to a thousand sockets costs a thousand transport writes and no JSON,
encoding or framing work.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
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
    "wire_text_frame",
]


@dataclass(frozen=True)
class UpdateFrame:
    """A validated update as the relay hands it to sockets: its data and client frame.

    Attributes:
        data: The SPEC data object (`PriceUpdate.as_data()`), what socket filters match on.
        frame: The `price_update` frame, serialised once per process for every socket.
        wire: `frame` as one unmasked, unfragmented, uncompressed RFC 6455 text frame (header
            and UTF-8 payload): the bytes a server writes to every socket, built once.
    """

    data: dict[str, Any]
    frame: str
    wire: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not self.wire:
            object.__setattr__(self, "wire", wire_text_frame(self.frame))

    @property
    def offer_id(self) -> str:
        """The offer the update is about (the outbox coalesces per offer)."""
        return str(self.data["offer_id"])


def update_frame(update: PriceUpdate) -> UpdateFrame:
    """The client frame of one update: `{"type": "price_update", "data": {...}}`."""
    data = update.as_data()
    frame = json.dumps({"type": "price_update", "data": data}, separators=(",", ":"))
    return UpdateFrame(data=data, frame=frame)


def wire_text_frame(text: str) -> bytes:
    """`text` as a server → client WebSocket frame: FIN + text opcode, length, UTF-8 payload.

    Unmasked (servers never mask), one fragment, no extension bits: the same bytes autobahn's
    `sendMessage(text.encode())` writes when no compression is negotiated.
    """
    payload = text.encode("utf-8")
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, length)
    else:
        head = struct.pack("!BBQ", 0x81, 127, length)
    return head + payload


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
