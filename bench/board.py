"""The market board's budgets on the replayed demo market, each beside a same-run reference.

    .venv/bin/python -m gpubroker.embedded -- .venv/bin/python -P bench/board.py [--requests 300]

Needs PostgreSQL (DATABASE_URL's server; a dedicated database, `gpubroker_bench_board` or
BENCH_DB, is dropped and recreated), Redis (REDIS_URL) and Debian's Chromium. Everything
listens on 127.0.0.1 only.

1. Loads the demo market (GPU specs, every provider's recordings replayed with the demo
   market's simulated week of history) and starts daphne with the development settings
   (psycopg's pool on, as `make run`), DEBUG off and the rate limits raised.
2. HTML for `/` (and `/?gpu=H100`): --requests sequential GETs on one keep-alive connection,
   p50/p95/max, next to GET /api/v2/ping measured the same way (the framework's floor).
   Budget: p95 <= 100 ms.
3. First load: a fresh Chromium profile opens `/` at 1366x768 and waits until the price stream
   is live; bytes transferred (headers + bodies as received) per kind of resource. Budget:
   <= 200 KB.
4. Price update: --updates prices published on Redis `price_updates` for a visible offer; the
   time until the page's cell shows the new price (a MutationObserver stamps it), next to the
   time until a bare WebSocket client subscribed to /ws/ receives the same update (the stream's
   own latency). Budget: <= 500 ms.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/board.py`, this directory comes first on sys.path and bench/math.py
# would shadow the standard library's `math`. Drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench import _django  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", "gpubroker_bench_board")
HTML_BUDGET_MS = 100.0
FIRST_LOAD_BUDGET_KB = 200.0
UPDATE_BUDGET_MS = 500.0
# What `make run` serves (psycopg's pool on), without debug, the rate limiter on but raised.
SERVER_SETTINGS = "gpubroker.settings.development"
SERVER_ENV = {
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_ANON_RPS": "100000",
    "RATE_LIMIT_IP_PER_MINUTE": "1000000",
}


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def _timed_gets(base_url: str, path: str, count: int) -> list[float]:
    import httpx

    with httpx.Client(base_url=base_url, timeout=10) as client:
        for _ in range(5):
            client.get(path).raise_for_status()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _first_load(base_url: str) -> dict[str, int]:
    from gpubroker.testing.browser import DESKTOP, chromium

    sizes: dict[str, int] = {}
    with chromium(viewport=DESKTOP) as context:
        page = context.new_page()

        def finished(request: Any) -> None:
            measured = request.sizes()
            kind = request.resource_type
            total = measured["responseBodySize"] + measured["responseHeadersSize"]
            sizes[kind] = sizes.get(kind, 0) + total

        page.on("requestfinished", finished)
        page.goto(base_url + "/")
        page.wait_for_selector('[data-ws-state="live"]', timeout=15_000)
        page.wait_for_load_state("networkidle")
    return sizes


def _stream_reference(ws_url: str, ready: threading.Event, received: dict[float, float]) -> None:
    """A bare /ws/ client: records when each update (keyed by its new price) arrives."""
    from websockets.asyncio.client import connect

    async def listen() -> None:
        async with connect(ws_url + "/ws/") as socket:
            await socket.send(json.dumps({"type": "subscribe", "filters": {"gpu": "h100"}}))
            ready.set()
            async for text in socket:
                frame = json.loads(text)
                if frame["type"] == "price_update":
                    received[float(frame["data"]["new_price"])] = time.time()
                    if frame["data"].get("availability_status") == "stop":
                        return

    asyncio.run(listen())


def _update_latency(base_url: str, ws_url: str, count: int) -> tuple[list[float], list[float]]:
    import redis

    from apps.providers.events import PRICE_UPDATES_CHANNEL, PriceUpdate
    from gpubroker.testing.browser import DESKTOP, chromium

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    received: dict[float, float] = {}
    ready = threading.Event()
    listener = threading.Thread(
        target=_stream_reference, args=(ws_url, ready, received), daemon=True
    )
    listener.start()
    ready.wait(10)
    page_ms: list[float] = []
    stream_ms: list[float] = []
    with chromium(viewport=DESKTOP) as context:
        page = context.new_page()
        page.goto(base_url + "/?gpu=H100")
        page.wait_for_selector('[data-ws-state="live"]', timeout=15_000)
        row = page.locator("tr[data-offer-id]").first
        offer_id = row.get_attribute("data-offer-id")
        cell = f'tr[data-offer-id="{offer_id}"] [data-field="price_per_hour"]'
        page.evaluate(
            """cell => {
                window.__changes = [];
                const target = document.querySelector(cell);
                new MutationObserver(() => window.__changes.push(
                    [Number(target.dataset.value), Date.now()])
                ).observe(target, {attributes: true, attributeFilter: ["data-value"]});
            }""",
            cell,
        )
        base = float(page.get_attribute(cell, "data-value"))
        previous = base
        for index in range(count):
            price = round(base * (1.01 + index / 1000), 4)
            update = PriceUpdate(
                offer_id=offer_id,
                provider=row.get_attribute("data-provider"),
                gpu=row.get_attribute("data-gpu"),
                region="bench",
                old_price=previous,
                new_price=price,
                availability_status="available",
                timestamp=datetime.now(UTC).isoformat(),
            )
            published = time.time()
            client.publish(PRICE_UPDATES_CHANNEL, update.to_json())
            page.wait_for_function(
                f"() => window.__changes.some(c => c[0] === {price})", timeout=5_000
            )
            shown = page.evaluate(f"window.__changes.find(c => c[0] === {price})[1]")
            page_ms.append(shown - published * 1000)
            deadline = time.time() + 2
            while price not in received and time.time() < deadline:
                time.sleep(0.005)
            if price in received:
                stream_ms.append((received[price] - published) * 1000)
            previous = price
            time.sleep(0.05)
        client.publish(
            PRICE_UPDATES_CHANNEL,
            json.dumps({**update.as_data(), "availability_status": "stop", "new_price": 0.01}),
        )
    listener.join(5)
    client.close()
    return page_ms, stream_ms


def main() -> None:
    """Run the three measurements and print them with their budgets and references."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--updates", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (or run via `python -m gpubroker.embedded --`)")
    url = _django.setup(BENCH_DB)

    from gpubroker.testing.market import demo_market_load
    from gpubroker.testing.processes import daphne_server

    offers = demo_market_load()
    print(f"machine: {_django.machine()}")
    print(f"demo market: {offers} offers replayed\n")
    with (
        tempfile.TemporaryDirectory() as logs,
        daphne_server(
            Path(logs), env=SERVER_ENV | {"DATABASE_URL": url}, settings_module=SERVER_SETTINGS
        ) as server,
    ):
        rows = []
        for label, path in (
            ("HTML /", "/"),
            ("HTML /?gpu=H100", "/?gpu=H100"),
            ("ref: GET /api/v2/ping", "/api/v2/ping"),
        ):
            p50, p95, worst = _percentiles(_timed_gets(server.base_url, path, args.requests))
            rows.append((label, p50, p95, worst))
        print(f"HTML, {args.requests} sequential requests (ms); budget p95 <= {HTML_BUDGET_MS:g}")
        print(f"{'':28}{'p50':>8}{'p95':>8}{'max':>8}")
        for label, p50, p95, worst in rows:
            print(f"{label:28}{p50:8.1f}{p95:8.1f}{worst:8.1f}")

        sizes = _first_load(server.base_url)
        total_kb = sum(sizes.values()) / 1000
        print(f"\nfirst load of / (KB transferred); budget <= {FIRST_LOAD_BUDGET_KB:g}")
        for kind, size in sorted(sizes.items(), key=lambda item: -item[1]):
            print(f"  {kind:24}{size / 1000:8.1f}")
        print(f"  {'total':24}{total_kb:8.1f}")

        page_ms, stream_ms = _update_latency(server.base_url, server.ws_url, args.updates)
        print(
            f"\nprice update, publish -> visible ({args.updates} updates, ms); "
            f"budget <= {UPDATE_BUDGET_MS:g}"
        )
        print(f"{'':28}{'p50':>8}{'p95':>8}{'max':>8}")
        for label, samples in (
            ("board cell updated", page_ms),
            ("ref: bare /ws/ client", stream_ms),
        ):
            if samples:
                p50, p95, worst = _percentiles(samples)
                print(f"{label:28}{p50:8.1f}{p95:8.1f}{worst:8.1f}")


if __name__ == "__main__":
    main()
