"""Login latency at 1, 4 and 16 concurrent clients against a real daphne, and its peak RSS.

Usage (from the repository root; PostgreSQL and Redis as for the tests):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gpubroker REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -P bench/login.py [--requests-per-client 8]

(`-P` keeps bench/ off sys.path, where sibling scripts could shadow stdlib modules.)

It migrates a separate `<db>_bench_login` database, starts daphne with the development settings
(Django's Argon2 at production cost, ARGON2_MAX_CONCURRENT_HASHES as configured) and the login
and API rate limits raised through the environment (the limiter still runs), registers 16 users,
then times POST /api/v2/auth/login. Peak RSS is the server's VmHWM from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "backend"))

from gpubroker import dburl  # noqa: E402
from gpubroker.testing.processes import daphne_server  # noqa: E402

PASSWORD = "bench-password-violet-42"  # noqa: S105 - throwaway bench users
LEVELS = (1, 4, 16)


def bench_database_url(base_url: str) -> str:
    name = unquote(urlsplit(base_url).path.lstrip("/")) + "_bench_login"
    admin = dburl.with_database(base_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return dburl.with_database(base_url, name)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def register_users(base_url: str, count: int) -> list[str]:
    emails = [f"bench{n}@example.com" for n in range(count)]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for email in emails:
            response = await client.post(
                "/api/v2/auth/register",
                json={"email": email, "password": PASSWORD, "full_name": "Bench"},
            )
            if response.status_code not in (201, 409):
                raise RuntimeError(f"register failed: {response.status_code} {response.text}")
    return emails


async def run_level(base_url: str, emails: list[str], clients: int, per_client: int) -> list[float]:
    latencies: list[float] = []

    async def one_client(email: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                response = await client.post(
                    "/api/v2/auth/login", json={"email": email, "password": PASSWORD}
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"login failed: {response.status_code} {response.text}")

    await asyncio.gather(*(one_client(emails[n]) for n in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=8)
    args = parser.parse_args()

    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpubroker")
    database_url = bench_database_url(base_db)
    env = {
        "DATABASE_URL": database_url,
        "RATE_LIMIT_LOGIN_PER_MINUTE": "100000000",
        "RATE_LIMIT_ANON_RPS": "100000000",
        "RATE_LIMIT_IP_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }
    settings_module = "gpubroker.settings.development"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO / "backend",
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings_module},
        check=True,
    )
    with (
        tempfile.TemporaryDirectory() as log_dir,
        daphne_server(Path(log_dir), env=env, settings_module=settings_module) as server,
    ):
        emails = asyncio.run(register_users(server.base_url, max(LEVELS)))
        asyncio.run(run_level(server.base_url, emails, 1, 2))  # warm-up
        print(f"login latency, {args.requests_per_client} logins per client (ms)")
        print(f"{'clients':>7} {'logins':>6} {'p50':>8} {'p95':>8} {'mean':>8} {'logins/s':>9}")
        for clients in LEVELS:
            started = time.perf_counter()
            latencies = asyncio.run(
                run_level(server.base_url, emails, clients, args.requests_per_client)
            )
            elapsed = time.perf_counter() - started
            print(
                f"{clients:>7} {len(latencies):>6} {percentile(latencies, 0.50):>8.1f} "
                f"{percentile(latencies, 0.95):>8.1f} {statistics.fmean(latencies):>8.1f} "
                f"{len(latencies) / elapsed:>9.1f}"
            )
        print(f"server peak RSS: {peak_rss_mib(server.process.pid):.1f} MiB")


if __name__ == "__main__":
    main()
