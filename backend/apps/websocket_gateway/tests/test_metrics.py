"""The price stream's Prometheus series (apps/websocket_gateway/metrics.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

from apps.websocket_gateway.consumers import CLOSE_SLOW_CONSUMER, PriceUpdateConsumer
from apps.websocket_gateway.filters import StreamFilters
from apps.websocket_gateway.frames import UpdateFrame
from apps.websocket_gateway.metrics import StreamCollector
from apps.websocket_gateway.outbox import Outbox
from apps.websocket_gateway.relay import current_relay
from apps.websocket_gateway.tests.conftest import Connect, next_frame


def stream_series() -> dict[str, float]:
    """Sample name → value of the collector's series (no database, no registry walk)."""
    return {
        sample.name: sample.value
        for family in StreamCollector().collect()
        for sample in family.samples
    }


def _update(offer_id: str, price: float) -> UpdateFrame:
    data = {
        "offer_id": offer_id,
        "provider": "vastai",
        "gpu": "H100-SXM-80GB",
        "region": "us-east",
        "old_price": 2.0,
        "new_price": price,
        "availability_status": "available",
        "timestamp": "2025-01-01T00:00:00+00:00",
    }
    return UpdateFrame(data=data, frame=json.dumps({"type": "price_update", "data": data}))


def _consumer(max_backlog: int) -> PriceUpdateConsumer:
    consumer = PriceUpdateConsumer()
    consumer.outbox = Outbox(max_backlog=max_backlog)
    consumer.filters = StreamFilters()
    return consumer


def test_an_update_replaced_while_queued_counts_as_dropped() -> None:
    consumer = _consumer(max_backlog=10)
    before = stream_series()["gpubroker_websocket_frames_dropped_total"]
    consumer.deliver(_update("o-1", 1.9))
    consumer.deliver(_update("o-2", 1.8))
    assert stream_series()["gpubroker_websocket_frames_dropped_total"] == before
    consumer.deliver(_update("o-1", 1.7))  # the queued 1.9 will never be sent
    assert stream_series()["gpubroker_websocket_frames_dropped_total"] == before + 1
    assert consumer.outbox.backlog == 2


@pytest.mark.asyncio
async def test_a_slow_socket_closed_drops_its_backlog() -> None:
    consumer = _consumer(max_backlog=2)
    closes: list[int] = []

    async def close(code: int | None = None, reason: str | None = None) -> None:
        closes.append(code or 0)

    consumer.close = close  # type: ignore[method-assign]
    before = stream_series()["gpubroker_websocket_frames_dropped_total"]
    for index in range(3):
        consumer.deliver(_update(f"o-{index}", 1.0))
    await asyncio.sleep(0)
    assert closes == [CLOSE_SLOW_CONSUMER]
    # The three queued updates went with the backlog.
    assert stream_series()["gpubroker_websocket_frames_dropped_total"] == before + 3


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_is_counted_with_its_frames_and_the_relay(connect: Connect) -> None:
    before = stream_series()
    communicator = await connect()
    await communicator.send_json_to({"type": "ping"})
    assert (await next_frame(communicator))["type"] == "pong"
    during = stream_series()
    await communicator.disconnect()
    after = stream_series()

    assert (
        during["gpubroker_websocket_connections"] == before["gpubroker_websocket_connections"] + 1
    )
    # The connect snapshot and the pong at least.
    sent = during["gpubroker_websocket_frames_sent_total"]
    assert sent >= before["gpubroker_websocket_frames_sent_total"] + 2
    relay = current_relay()
    assert relay is not None
    assert during["gpubroker_websocket_relay_up"] == 1
    assert after["gpubroker_websocket_connections"] == before["gpubroker_websocket_connections"]
