"""Login throughput and latency at 1, 4 and 16 concurrent clients against a real daphne.

Usage (from the repository root; a private Valkey from the launcher, PostgreSQL from DATABASE_URL):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gpubroker \
        .venv/bin/python -m gpubroker.embedded -- .venv/bin/python -P bench/login.py
    # [--requests-per-client 8]

(`-P` keeps bench/ off sys.path, where sibling scripts could shadow stdlib modules.)

It migrates a separate `<db>_bench_login` database, starts daphne with the development settings
(argon2id at the configured cost, ARGON2_MAX_CONCURRENT_HASHES as configured) and the login
and API rate limits raised through the environment (the limiter still runs), registers 16 users,
then times POST /api/v2/auth/login. References in the same run: one verification of a stored
hash timed alone in this process (argon2-cffi, the parameters read from the stored hash), giving
the physical limit cores / hash time; and GET /api/v2/ping latency with no logins, next to the
same probe sent every 20 ms during the 16-client storm. Peak RSS is the server's VmHWM.
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

import argon2
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


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def one_hash_seconds(database_url: str, runs: int = 7) -> tuple[float, float, str]:
    """(median wall s, median CPU s, parameters) of verifying a stored hash here, alone."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT password_hash FROM users WHERE email = %s", ["bench0@example.com"]
        ).fetchone()
    assert row is not None
    encoded = str(row[0]).removeprefix("argon2")
    hasher = argon2.PasswordHasher()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        hasher.verify(encoded, PASSWORD)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), encoded.split("$")[3]


async def probe_ping(base_url: str, stop: asyncio.Event, interval: float = 0.02) -> list[float]:
    """GET /api/v2/ping latencies (ms), one request every ``interval`` s until ``stop``."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/api/v2/ping")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"ping failed: {response.status_code}")
            await asyncio.sleep(interval)
    return latencies


async def with_probe(base_url: str, work: asyncio.Future[list[float]] | None, seconds: float = 3.0):
    """Run ``work`` (or sleep ``seconds``) while probing /ping; (work result, ping latencies)."""
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_ping(base_url, stop))
    if work is None:
        await asyncio.sleep(seconds)
        result: list[float] = []
    else:
        result = await work
    stop.set()
    return result, await probe


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
        "DB_POOL_MAX_SIZE": "8",
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
        base_url = server.base_url
        emails = asyncio.run(register_users(base_url, max(LEVELS)))
        asyncio.run(run_level(base_url, emails, 1, 2))  # warm-up
        hash_wall, hash_cpu, params = one_hash_seconds(database_url)
        cores = len(os.sched_getaffinity(0))
        limit = cores / hash_wall
        print(
            f"reference: one argon2id verify alone ({params}): {hash_wall * 1e3:.1f} ms wall, "
            f"{hash_cpu * 1e3:.1f} ms CPU; {cores} cores / hash time = {limit:.1f} logins/s"
        )
        print(
            f"login latency, {args.requests_per_client} logins per client (ms); 'wall' = "
            "logins/s / limit; 'cpu' = hash CPU / server CPU per login (1.00 = nothing but the "
            "hash; what the wall ratio would be on otherwise idle cores)"
        )
        header = f"{'clients':>7} {'logins':>6} {'p50':>8} {'p95':>8} {'mean':>8} {'logins/s':>9}"
        print(f"{header} {'wall':>6} {'srv CPU/login':>14} {'cpu':>6}")
        storm_pings: list[float] = []
        pid = server.process.pid
        cpu_before = process_cpu_seconds(pid)
        _, idle_pings = asyncio.run(with_probe(base_url, None))
        cpu_per_ping = (process_cpu_seconds(pid) - cpu_before) / len(idle_pings)
        for clients in LEVELS:
            started, cpu_before = time.perf_counter(), process_cpu_seconds(pid)

            async def level(clients: int = clients) -> tuple[list[float], list[float]]:
                work = asyncio.ensure_future(
                    run_level(base_url, emails, clients, args.requests_per_client)
                )
                if clients < max(LEVELS):
                    return await work, []
                return await with_probe(base_url, work)

            latencies, pings = asyncio.run(level())
            elapsed = time.perf_counter() - started
            # The probe's own requests (at most level) are taken out at the idle cost per ping.
            cpu_logins = process_cpu_seconds(pid) - cpu_before - len(pings) * cpu_per_ping
            cpu_per_login = cpu_logins / len(latencies)
            rate = len(latencies) / elapsed
            print(
                f"{clients:>7} {len(latencies):>6} {percentile(latencies, 0.50):>8.1f} "
                f"{percentile(latencies, 0.95):>8.1f} {statistics.fmean(latencies):>8.1f} "
                f"{rate:>9.1f} {rate / limit:>6.2f} {cpu_per_login * 1e3:>11.1f} ms "
                f"{hash_cpu / cpu_per_login:>6.2f}"
            )
            storm_pings = pings
        later_wall, later_cpu, _ = one_hash_seconds(database_url)
        print(
            f"reference again after the storm: {later_wall * 1e3:.1f} ms wall, "
            f"{later_cpu * 1e3:.1f} ms CPU (load average {os.getloadavg()[0]:.1f})"
        )
        for label, pings in (
            ("no logins", idle_pings),
            (f"{max(LEVELS)} clients logging in", storm_pings),
        ):
            print(
                f"/ping every 20 ms, {label}: n={len(pings)} p50 {percentile(pings, 0.5):.1f} "
                f"p95 {percentile(pings, 0.95):.1f} max {max(pings):.1f} ms"
            )
        print(f"server peak RSS: {peak_rss_mib(server.process.pid):.1f} MiB")


if __name__ == "__main__":
    main()
