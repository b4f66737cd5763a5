"""The project's nginx site (`nginx/gpubroker.conf`), run by Debian's nginx in front of daphne.

nginx runs the site file unchanged; only its two per-place includes (listen/root, upstream) are
generated, pointing at two daphne processes on loopback that serve no static files themselves
(`SERVE_STATIC=false`, as in compose). Clients connect from other loopback addresses
(127.0.0.2, 127.0.0.3, …) so the client address nginx sees differs from nginx's own (127.0.0.1,
the only `TRUSTED_PROXY_IPS` entry), which is what the client-IP tests rely on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from apps.ai_assistant.tests.conftest import chunk, scripted_server  # noqa: F401 (fixture)
from apps.websocket_gateway.tests.conftest import create_offers, publish, update_payload
from gpubroker.testing.processes import BACKEND_DIR, ServerProcess, child_environ, daphne_server
from gpubroker.tests.deploy.servers import NginxServer, nginx_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.requires_system_tool("nginx"),
]

PROXY_ENV = {"SERVE_STATIC": "false", "TRUSTED_PROXY_IPS": "127.0.0.1"}
ONE_MIB = 1024 * 1024


class Stack:
    """nginx in front of daphne processes, and the static directory nginx serves."""

    def __init__(self, proxy: NginxServer, backends: list[ServerProcess], static: Path) -> None:
        self.proxy = proxy
        self.backends = backends
        self.static = static

    def client(self, source: str = "127.0.0.2", *, direct: ServerProcess | None = None) -> Any:
        """An httpx client from `source` (a loopback address) to nginx, or to one daphne."""
        base_url = direct.base_url if direct else self.proxy.base_url
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=base_url, transport=transport, timeout=10)


def collect_static(target: Path) -> None:
    """`manage.py collectstatic` into `target` (admin and Swagger UI assets)."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=BACKEND_DIR,
        env=child_environ(
            DJANGO_SETTINGS_MODULE="gpubroker.settings.test", STATIC_ROOT=str(target)
        ),
        check=True,
        timeout=120,
    )


@contextlib.contextmanager
def start_stack(directory: Path, env: dict[str, str], backends: int) -> Iterator[Stack]:
    """Collected static files, `backends` daphne processes and nginx in front of them."""
    static_parent = directory / "public"
    collect_static(static_parent / "static")
    with contextlib.ExitStack() as running:
        servers = [
            running.enter_context(daphne_server(directory, env=env)) for _ in range(backends)
        ]
        proxy = running.enter_context(
            nginx_server(
                directory / "nginx",
                upstream_ports=[server.port for server in servers],
                static_parent=static_parent,
            )
        )
        yield Stack(proxy, servers, static_parent / "static")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None) -> Iterator[Stack]:
    """nginx in front of two daphne processes, shared by this module's tests."""
    with start_stack(tmp_path_factory.mktemp("nginx-stack"), PROXY_ENV, backends=2) as running:
        yield running


def request_paths(server: ServerProcess) -> list[str]:
    """The paths of the JSON request lines in a daphne's log."""
    paths = []
    for line in server.log_path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "request":
                paths.append(record["path"])
    return paths


def test_rest_requests_reach_both_daphne_processes(stack: Stack) -> None:
    offers = create_offers("nginx-rest")
    with stack.client() as client:
        pings = [client.get("/api/v2/ping") for _ in range(6)]
        listing = client.get("/api/v2/providers", params={"provider": "vast-nginx-rest"})
        metrics = client.get("/metrics")

    assert [ping.status_code for ping in pings] == [200] * 6
    assert all(re.fullmatch(r"[0-9a-f]{32}", ping.headers["X-Trace-Id"]) for ping in pings)
    assert listing.status_code == 200
    body = listing.json()
    # Vast's three offers (the unavailable one included), cheapest first.
    assert [item["id"] for item in body["items"]] == [
        str(offers[name].id) for name in ("unavailable", "cheap", "dear")
    ]
    assert body["total"] == 3
    # /metrics is for Prometheus on the inside, not for the public edge.
    assert metrics.status_code == 404
    assert metrics.json()["detail"] == "No route for GET /metrics"
    # Round robin: each of the two processes answered some of the pings.
    for backend in stack.backends:
        assert "/api/v2/ping" in request_paths(backend)


