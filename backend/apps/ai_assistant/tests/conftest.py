"""Fixtures for the assistant: the demo market, signed-in users, and real loopback servers that
speak the OpenAI chat-completions protocol and v1's SomaAgent protocol from a script.

The loopback servers are plain `http.server` threads on 127.0.0.1: the `openai` SDK and our
httpx client talk real HTTP to them, and every request they received is kept for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections
from django.test import AsyncClient, Client

from apps.auth_app.models import Plan, Tenant, User

# A fresh limiter per test (autouse) and a refused loopback port, as in the auth app's tests.
from apps.auth_app.tests.conftest import _fresh_limiter, closed_port  # noqa: F401

PASSWORD = "correct horse battery staple"
TOOL_NAMES = [
    "search_offers",
    "estimate_workload",
    "recommend_offers",
    "get_gpu_specs",
    "get_price_history",
    "cost_per_token",
]


@pytest_asyncio.fixture
async def async_db() -> AsyncIterator[None]:
    """For async tests: close the connection asgiref's sync thread opened for the views, so
    the test database can be dropped at the end of the run."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def market(db: Any) -> None:
    """GPU specs and the demo market: every provider's recordings replayed through its adapter."""
    call_command("load_gpu_specs", verbosity=0)
    call_command("sync_providers", verbosity=0)


@dataclass
class Account:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


@pytest.fixture
def make_account(db: Any) -> Callable[..., Account]:
    counter = iter(range(1_000_000))

    def make(plan: str = Plan.FREE) -> Account:
        email = f"buyer{next(counter)}@example.com"
        tenant = Tenant.objects.create(name=email, plan=plan)
        user = User.objects.create_user(email, PASSWORD, tenant=tenant, full_name="GPU Buyer")
        response = Client().post(
            "/api/v2/auth/login",
            {"email": email, "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return Account(user=user, token=response.json()["access_token"])

    return make


@pytest.fixture
def account(make_account: Callable[..., Account]) -> Account:
    return make_account()


class Api:
    """JSON calls to /api/v2/ai with the sync test client."""

    def __init__(self) -> None:
        self.client = Client()

    def post(self, path: str, body: Any, account: Account | None = None) -> Any:
        headers = account.headers if account else {}
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(
            f"/api/v2/ai{path}", data, content_type="application/json", **headers
        )

    def get(self, path: str, account: Account | None = None) -> Any:
        return self.client.get(f"/api/v2/ai{path}", **(account.headers if account else {}))


@pytest.fixture
def api() -> Api:
    return Api()


async def stream(path: str, body: Any, account: Account) -> tuple[Any, list[tuple[str, Any]]]:
    """POST to /api/v2/ai`path` with the async test client and read the event stream to the end.

    The request and its stream run in the test's event loop, as under daphne: a streamed
    response is produced by generators of the loop that served the request. Tests using it
    need committed data (`django_db(transaction=True)`): the view's database work runs in
    another thread.
    """
    response = await AsyncClient().post(
        f"/api/v2/ai{path}",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {account.token}"},
    )
    if not getattr(response, "streaming", False):
        return response, []
    raw = b"".join([piece async for piece in response.streaming_content])
    return response, sse_events(raw.decode())


def sse_events(raw: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body."""
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# --- loopback servers ----------------------------------------------------------------------------

Reply = dict[str, Any]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted reply (the last one repeats).

    A reply is a dict: `json` (body), `status` (default 200), `raw` (bytes sent as they are,
    as `content_type`),
    `sse` (a list of JSON objects sent as `data:` events, then `data: [DONE]`), `delay`
    (seconds to wait first), or a callable taking the `Received` request and returning one.
    With `sse`, `hold_after: n` plus `release: threading.Event` sends the first n events, then
    waits for the event before sending the rest (a stream that is still being written).
    """

    replies: list[Reply | Callable[[Received], Reply]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_reply(self, request: Received) -> Reply:
        self.received.append(request)
        index = min(len(self.received), len(self.replies)) - 1
        reply = self.replies[index]
        return reply(request) if callable(reply) else reply


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Received(self.command, self.path, headers, body)
            reply = server.next_reply(request)
            if reply.get("delay"):
                time.sleep(reply["delay"])
            status = reply.get("status", 200)
            if "release" in reply:
                self._held_stream(reply)
                return
            if "sse" in reply:
                payload = b"".join(
                    f"data: {json.dumps(event)}\n\n".encode() for event in reply["sse"]
                )
                payload += b"data: [DONE]\n\n"
                content_type = "text/event-stream"
            elif "raw" in reply:
                payload = reply["raw"]
                content_type = reply.get("content_type", "application/json")
            else:
                payload, content_type = (
                    json.dumps(reply.get("json", {})).encode(),
                    "application/json",
                )
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return

        def _held_stream(self, reply: Reply) -> None:
            events = [f"data: {json.dumps(event)}\n\n".encode() for event in reply["sse"]]
            events.append(b"data: [DONE]\n\n")
            held = int(reply["hold_after"])
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(b"".join(events[:held]))
                self.wfile.flush()
                reply["release"].wait(timeout=30)
                self.wfile.write(b"".join(events[held:]))
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        do_GET = _answer
        do_POST = _answer

    return Handler


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Start loopback servers: `scripted_server(reply, reply, ...)`; stopped after the test."""
    started: list[ThreadingHTTPServer] = []

    def start(*replies: Reply | Callable[[Received], Reply]) -> ScriptedServer:
        script = ScriptedServer(replies=list(replies))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
        httpd.daemon_threads = True
        script.port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return script

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None) -> Reply:
    """A chat-completions response with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "json": {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
        }
    }


def tool_call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
