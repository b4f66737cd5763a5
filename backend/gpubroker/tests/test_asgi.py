"""The ASGI application under a real daphne process, and the WebSocket route in-process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from channels.testing import WebsocketCommunicator

from gpubroker import dburl
from gpubroker.asgi import application
from gpubroker.testing.processes import daphne_server


@pytest.mark.slow
def test_daphne_serves_health_docs_and_static(tmp_path: Path) -> None:
    with daphne_server(tmp_path) as server:
        health = httpx.get(f"{server.base_url}/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        docs = httpx.get(f"{server.base_url}/api/v2/docs", timeout=5)
        assert docs.status_code == 200
        bundle = httpx.get(f"{server.base_url}/static/ninja/swagger-ui-bundle.js", timeout=5)
        assert bundle.status_code == 200
        assert len(bundle.content) > 100_000
        missing = httpx.get(f"{server.base_url}/api/v2/nope", timeout=5)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert "django_http_requests_total_by_method_total" in metrics.text


@pytest.mark.asyncio
async def test_websocket_route_accepts_on_ws_path() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await communicator.connect()
    assert connected is True
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_websocket_from_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert connected is False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pooled_connections_serve_and_a_lost_database_is_503(
    tmp_path: Path, closed_port: int
) -> None:
    with daphne_server(tmp_path, env={"DB_POOL_MAX_SIZE": "2"}) as server:
        # More DB-backed requests than pooled connections: connections are returned and reused.
        for _ in range(5):
            response = httpx.get(f"{server.base_url}/api/v2/math/benchmarks", timeout=10)
            assert response.status_code == 200
    down = {
        "DB_POOL_MAX_SIZE": "2",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
        "DATABASE_URL": dburl.postgres_url(
            host="127.0.0.1", port=closed_port, user="postgres", name="nothing"
        ),
    }
    with daphne_server(tmp_path, env=down) as server:
        response = httpx.get(f"{server.base_url}/api/v2/math/benchmarks", timeout=10)
        assert response.status_code == 503
        assert response.json()["error"]["message"] == "Database not available"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pooled_connections_cut_by_a_database_restart_are_replaced_on_checkout(
    tmp_path: Path,
) -> None:
    from django.db import connection

    with daphne_server(tmp_path, env={"DB_POOL_MAX_SIZE": "2"}) as server:
        url = f"{server.base_url}/api/v2/math/benchmarks"
        warm = [httpx.get(url, timeout=10).status_code for _ in range(4)]
        # What a PostgreSQL restart does to the pool: every server connection is cut.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (cut,) = cursor.fetchone()
        after = [httpx.get(url, timeout=10).status_code for _ in range(4)]
    assert warm == [200] * 4
    assert cut >= 1
    # Each checkout checks the connection (psycopg_pool's check_connection) and replaces a
    # dead one, so no request after the restart fails.
    assert after == [200] * 4
