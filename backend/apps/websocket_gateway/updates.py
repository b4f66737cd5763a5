"""Messages on the Redis channel `price_updates` and the frames sent to clients.

Framework-free. Producers (ingestion, or any other process) publish the SPEC `data` object as
JSON; the relay validates it once per process and serialises the client frame once, so fan-out
to a thousand sockets costs a thousand `send` calls and no JSON work.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

PRICE_UPDATES_CHANNEL = "price_updates"

SPEC_KEYS = (
    "offer_id",
    "provider",
    "gpu",
    "region",
    "old_price",
    "new_price",
    "availability_status",
    "timestamp",
)
_TEXT_KEYS = ("offer_id", "provider", "gpu", "region", "availability_status", "timestamp")


class MalformedPriceUpdate(ValueError):
    """A message on `price_updates` is not a valid SPEC data object; the relay skips it."""


@dataclass(frozen=True)
class PriceUpdate:
    """A validated update: the SPEC data object and its client frame, serialised once."""

    data: dict[str, Any]
    frame: str

    @property
    def offer_id(self) -> str:
        return str(self.data["offer_id"])


def _price(value: object, *, key: str, nullable: bool) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPriceUpdate(f"{key} must be a finite number")
    return float(value)


def parse_price_update(raw: bytes | str) -> PriceUpdate:
    """Validate one published message and build its `price_update` frame.

    Contract: the payload is a JSON object with string `offer_id`, `provider`, `gpu`, `region`,
    `availability_status`, `timestamp`, a numeric `new_price` and a numeric or null `old_price`
    (null for a newly seen offer). Numeric strings are accepted for prices because Decimal
    producers often emit them. Unknown keys are dropped so clients see exactly the SPEC shape.
    Raises `MalformedPriceUpdate` otherwise.
    """
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPriceUpdate(f"not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedPriceUpdate("not a JSON object")
    data: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        value = payload.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedPriceUpdate(f"{key} must be a non-empty string")
        data[key] = value
    for key, nullable in (("old_price", True), ("new_price", False)):
        value = payload.get(key)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError as exc:
                raise MalformedPriceUpdate(f"{key} must be a finite number") from exc
        data[key] = _price(value, key=key, nullable=nullable)
    ordered = {key: data[key] for key in SPEC_KEYS}
    frame = json.dumps({"type": "price_update", "data": ordered}, separators=(",", ":"))
    return PriceUpdate(data=ordered, frame=frame)


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