def test_static_assets_come_from_the_collected_directory(stack: Stack) -> None:
    with stack.client() as client:
        docs = client.get("/api/v2/docs")
        assert docs.status_code == 200
        # The Swagger UI page links its assets under /static/; nginx serves them.
        asset_paths = sorted(set(re.findall(r'(/static/[^"\']+\.(?:css|js))', docs.text)))
        assert asset_paths, docs.text[:500]
        assets = {path: client.get(path) for path in asset_paths}
        admin_css = client.get("/static/admin/css/base.css")
        missing = client.get("/static/admin/css/no-such-file.css")
        # daphne itself serves no static files here: nginx is what answered above.
        with stack.client(direct=stack.backends[0]) as direct:
            from_daphne = direct.get(asset_paths[0])

    for path, response in assets.items():
        assert response.status_code == 200, path
        assert response.content == (stack.static / path.removeprefix("/static/")).read_bytes()
        assert response.headers["Cache-Control"] == "max-age=604800"
    assert admin_css.status_code == 200
    assert admin_css.headers["Content-Type"] == "text/css"
    assert missing.status_code == 404
    assert from_daphne.status_code == 404


@pytest.mark.asyncio
async def test_websocket_upgrade_carries_a_price_update(stack: Stack) -> None:
    gpu_tag = f"nginx-{uuid.uuid4().hex[:8]}"  # nobody else publishes updates for this GPU
    client = await connect(
        f"{stack.proxy.ws_url}/ws/", origin="http://127.0.0.1", local_addr=("127.0.0.2", 0)
    )  # type: ignore[arg-type]
    try:
        assert (await next_of_type(client, "snapshot"))["type"] == "snapshot"
        await client.send(json.dumps({"type": "subscribe", "filters": {"gpu": gpu_tag}}))
        await next_of_type(client, "snapshot")
        payload = update_payload(gpu=gpu_tag, offer_id="nginx-ws-1", new_price=0.75)
        receivers = await publish(payload)
        update = await next_of_type(client, "price_update")
        await client.send(json.dumps({"type": "ping"}))
        pong = await next_of_type(client, "pong")
    finally:
        await client.close()

    assert receivers >= 1
    assert update["data"] == payload
    assert pong["type"] == "pong"


