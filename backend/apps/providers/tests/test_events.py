"""Price updates as ingestion serialises and publishes them (real Redis, no mocks)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from apps.providers.events import (
    PRICE_UPDATES_CHANNEL,
    PriceUpdate,
    price_update_json,
)
from gpubroker.core.events import PUBLISH_CHUNK, publish_now


def _update(**changes: object) -> PriceUpdate:
    update = PriceUpdate.of_change(
        offer_id=uuid.uuid4(),
        provider="vastai",
        gpu="H100 SXM",
        region="Texas, US",
        old_price=Decimal("2.4900"),
        new_price=Decimal("2.3500"),
        availability="limited",
        at=datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC),
        price_as_of=datetime(2026, 11, 29, 11, 59, tzinfo=UTC),
        new_spot_price=Decimal("1.1000"),
        gpu_count=8,
        place={"provider_region": "Texas, US", "country": "US", "state": "Texas"},
    )
    return dataclasses.replace(update, **changes)


def test_tuple_serialiser_writes_the_same_message_as_the_dataclass() -> None:
    for update in (
        _update(),
        _update(old_price=None, price_as_of=None, new_spot_price=None, new_price_per_gpu=None),
        _update(city="Montréal", gpu='A "quoted" card'),
    ):
        assert price_update_json(dataclasses.astuple(update)) == update.to_json()
        assert PriceUpdate.parse(price_update_json(dataclasses.astuple(update))) == update


def test_publish_now_delivers_every_message_in_order_across_chunks(price_updates) -> None:
    updates = [_update(new_price=float(i)) for i in range(2 * PUBLISH_CHUNK + 7)]
    sent = publish_now(PRICE_UPDATES_CHANNEL, [update.to_json() for update in updates])
    assert sent == len(updates)
    received = price_updates()
    assert [message["new_price"] for message in received] == [float(i) for i in range(len(updates))]
