"""The one message contract between ingestion and the WebSocket gateway: `PriceUpdate`.

Ingestion builds a `PriceUpdate` per changed offer and publishes `to_json()` on the Redis
pub/sub channel PRICE_UPDATES_CHANNEL after its transaction commits; the gateway's relay reads
the channel with `PriceUpdate.parse`. Any other process may publish the same JSON (SPEC.md
"WebSocket", docs/websocket.md). Framework-free apart from the after-commit publishing helper.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from gpubroker.core.events import after_commit, publish_now

PRICE_UPDATES_CHANNEL: Final = "price_updates"

#: The SPEC `data` object's keys, in the order clients see them.
SPEC_KEYS: Final = (
    "offer_id",
    "provider",
    "gpu",
    "region",
    "old_price",
    "new_price",
    "availability_status",
    "timestamp",
)
#: Keys v2 adds after the SPEC's (optional for other producers; null when unknown).
EXTRA_KEYS: Final = (
    "price_as_of",
    "new_spot_price",
    "new_price_per_gpu",
    "provider_region",
    "country",
    "state",
    "city",
    "macro_region",
)
#: The offer's place in an update (EXTRA_KEYS' optional strings besides price_as_of).
PLACE_KEYS: Final = ("provider_region", "country", "state", "city", "macro_region")
_TEXT_KEYS: Final = ("offer_id", "provider", "gpu", "region", "availability_status", "timestamp")
_DATA_KEYS: Final = (*SPEC_KEYS, *EXTRA_KEYS)
# One encoder for every message: json.dumps(separators=...) builds a new one per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))


class MalformedPriceUpdate(ValueError):
    """A message on `price_updates` is not a valid SPEC data object; the relay skips it."""


def _price(value: object, *, key: str) -> float | None:
    """A finite price from a number or numeric string; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise MalformedPriceUpdate(f"{key} must be a finite number") from exc
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPriceUpdate(f"{key} must be a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    """One offer's price or availability change, as published on PRICE_UPDATES_CHANNEL.

    Attributes:
        offer_id: The offer's UUID, as text.
        provider: `Provider.name`.
        gpu: The offer's GPU (`gpu_type`: the canonical model for a listed offer).
        region: The offer's region.
        old_price: The previous price, USD/hour for the instance; None for a new offer.
        new_price: The current price, USD/hour for the instance.
        availability_status: available, limited or unavailable.
        timestamp: ISO 8601 time of the change (the sync's time).
        price_as_of: ISO 8601 time the new price was true (the provider's own time, a manual
            list's date, else the fetch time); None when the producer does not say.
        new_spot_price: The instance's spot price now, USD/hour; None when it has none.
        new_price_per_gpu: new_price divided by the GPU count, USD/GPU-hour; None if unknown.
        provider_region, country, state, city, macro_region: The offer's place (the
            provider's id, ISO alpha-2, ...; `adapters.geography`), None when unknown; the
            WebSocket `region` filter matches them as the listing's does.
    """

    offer_id: str
    provider: str
    gpu: str
    region: str
    old_price: float | None
    new_price: float
    availability_status: str
    timestamp: str
    price_as_of: str | None = None
    new_spot_price: float | None = None
    new_price_per_gpu: float | None = None
    provider_region: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    macro_region: str | None = None

    @classmethod
    def of_change(
        cls,
        *,
        offer_id: uuid.UUID,
        provider: str,
        gpu: str,
        region: str,
        old_price: Decimal | None,
        new_price: Decimal,
        availability: str,
        at: datetime,
        price_as_of: datetime | None = None,
        new_spot_price: Decimal | None = None,
        gpu_count: int | None = None,
        place: Mapping[str, str | None] | None = None,
    ) -> PriceUpdate:
        """The update ingestion publishes for one changed offer (prices from DECIMAL columns).

        `place` maps PLACE_KEYS to the offer's values (missing keys: None).
        """
        where = place or {}
        per_gpu = float(new_price) / gpu_count if gpu_count else None
        return cls(
            offer_id=str(offer_id),
            provider=provider,
            gpu=gpu,
            region=region,
            old_price=None if old_price is None else float(old_price),
            new_price=float(new_price),
            availability_status=availability,
            timestamp=at.isoformat(),
            price_as_of=price_as_of.isoformat() if price_as_of else None,
            new_spot_price=None if new_spot_price is None else float(new_spot_price),
            new_price_per_gpu=None if per_gpu is None else round(per_gpu, 6),
            **{key: where.get(key) for key in PLACE_KEYS},
        )

    def as_data(self) -> dict[str, Any]:
        """The SPEC `data` object, keys in SPEC_KEYS then EXTRA_KEYS order."""
        return {key: getattr(self, key) for key in _DATA_KEYS}

    def to_json(self) -> str:
        """The message as published: compact JSON of `as_data()`."""
        return _ENCODER.encode(self.as_data())

    @classmethod
    def parse(cls, raw: bytes | str) -> PriceUpdate:
        """Validate one published message.

        Contract: a JSON object with non-empty string `offer_id`, `provider`, `gpu`, `region`,
        `availability_status`, `timestamp`, a numeric `new_price` and a numeric or null
        `old_price` (null for a newly seen offer). Optional: `price_as_of` and the PLACE_KEYS
        (strings or null), `new_spot_price` and `new_price_per_gpu` (numeric or null). Numeric
        strings are accepted for prices because Decimal producers often emit them. Unknown
        keys are dropped.

        Raises:
            MalformedPriceUpdate: anything else (not JSON, not an object, a missing or empty
                text key, a non-finite or non-numeric price).
        """
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPriceUpdate(f"not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise MalformedPriceUpdate("not a JSON object")
        text: dict[str, str] = {}
        for key in _TEXT_KEYS:
            value = payload.get(key)
            if not isinstance(value, str) or not value:
                raise MalformedPriceUpdate(f"{key} must be a non-empty string")
            text[key] = value
        new_price = _price(payload.get("new_price"), key="new_price")
        if new_price is None:
            raise MalformedPriceUpdate("new_price must be a finite number")
        optional: dict[str, Any] = {}
        for key in ("price_as_of", *PLACE_KEYS):
            value = payload.get(key)
            if value is not None and not isinstance(value, str):
                raise MalformedPriceUpdate(f"{key} must be a string or null")
            optional[key] = value or None
        return cls(
            old_price=_price(payload.get("old_price"), key="old_price"),
            new_price=new_price,
            new_spot_price=_price(payload.get("new_spot_price"), key="new_spot_price"),
            new_price_per_gpu=_price(payload.get("new_price_per_gpu"), key="new_price_per_gpu"),
            **optional,
            **text,
        )


def price_update_json(values: tuple[Any, ...]) -> str:
    """`PriceUpdate(*values).to_json()` without building the object (ingestion's hot path).

    `values` are PriceUpdate's fields in declaration order (SPEC_KEYS then EXTRA_KEYS), already
    in their published types (text, float or None); nothing is validated or converted.
    """
    return _ENCODER.encode(dict(zip(_DATA_KEYS, values, strict=True)))


def price_updates_publish_after_commit(updates: Iterable[PriceUpdate]) -> None:
    """Publish each update on PRICE_UPDATES_CHANNEL once the current transaction commits."""
    price_payloads_publish_after_commit([update.to_json() for update in updates])


def price_payloads_publish_after_commit(payloads: list[str]) -> None:
    """Publish serialised updates (`to_json`, `price_update_json`) once the transaction commits."""
    if payloads:
        after_commit(lambda: publish_now(PRICE_UPDATES_CHANNEL, payloads))
