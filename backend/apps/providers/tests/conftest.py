"""Fixtures for ingestion tests: recorded provider responses with targeted faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from apps.providers.adapters.replay import RECORDINGS_DIR, find_route
from apps.providers.circuit_breaker import BreakerRegistry
from apps.providers.services.sync import _counts_as_outage

Responder = Callable[[httpx.Request], httpx.Response]


def recorded(provider: str, file: str = "offers.json") -> Any:
    return json.loads((RECORDINGS_DIR / provider / file).read_text("utf-8"))


class FakeProviders:
    """An httpx transport serving the recordings, with per-provider replacements and a log."""

    def __init__(self) -> None:
        self.overrides: dict[str, Responder] = {}
        self.requests: list[httpx.Request] = []

    def override(self, provider: str, responder: Responder) -> None:
        self.overrides[provider] = responder

    def body(self, provider: str, body: Any, status: int = 200) -> None:
        self.override(provider, lambda request: httpx.Response(status, json=body))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = find_route(request)
        if route is None:
            return httpx.Response(404, json={"error": "unrouted"})
        if route.provider in self.overrides and route.file in (
            "offers.json",
            "instance_types.json",
        ):
            return self.overrides[route.provider](request)
        content = (RECORDINGS_DIR / route.provider / route.file).read_bytes()
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@pytest.fixture
def providers_http() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
def breakers() -> BreakerRegistry:
    """A fresh breaker registry per test, with the production failure predicate."""
    return BreakerRegistry(counts_as_failure=_counts_as_outage)


@pytest.fixture
def price_updates() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Subscribe to the real `price_updates` channel; call the fixture to drain messages."""
    from gpubroker.core.redis import get_redis

    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("price_updates")
    pubsub.get_message(timeout=1.0)

    def drain() -> list[dict[str, Any]]:
        messages = []
        while True:
            message = pubsub.get_message(timeout=0.3)
            if message is None:
                return messages
            messages.append(json.loads(message["data"]))

    yield drain
    pubsub.close()