def test_oversized_body_gets_the_envelope_from_nginx(stack: Stack) -> None:
    too_large = b"x" * (ONE_MIB + 1)
    headers = {"Content-Type": "application/json"}
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with stack.client() as client:
        refused = client.post("/api/v2/math/topsis", content=too_large, headers=headers)
        traced = client.post(
            "/api/v2/math/topsis",
            content=too_large,
            headers={**headers, "traceparent": traceparent},
        )
        # At the limit nginx passes the body on; the application parses it (and refuses it).
        at_limit = client.post("/api/v2/math/topsis", content=b"x" * ONE_MIB, headers=headers)
    with stack.client(direct=stack.backends[0]) as direct:
        from_app = direct.post("/api/v2/math/topsis", content=too_large, headers=headers)

    assert refused.status_code == 413
    assert refused.headers["Content-Type"] == "application/json"
    body = refused.json()
    assert body["error"]["trace_id"] == refused.headers["X-Trace-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", body["error"]["trace_id"])
    # The same envelope the application writes when nginx is not in front.
    assert from_app.status_code == 413
    app_body = from_app.json()
    assert {**body, "error": {**body["error"], "trace_id": ""}} == {
        **app_body,
        "error": {**app_body["error"], "trace_id": ""},
    }
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["error"]["details"] == {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    assert traced.json()["error"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert at_limit.status_code in (400, 422)
    assert at_limit.json()["error"]["code"] in ("BAD_REQUEST", "VALIDATION_ERROR")


def test_oversized_headers_get_the_envelope_from_nginx_as_from_daphne(stack: Stack) -> None:
    padded = {"Authorization": "Bearer " + "x" * 16 * 1024}
    with stack.client() as client:
        refused = client.get("/api/v2/auth/me", headers=padded)
        # Under nginx's limit the token reaches the application, which refuses it.
        passed = client.get("/api/v2/auth/me", headers={"Authorization": "Bearer " + "x" * 8192})
    with stack.client(direct=stack.backends[0]) as direct:
        from_daphne = direct.get("/api/v2/auth/me", headers=padded)

    assert refused.status_code == 431
    assert refused.headers["Content-Type"] == "application/json"
    body = refused.json()
    assert body["error"]["trace_id"] == refused.headers["X-Trace-Id"]
    assert from_daphne.status_code == 431
    daphne_body = from_daphne.json()
    assert {**body, "error": {**body["error"], "trace_id": ""}} == {
        **daphne_body,
        "error": {**daphne_body["error"], "trace_id": ""},
    }
    assert passed.status_code == 401
    assert passed.json()["error"]["code"] == "UNAUTHORIZED"


def test_no_upstream_answering_is_a_503_envelope(tmp_path: Path, closed_port: int) -> None:
    with (
        nginx_server(
            tmp_path / "nginx", upstream_ports=[closed_port], static_parent=tmp_path
        ) as proxy,
        httpx.Client(base_url=proxy.base_url, timeout=10) as client,
    ):
        response = client.get("/api/v2/ping")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["detail"] == body["error"]["message"] == "Service not available"
    assert body["error"]["trace_id"] == response.headers["X-Trace-Id"]


def test_nginx_out_of_connections_is_a_503_envelope_not_its_500(
    tmp_path: Path, closed_port: int
) -> None:
    # Three connection slots: the listener, the client and nginx's own channel leave none for
    # the upstream, so nginx fails the request itself ("worker_connections are not enough
    # while connecting to upstream"), which it answers with its own 500 unless mapped.
    with (
        nginx_server(
            tmp_path / "nginx",
            upstream_ports=[closed_port],
            static_parent=tmp_path,
            worker_connections=3,
        ) as proxy,
        httpx.Client(base_url=proxy.base_url, timeout=10) as client,
    ):
        response = client.get("/api/v2/providers")
        error_log = (proxy.directory / "error.log").read_text()

    assert "worker_connections are not enough while connecting to upstream" in error_log
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


async def next_of_type(client: ClientConnection, message_type: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(client.recv(), 5))
        if frame["type"] == message_type:
            return frame  # type: ignore[no-any-return]


def statuses(client: Any, count: int, **headers: str) -> list[int]:
    return [client.get("/api/v2/ping", headers=headers).status_code for _ in range(count)]


async def ws_outcome(url: str, source: str, **headers: str) -> str:
    """`"open"` when the socket got its snapshot, else `"closed <code>"`."""
    client = await connect(
        f"{url}/ws/",
        origin="http://127.0.0.1",
        additional_headers=headers,
        local_addr=(source, 0),
    )  # type: ignore[arg-type]
    try:
        await next_of_type(client, "snapshot")
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else None}"
    finally:
        await client.close()
    return "open"


@pytest.mark.asyncio
async def test_limits_count_the_real_client_not_the_proxy_nor_a_spoofed_header(
    tmp_path: Path,
) -> None:
    env = {**PROXY_ENV, "RATE_LIMIT_IP_PER_MINUTE": "3", "WS_DEFAULT_TENANT_LIMIT": "1"}
    with start_stack(tmp_path, env, backends=1) as stack:
        # The per-minute window must not roll over in the middle of the bursts below.
        if time.time() % 60 > 45:
            await asyncio.sleep(61 - time.time() % 60)
        daphne = stack.backends[0]
        with stack.client("127.0.0.2", direct=daphne) as direct:
            direct_statuses = [
                direct.get(
                    "/api/v2/ping", headers={"X-Forwarded-For": f"198.51.100.{n}"}
                ).status_code
                for n in range(4)
            ]
        with stack.client("127.0.0.3") as via_proxy:
            proxied = statuses(via_proxy, 4, **{"X-Forwarded-For": "127.0.0.2"})
        with stack.client("127.0.0.4") as other:
            other_statuses = statuses(other, 1)

        first = await connect(
            f"{stack.proxy.ws_url}/ws/", origin="http://127.0.0.1", local_addr=("127.0.0.5", 0)
        )  # type: ignore[arg-type]
        try:
            await next_of_type(first, "snapshot")
            second_client = await ws_outcome(stack.proxy.ws_url, "127.0.0.6")
            spoofed_client = await ws_outcome(
                stack.proxy.ws_url, "127.0.0.5", **{"X-Forwarded-For": "203.0.113.50"}
            )
            direct_spoof = await ws_outcome(
                daphne.ws_url, "127.0.0.5", **{"X-Forwarded-For": "203.0.113.51"}
            )
        finally:
            await first.close()

    # Sent straight to daphne, X-Forwarded-For is ignored: every request counts for 127.0.0.2.
    assert direct_statuses == [200, 200, 200, 429]
    # Through nginx the client's own address counts, not the hop it claimed (127.0.0.2 is
    # already over its limit) ...
    assert proxied == [200, 200, 200, 429]
    # ... nor nginx's address (127.0.0.1 would have been over the limit by now).
    assert other_statuses == [200]
    # WebSockets: one anonymous socket per client address (WS_DEFAULT_TENANT_LIMIT=1).
    assert second_client == "open"
    assert spoofed_client == "closed 4429"
    assert direct_spoof == "closed 4429"


def _sse_event(lines: Iterator[str]) -> tuple[str, Any]:
    """The next (event, data) of a text/event-stream read line by line."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            break
        name, value = line.split(": ", 1)
        fields[name] = value
    return fields["event"], json.loads(fields["data"])


def test_chat_events_pass_through_nginx_as_they_are_written(
    tmp_path: Path,
    scripted_server: Any,  # noqa: F811 (the fixture imported above)
) -> None:
    # A language model (loopback, OpenAI protocol) that writes its first words, then waits until
    # the client has read them through nginx before it finishes: were the stream held back on
    # the way (proxy buffers, gzip, a cache), the first event would never arrive and the read
    # would time out. The view sends `X-Accel-Buffering: no`, so nginx relays it unbuffered.
    release = threading.Event()
    words = [chunk({"role": "assistant", "content": "Rent "}), chunk({"content": "an H100."})]
    model = scripted_server(
        {"sse": [*words, chunk({}, finish="stop")], "hold_after": 1, "release": release}
    )
    env = {
        **PROXY_ENV,
        "AI_BACKEND": "openai",
        "AI_BASE_URL": f"{model.url}/v1",
        "AI_API_KEY": "sk-test",
        "AI_MODEL": "test-model",
    }
    account = {"email": "sse@example.com", "password": "correct horse battery staple"}
    with (
        daphne_server(tmp_path, env=env) as daphne,
        nginx_server(
            tmp_path / "nginx", upstream_ports=[daphne.port], static_parent=tmp_path
        ) as proxy,
        httpx.Client(base_url=proxy.base_url, timeout=10) as client,
    ):
        registered = client.post("/api/v2/auth/register", json={**account, "full_name": "S"})
        assert registered.status_code == 201, registered.text
        token = client.post("/api/v2/auth/login", json=account).json()["access_token"]
        with client.stream(
            "POST",
            "/api/v2/ai/chat/stream",
            json={"message": "Which GPU should I rent?"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            lines = response.iter_lines()
            first = _sse_event(lines)
            release.set()
            rest = [_sse_event(lines) for _ in range(2)]
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert "X-Accel-Buffering" not in response.headers  # nginx's own instruction, consumed
    assert first == ("delta", {"text": "Rent "})
    assert rest[0] == ("delta", {"text": "an H100."})
    assert rest[1][0] == "done"
    assert rest[1][1]["reply"] == "Rent an H100."
