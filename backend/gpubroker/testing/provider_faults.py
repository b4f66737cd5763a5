"""Providers that misbehave at the HTTP boundary, for the fault tests and bench/faults.py.

`FaultyProviders` is an httpx transport: every provider answers with its recorded responses
(the replay transport), except those given a fault:

- `hang`: the request goes over a real socket to a loopback listener that accepts the
  connection and never answers, so a read timeout is what ends it (the adapter's own, 15 s,
  capped at `hang_timeout` so a run of syncs takes seconds, not minutes);
- `garbage`: 200 with an HTML maintenance page instead of JSON;
- `flap`: the offers request fails with a 503 every other time, the recording otherwise.
"""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Literal

import httpx
from django.conf import settings

from apps.providers.adapters.replay import find_route, replay_transport

Fault = Literal["hang", "garbage", "flap"]
# The recorded files that carry a provider's offers (others are auxiliary lookups).
OFFER_FILES = ("offers.json", "instance_types.json")


@contextlib.contextmanager
def hung_listener() -> Iterator[int]:
    """A loopback port that completes TCP handshakes and then never says anything."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


class FaultyProviders(httpx.AsyncBaseTransport):
    """Recorded provider responses, with `faults` {provider name: fault} applied.

    `hung_port` is a `hung_listener()` port (needed when a provider hangs). `calls` counts the
    offer requests each faulty provider received (a breaker that is open sends none).
    """

    def __init__(
        self,
        faults: Mapping[str, Fault],
        *,
        hung_port: int | None = None,
        hang_timeout: float = 0.5,
    ) -> None:
        self.faults = dict(faults)
        self.hung_port = hung_port
        self.hang_timeout = hang_timeout
        self.calls: Counter[str] = Counter()
        self._replay = replay_transport(settings.PROVIDER_FIXTURES_DIR)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The recording, or the provider's fault for its offers request."""
        route = find_route(request)
        fault = self.faults.get(route.provider) if route else None
        if route is None or fault is None or route.file not in OFFER_FILES:
            return await self._replay.handle_async_request(request)
        self.calls[route.provider] += 1
        if fault == "garbage":
            return httpx.Response(200, text="<html><body>Down for maintenance</body></html>")
        if fault == "flap" and self.calls[route.provider] % 2 == 1:
            return httpx.Response(503, text="upstream overloaded")
        if fault == "hang":
            assert self.hung_port is not None, "a hanging provider needs hung_port"
            # The same request to a listener that never answers, its timeouts capped.
            timeouts = {
                kind: min(value or self.hang_timeout, self.hang_timeout)
                for kind, value in request.extensions.get("timeout", {}).items()
            } or dict.fromkeys(("connect", "read", "write", "pool"), self.hang_timeout)
            hung = httpx.Request(
                request.method,
                f"http://127.0.0.1:{self.hung_port}{request.url.raw_path.decode()}",
                headers=request.headers,
                extensions={**request.extensions, "timeout": timeouts},
            )
            # A transport per call: each sync runs its fetch in an event loop of its own.
            async with httpx.AsyncHTTPTransport() as network:
                return await network.handle_async_request(hung)
        return await self._replay.handle_async_request(request)


def faulty_client(transport: FaultyProviders) -> httpx.AsyncClient:
    """An AsyncClient over `transport` (the adapters set their own timeouts per request)."""
    return httpx.AsyncClient(transport=transport)
