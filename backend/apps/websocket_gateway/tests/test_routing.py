"""Who may open a socket and where: Origin rules, `/ws` with and without slash, unknown paths.

In-process through the real ASGI application (origin check, token middleware, URL router), then
once under a real daphne with a real `websockets` client, whose log must hold no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.websocket_gateway.consumers import CLOSE_UNKNOWN_PATH
from apps.websocket_gateway.tests.conftest import Connect, next_frame
from gpubroker.asgi import application
from gpubroker.testing.processes import daphne_server

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_client_without_origin_gets_the_stream(connect: Connect) -> None:
    communicator = await connect(headers=())
    assert communicator.first_snapshot["data"]["reason"] == "connect"
    await communicator.send_json_to({"type": "ping"})
    assert await next_frame(communicator) == {"type": "pong"}


@pytest.mark.parametrize(
    "origin", [b"http://127.0.0.1", b"http://localhost:8000", b"https://localhost", b"http://[::1]"]
)
async def test_an_allowed_origin_gets_the_stream(connect: Connect, origin: bytes) -> None:
    communicator = await connect(headers=((b"origin", origin),))
    assert communicator.first_snapshot["type"] == "snapshot"


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://127.0.0.1.evil.example",
        b"null",
        b"",
        b"not a url",
    ],
)
async def test_a_foreign_or_malformed_origin_is_refused(origin: bytes) -> None:
    communicator = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", origin)])
    connected, _ = await communicator.connect(timeout=3)
    assert connected is False


async def test_ws_without_trailing_slash_is_the_same_stream(connect: Connect) -> None:
    communicator = await connect("/ws", headers=())
    assert communicator.first_snapshot["type"] == "snapshot"
    await communicator.send_json_to({"type": "ping"})
    assert await next_frame(communicator) == {"type": "pong"}


@pytest.mark.parametrize("path", ["/nope/", "/ws/extra", "/wss/", "/"])
async def test_an_unknown_path_gets_an_error_and_close_4404(path: str, caplog) -> None:
    caplog.set_level(logging.INFO)
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect(timeout=3)
    assert connected is True
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error == {
        "type": "error",
        "code": "NOT_FOUND",
        "message": f"no WebSocket endpoint at {path}; the price stream is at /ws/",
    }
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNKNOWN_PATH}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    await communicator.wait()


async def _next_non_heartbeat(client) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(client.recv(), 10))
        if frame["type"] != "heartbeat":
            return frame  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_under_daphne_no_origin_no_slash_and_unknown_paths_close_cleanly(
    tmp_path: Path,
) -> None:
    from asgiref.sync import sync_to_async
    from django.db import connection

    from gpubroker.testing.processes import database_url

    env = {"DATABASE_URL": await sync_to_async(database_url)(connection.settings_dict)}
    with daphne_server(tmp_path, env=env) as server:
        for path in ("/ws/", "/ws"):
            async with ws_connect(f"{server.ws_url}{path}") as client:
                first = json.loads(await asyncio.wait_for(client.recv(), 10))
                assert first["type"] == "snapshot"
                await client.send(json.dumps({"type": "ping"}))
                assert await _next_non_heartbeat(client) == {"type": "pong"}

        async with ws_connect(f"{server.ws_url}/nope") as client:
            error = json.loads(await asyncio.wait_for(client.recv(), 10))
            assert error["code"] == "NOT_FOUND"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(client.recv(), 10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == CLOSE_UNKNOWN_PATH

        with pytest.raises(InvalidStatus) as refused:
            await ws_connect(f"{server.ws_url}/ws/", origin="http://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403

    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "No route found" not in log
