"""Fixtures of the price stream tests: offers, connected sockets, publishing, frame reading."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as redis_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from apps.providers.events import PriceUpdate
from apps.providers.models import GPUOffer, Provider
from apps.websocket_gateway.relay import current_relay
from gpubroker.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")


def update_payload(
    *,
    gpu: str,
    provider: str = "vastai",
    region: str = "us-east",
    offer_id: str | None = None,
    old_price: float | None = 1.0,
    new_price: float = 0.9,
    availability_status: str = "available",
) -> dict[str, Any]:
    """A SPEC `data` object as ingestion publishes it (`PriceUpdate.as_data`: every key, the
    issue 12 ones unknown here)."""
    return PriceUpdate(
        offer_id=offer_id or str(uuid.uuid4()),
        provider=provider,
        gpu=gpu,
        region=region,
        old_price=old_price,
        new_price=new_price,
        availability_status=availability_status,
        timestamp="2025-01-01T00:00:00+00:00",
    ).as_data()


async def publish(payload: dict[str, Any] | str, *, url: str | None = None) -> int:
    """Publish on `price_updates`; returns how many subscribers Redis delivered it to."""
    client = redis_asyncio.Redis.from_url(url or settings.REDIS_URL)
    try:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return int(await client.publish("price_updates", text))
    finally:
        await client.aclose()


async def next_frame(
    communicator: WebsocketCommunicator, *, seconds: float = 3.0, skip_heartbeats: bool = True
) -> dict[str, Any]:
    """The next frame from the server, skipping heartbeats unless asked not to."""
    while True:
        frame = json.loads(await communicator.receive_from(timeout=seconds))
        if not (skip_heartbeats and frame["type"] == "heartbeat"):
            return frame  # type: ignore[no-any-return]


async def frames_within(communicator: WebsocketCommunicator, seconds: float) -> list[dict]:
    """Every non-heartbeat frame that arrives within `seconds`."""
    frames: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        if await communicator.receive_nothing(timeout=remaining, interval=0.01):
            break
        frame = json.loads(await communicator.receive_from())
        if frame["type"] != "heartbeat":
            frames.append(frame)
    return frames


Connect = Callable[..., Awaitable[WebsocketCommunicator]]


@pytest_asyncio.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open sockets through the real ASGI application; all are closed and the relay stopped
    at the end so no task outlives the test's event loop."""
    opened: list[WebsocketCommunicator] = []

    async def _connect(
        path: str = "/ws/",
        *,
        expect_snapshot: bool = True,
        headers: tuple[tuple[bytes, bytes], ...] = (ORIGIN,),
    ) -> Any:
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect(timeout=3)
        assert connected is True
        opened.append(communicator)
        if expect_snapshot:
            snapshot = await next_frame(communicator)
            assert snapshot["type"] == "snapshot"
            communicator.first_snapshot = snapshot  # type: ignore[attr-defined]
        return communicator

    yield _connect
    for communicator in opened:
        await communicator.disconnect(timeout=3)
    relay = current_relay()
    if relay is not None:
        await relay.stop()
    # Snapshot reads ran in asgiref's thread; close its connection so the test database can
    # be dropped at the end of the session.
    await sync_to_async(connections.close_all)()


@pytest.fixture
def gpu_tag() -> str:
    """A GPU name no other test (or engineer's test publishing on the shared Redis) uses."""
    return f"testgpu-{uuid.uuid4().hex[:8]}"


def create_offers(gpu_tag: str) -> dict[str, GPUOffer]:
    """Three offers of `gpu_tag` at two providers, plus an unavailable and a stale one."""
    vast = Provider.objects.create(name=f"vast-{gpu_tag}", display_name="Vast")
    runpod = Provider.objects.create(name=f"runpod-{gpu_tag}", display_name="RunPod")

    def offer(provider: Provider, external_id: str, price: str, **fields: Any) -> GPUOffer:
        defaults: dict[str, Any] = {
            "gpu_type": f"{gpu_tag.upper()} 80GB",
            "gpu_model": gpu_tag,
            "gpu_name_raw": f"NVIDIA {gpu_tag}",
            "gpu_memory_gb": 80,
            "region": "us-east",
        }
        defaults.update(fields)
        return GPUOffer.objects.create(
            provider=provider,
            external_id=external_id,
            price_per_hour=Decimal(price),
            **defaults,
        )

    return {
        "cheap": offer(vast, "a", "1.5000"),
        "mid": offer(runpod, "b", "2.2500", region="eu-west"),
        "dear": offer(vast, "c", "3.0000"),
        "unavailable": offer(vast, "d", "0.5000", availability_status="unavailable"),
        "stale": offer(runpod, "e", "0.6000", is_stale=True),
    }
