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
hash timed alone in a child process with the server's environment (argon2-cffi, the parameters
read from the stored hash, glibc's huge-page tunable as the server has it: gpubroker/malloc.py;
once more with glibc's default allocator for comparison), before
the first level, between levels and after the last (this VM's hash time drifts by a third within
a minute), giving the physical limit cores / hash time from their median; the same verification
on one thread per core at once (the machine's own hashing rate, memory bandwidth shared); and
GET /api/v2/ping latency with no logins, next to the same probe sent every 20 ms during a second
16-client storm (the throughput rows run without the probe, whose requests cost CPU of their
own). Each row also prints the CPU per login of the whole machine (/proc/stat) and of this
process (the clients). Peak RSS is the server's VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from gpubroker.malloc import server_environ  # noqa: E402
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


# Run in a child process, so that its C library reads the same GLIBC_TUNABLES as the server's.
_HASH_REFERENCE = """
import json, statistics, sys, threading, time, argon2
encoded, password, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
hasher = argon2.PasswordHasher()
hasher.verify(encoded, password)
walls, cpus = [], []
for _ in range(runs):
    wall, cpu = time.perf_counter(), time.process_time()
    hasher.verify(encoded, password)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
def work():
    for _ in range(4):
        hasher.verify(encoded, password)
workers = [threading.Thread(target=work) for _ in range(threads)]
started = time.perf_counter()
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
rate = threads * 4 / (time.perf_counter() - started) if threads else 0.0
print(json.dumps([statistics.median(walls), statistics.median(cpus), rate]))
"""


def hash_reference(
    database_url: str, env: dict[str, str], *, runs: int = 7, threads: int = 0
) -> tuple[float, float, float, str]:
    """(median wall s, median CPU s, rate/s with ``threads`` at once, parameters) of a verify.

    The stored hash of bench user 0 is verified ``runs`` times alone in a child process with
    environment ``env`` (the server's, so the same allocator settings, gpubroker.malloc), then
    by ``threads`` threads at once, 4 each (argon2-cffi releases the GIL while hashing, so that
    is the machine's hashing rate with every core busy); rate 0.0 when ``threads`` is 0.
    """
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT password_hash FROM users WHERE email = %s", ["bench0@example.com"]
        ).fetchone()
    assert row is not None
    encoded = str(row[0]).removeprefix("argon2")
    result = subprocess.run(
        [sys.executable, "-c", _HASH_REFERENCE, encoded, PASSWORD, str(runs), str(threads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu, rate = json.loads(result.stdout)
    return wall, cpu, rate, encoded.split("$")[3]


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idle and iowait since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


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
        cores = len(os.sched_getaffinity(0))
        references: list[tuple[float, float]] = []  # one hash alone: (wall s, CPU s)
        server_env = server_environ({**os.environ, **env})

        def reference(label: str, threads: int = 0) -> float:
            wall, cpu, rate, params = hash_reference(database_url, server_env, threads=threads)
            references.append((wall, cpu))
            print(
                f"reference {label}: one argon2id verify alone ({params}): {wall * 1e3:.1f} ms "
                f"wall, {cpu * 1e3:.1f} ms CPU; {cores} cores / hash time = "
                f"{cores / wall:.1f} logins/s (load average {os.getloadavg()[0]:.1f})"
            )
            return rate

        parallel = reference("before", threads=cores)
        print(f"reference: {cores} threads verifying at once: {parallel:.1f}/s")
        stock_wall, stock_cpu, _, _ = hash_reference(
            database_url, {**server_env, "GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}
        )
        print(
            f"the same verify with glibc's default allocator: {stock_wall * 1e3:.1f} ms wall, "
            f"{stock_cpu * 1e3:.1f} ms CPU (the server's: GLIBC_TUNABLES="
            f"{server_env['GLIBC_TUNABLES']}, gpubroker/malloc.py)"
        )
        pid = server.process.pid
        cpu_before = process_cpu_seconds(pid)
        _, idle_pings = asyncio.run(with_probe(base_url, None))
        cpu_per_ping = (process_cpu_seconds(pid) - cpu_before) / len(idle_pings)
        rows: list[tuple[str, list[float], float, float, float, float]] = []
        storm_pings: list[float] = []
        for clients, probed in [(n, False) for n in LEVELS] + [(max(LEVELS), True)]:
            started, cpu_before = time.perf_counter(), process_cpu_seconds(pid)
            busy_before, own_before = machine_busy_seconds(), time.process_time()

            async def level(clients: int = clients, probed: bool = probed):
                work = asyncio.ensure_future(
                    run_level(base_url, emails, clients, args.requests_per_client)
                )
                return await with_probe(base_url, work) if probed else (await work, [])

            latencies, pings = asyncio.run(level())
            elapsed = time.perf_counter() - started
            # The probe's own requests are taken out of the server's CPU at the idle cost per ping.
            server_cpu = process_cpu_seconds(pid) - cpu_before - len(pings) * cpu_per_ping
            machine_cpu = machine_busy_seconds() - busy_before
            own_cpu = time.process_time() - own_before
            label = f"{clients}{' +probe' if probed else ''}"
            rows.append((label, latencies, elapsed, server_cpu, machine_cpu, own_cpu))
            if probed:
                storm_pings = pings
            else:
                reference(f"after {clients} client(s)")
        walls = [wall for wall, _ in references]
        hash_cpu = statistics.median(cpu for _, cpu in references)
        limit, fastest = cores / statistics.median(walls), cores / min(walls)
        print(
            f"limit: {cores} cores / median hash ({statistics.median(walls) * 1e3:.1f} ms of "
            f"{len(walls)}, {min(walls) * 1e3:.1f}-{max(walls) * 1e3:.1f}) = {limit:.1f} logins/s "
            f"(fastest hash: {fastest:.1f}); {cores} threads hashing at once: {parallel:.1f}/s; "
            f"glibc's default allocator: {cores / stock_wall:.1f} logins/s"
        )
        print(
            f"login latency, {args.requests_per_client} logins per client (ms); 'wall' = "
            "logins/s / limit (in brackets: against the fastest hash, the threads' rate and the "
            "default allocator's hash); "
            "'cpu' = median hash CPU / server CPU per login (1.00 = nothing but the hash); "
            "CPU per login of the server, the whole machine and these clients"
        )
        header = f"{'clients':>10} {'logins':>6} {'p50':>8} {'p95':>8} {'logins/s':>9}"
        print(f"{header} {'wall':>23} {'cpu':>5} {'server':>7} {'machine':>8} {'clients':>8}")
        for label, latencies, elapsed, server_cpu, machine_cpu, own_cpu in rows:
            rate, count = len(latencies) / elapsed, len(latencies)
            print(
                f"{label:>10} {count:>6} {percentile(latencies, 0.50):>8.1f} "
                f"{percentile(latencies, 0.95):>8.1f} {rate:>9.1f} {rate / limit:>6.2f} "
                f"({rate / fastest:.2f}/{rate / parallel:.2f}/{rate * stock_wall / cores:.2f}) "
                f"{hash_cpu / (server_cpu / count):>5.2f} {server_cpu / count * 1e3:>5.0f}ms "
                f"{machine_cpu / count * 1e3:>6.0f}ms {own_cpu / count * 1e3:>6.0f}ms"
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
