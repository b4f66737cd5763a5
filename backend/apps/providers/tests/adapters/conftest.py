"""Shared helpers for the adapter tests: recorded responses served through httpx.MockTransport."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.providers.adapters.replay import RECORDINGS_DIR, find_route

Handler = Callable[[httpx.Request], httpx.Response]
Override = Callable[[httpx.Request], httpx.Response]


def recording(provider: str, file: str = "offers.json") -> Any:
    """A fresh, mutable copy of a recorded body."""
    return copy.deepcopy(json.loads((RECORDINGS_DIR / provider / file).read_text("utf-8")))


def recorded_handler(overrides: dict[tuple[str, str], Override] | None = None) -> Handler:
    """Serve recordings by route; ``overrides[(provider, file)]`` replaces one of them."""
    overrides = overrides or {}

    def handler(request: httpx.Request) -> httpx.Response:
        route = find_route(request)
        if route is None:
            return httpx.Response(404, json={"error": "unrouted"})
        override = overrides.get((route.provider, route.file))
        if override is not None:
            return override(request)
        body = (RECORDINGS_DIR / route.provider / route.file).read_bytes()
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return handler


def json_response(body: Any, status: int = 200) -> Override:
    return lambda request: httpx.Response(status, json=body)


class Recorder:
    """Collects the requests an adapter sends."""

    def __init__(self, respond: Override) -> None:
        self.requests: list[httpx.Request] = []
        self._respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._respond(request)


def client_for(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.fixture
def recordings_dir() -> Path:
    return RECORDINGS_DIR
