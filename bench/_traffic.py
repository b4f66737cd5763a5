"""The load bench/faults.py keeps on the stack while it injects faults, and what it saw.

Readers send a mix of reads through nginx (listing, offer, history, KPI), a poller asks
`/health` four times a second, and WebSocket clients stay on `/ws/`, reconnecting half a
second after they are dropped, as the board does. Every answer is recorded with the time
its request was sent, so each phase of a scenario can be counted on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WORKERS = 6
WS_CLIENTS = 6


@dataclass
class Traffic:
    """Reads through nginx, health polls and reconnecting WebSocket clients, all recorded."""

    base_url: str
    offer_ids: list[str]
    requests: list[tuple[float, int, bool]] = field(default_factory=list)
    health: list[tuple[float, int, str]] = field(default_factory=list)
    ws: list[tuple[float, int, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        """Run the load in a thread of its own (its own event loop)."""
        thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        thread.start()
        return thread

    async def _main(self) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            await asyncio.gather(
                *(self._reader(client, n) for n in range(WORKERS)),
                self._health(client),
                *(self._socket(n) for n in range(WS_CLIENTS)),
            )

    def _next_request(self, rng: random.Random) -> tuple[str, dict[str, Any]]:
        draw = rng.random()
        offer = rng.choice(self.offer_ids)
        if draw < 0.5:
            gpu = rng.choice(["H100", "A100", "RTX 4090", "L40S", None])
            return "/api/v2/providers", {"gpu": gpu} if gpu else {}
        if draw < 0.7:
            return f"/api/v2/providers/offers/{offer}", {}
        if draw < 0.85:
            return f"/api/v2/providers/offers/{offer}/history", {"window": "7d"}
        return "/api/v2/kpi/overview", {}

    async def _reader(self, client: Any, number: int) -> None:
        import httpx

        rng = random.Random(number)
        while not self.stopping.is_set():
            path, params = self._next_request(rng)
            sent = time.monotonic()  # a request counts in the phase it was sent in
            try:
                response = await client.get(path, params=params)
                status = response.status_code
                envelope = status < 400 or _is_envelope(response)
            except httpx.HTTPError:
                status, envelope = 0, False  # no answer at all
            self.requests.append((sent, status, envelope))
            await asyncio.sleep(0.05)

    async def _health(self, client: Any) -> None:
        import httpx

        while not self.stopping.is_set():
            try:
                response = await client.get("/health")
                self.health.append(
                    (time.monotonic(), response.status_code, response.json().get("status", "?"))
                )
            except (httpx.HTTPError, ValueError):
                self.health.append((time.monotonic(), 0, "no answer"))
            await asyncio.sleep(0.25)

    async def _socket(self, number: int) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        url = self.base_url.replace("http://", "ws://") + "/ws/"
        while not self.stopping.is_set():
            try:
                async with connect(url, origin="http://127.0.0.1") as socket:  # type: ignore[arg-type]
                    self.ws.append((time.monotonic(), number, "open"))
                    while not self.stopping.is_set():
                        with contextlib.suppress(TimeoutError):
                            frame = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                            kind = frame["type"]
                            if kind == "snapshot":
                                kind = f"snapshot:{frame['data'].get('reason')}"
                            self.ws.append((time.monotonic(), number, kind))
            except (OSError, WebSocketException):
                self.ws.append((time.monotonic(), number, "closed"))
            await asyncio.sleep(0.5)  # the board's reconnect delay, roughly

    def served(self, since: float, until: float) -> tuple[int, Counter[int], int]:
        """(2xx/3xx answers, errors by status (0: no answer), errors without the envelope)."""
        window = [r for r in self.requests if since <= r[0] < until]
        errors = Counter(status for _, status, _ in window if not 0 < status < 400)
        bare = sum(1 for _, status, envelope in window if not envelope)
        return sum(1 for _, status, _ in window if 0 < status < 400), errors, bare

    def health_sequence(self, since: float, until: float) -> str:
        """The /health answers in order, repeats collapsed: `ok -> degraded -> ok`."""
        seen: list[str] = []
        for _, status_code, status in (h for h in self.health if since <= h[0] < until):
            label = f"{status} ({status_code})" if status_code != 200 else status
            if not seen or seen[-1] != label:
                seen.append(label)
        return " -> ".join(seen)

    def sockets_after(self, since: float, kind: str) -> set[int]:
        """Clients that got a frame of `kind` after `since`."""
        return {n for t, n, k in self.ws if t >= since and k == kind}

    def count_after(self, since: float, kind: str) -> int:
        """How many frames of `kind` all clients got after `since`."""
        return sum(1 for t, _, k in self.ws if t >= since and k == kind)


def _is_envelope(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and "error" in body
        and body.get("detail") == body["error"].get("message")
    )
