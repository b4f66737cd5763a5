"""`/health` latency through a real daphne: dependencies up, Redis hung, PostgreSQL hung.

    cd backend && DATABASE_URL=... REDIS_URL=... ../.venv/bin/python ../bench/health.py
        [--requests 200]

The "hung" dependency is a loopback listener that accepts connections and never answers.
Prints p50/p95/max per scenario with the production probe deadline (80 ms).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

BACKEND = Path(_HERE).parent / "backend"
sys.path.insert(0, str(BACKEND))

import dj_database_url  # noqa: E402
import httpx  # noqa: E402

from gpubroker import dburl  # noqa: E402
from gpubroker.testing.processes import daphne_server  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def scenario(name: str, env: dict[str, str], requests: int, log_dir: Path) -> None:
    with daphne_server(log_dir, env=env, settings_module="gpubroker.settings.development") as srv:
        timings: list[float] = []
        statuses: dict[str, int] = {}
        with httpx.Client(base_url=srv.base_url, timeout=5) as client:
            client.get("/health")  # warm-up: imports and first connections
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get("/health")
                timings.append((time.perf_counter() - started) * 1000)
                key = f"{response.status_code} {response.json()['status']}"
                statuses[key] = statuses.get(key, 0) + 1
    p50, p95 = statistics.median(timings), percentile(timings, 0.95)
    print(
        f"{name:<18} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
        f"  max {max(timings):6.1f} ms  answers {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL and REDIS_URL")
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(512)
    hung_port = hung.getsockname()[1]
    base = {
        "DATABASE_URL": database_url,
        "HEALTH_PROBE_DEADLINE_SECONDS": "0.08",
        "RATE_LIMIT_ENABLED": "false",
    }
    hung_db = dburl.postgres_url(
        host="127.0.0.1",
        port=hung_port,
        user="postgres",
        name=dj_database_url.parse(database_url)["NAME"],
    )
    print(f"machine: {os.cpu_count()} cores; {args.requests} sequential requests per scenario")
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        scenario("all up", base, args.requests, log_dir)
        scenario(
            "redis hung",
            {**base, "REDIS_URL": f"redis://127.0.0.1:{hung_port}/0"},
            args.requests,
            log_dir,
        )
        scenario("postgres hung", {**base, "DATABASE_URL": hung_db}, args.requests, log_dir)
    hung.close()


if __name__ == "__main__":
    main()
