"""Where one API request's CPU goes: each API middleware's cost in microseconds, in process.

    .venv/bin/python -m gpubroker.embedded -- taskset -c 1 .venv/bin/python -P bench/request_path.py
    # [--requests 3000] [--repeat 5] [--path /api/v2/ping]

Builds the API's ASGI handler (gpubroker.core.fastpath.ApiASGIHandler) with the first k entries
of settings.API_MIDDLEWARE for k = 0 .. all, drives each with --requests ASGI calls of GET
--path (32 at a time, no sockets, no server), and prints the CPU time of this process (all
threads) per request, the median of --repeat rounds taken in turns. The step from k-1 to k is
the k-th middleware's cost; k = 0 is Django's floor for the view (request object, URL
resolution, Ninja, the signals). The last line is the full stack again with Django's own
`ASGIHandler.__call__` (a new thread per request) instead of the borrowed request threads.
Then each middleware's CPU budget: the full stack minus the full stack without that one entry,
paired within each round (every configuration is driven once per round, in turns), the median
over rounds; and the request log line's (the full stack with REQUEST_LOG_SAMPLE_RATE=0).
Development settings, request log at INFO into a discarded stream, rate limiter on Redis
(REDIS_URL) with its limits raised.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(_HERE).parent / "backend"))


def scope_for(path: str) -> dict[str, Any]:
    """An ASGI HTTP scope for GET ``path`` from 127.0.0.1."""
    route, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def drive(app: Any, path: str, requests: int, concurrency: int = 32) -> float:
    """CPU microseconds per request for ``requests`` calls of ``app``, ``concurrency`` at once."""
    scope = scope_for(path)

    async def one() -> None:
        status: list[int] = []
        received: list[bool] = []

        async def receive() -> dict[str, Any]:
            if not received:
                received.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays; Django cancels this wait
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        if status != [200]:
            raise RuntimeError(f"GET {path}: {status}")

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    for _ in range(50):
        await one()
    started = time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / (requests // concurrency * concurrency) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", default="/api/v2/ping")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
    os.environ.update(
        {
            "DEBUG": "false",
            "LOG_LEVEL": "INFO",
            "RATE_LIMIT_ANON_RPS": "1000000000",
            "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
            "RATE_LIMIT_REDIS_TIMEOUT_SECONDS": "2",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from gpubroker.core.fastpath import ApiASGIHandler

    for handler in logging.getLogger().handlers + logging.getLogger("gpubroker").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(io.StringIO())  # the line is rendered, then dropped
    from django.core.handlers.asgi import ASGIHandler

    class ThreadPerRequest(ApiASGIHandler):
        """The API handler with Django's per-request ThreadSensitiveContext (a new thread)."""

        __call__ = ASGIHandler.__call__  # type: ignore[assignment]

    stack = list(settings.API_MIDDLEWARE)
    # (label, handler, settings overridden while it is driven)
    configs: list[tuple[str, Any, dict[str, Any]]] = []
    for k in range(len(stack) + 1):
        with override_settings(API_MIDDLEWARE=stack[:k]):
            configs.append((f"first {k}", ApiASGIHandler(), {}))
    configs.append(("thread per request", ThreadPerRequest(), {}))
    configs.append(
        ("request log sampled 0", configs[len(stack)][1], {"REQUEST_LOG_SAMPLE_RATE": 0})
    )
    for name in stack:
        with override_settings(API_MIDDLEWARE=[entry for entry in stack if entry != name]):
            configs.append((f"without {name}", ApiASGIHandler(), {}))
    samples: dict[str, list[float]] = {label: [] for label, _, _ in configs}

    async def rounds() -> None:
        for _ in range(args.repeat):
            for label, app, overrides in configs:
                try:
                    with override_settings(**overrides):
                        samples[label].append(await drive(app, args.path, args.requests))
                except RuntimeError:
                    samples[label].append(float("nan"))  # the stack cannot serve without it

    asyncio.run(rounds())
    medians = {label: statistics.median(series) for label, series in samples.items()}
    floor, full = medians["first 0"], medians[f"first {len(stack)}"]
    print(
        f"GET {args.path}: CPU per request (median of {args.repeat} x {args.requests}, "
        f"32 concurrent, in process)"
    )
    print(f"  {'no middleware (floor)':58} {floor:8.1f} us")
    for k, name in enumerate(stack, start=1):
        step = medians[f"first {k}"] - medians[f"first {k - 1}"]
        print(f"  + {name:56} {step:+8.1f} us")
    print(
        f"  {'all middleware':58} {full:8.1f} us "
        f"(middleware {full - floor:.1f} us, {(full - floor) / full:.0%} of the request)"
    )
    per_request = medians["thread per request"]
    print(
        f"  {'all middleware, a new thread per request (Django)':58} {per_request:8.1f} us "
        f"(borrowed threads / new thread: {full / per_request:.2f})"
    )
    # Each middleware's budget: the full stack minus the stack without it, paired round by round
    # (both driven in the same round), the median of those differences.
    print("\nCPU budget per middleware: full stack minus the stack without it (paired medians)")
    full_series = samples[f"first {len(stack)}"]
    for name in [*stack, "request log line (REQUEST_LOG_SAMPLE_RATE=0)"]:
        label = f"without {name}" if name in stack else "request log sampled 0"
        pairs = [a - b for a, b in zip(full_series, samples[label], strict=True)]
        budget = statistics.median(pairs)
        spread = f"{min(pairs):+.0f}..{max(pairs):+.0f}"
        print(f"  {name:58} {budget:+8.1f} us  (rounds {spread}; {budget / full:.0%})")


if __name__ == "__main__":
    main()
