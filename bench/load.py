"""Load through nginx: Locust's mix against two daphne processes on the replayed demo market.

    .venv/bin/python -m gpubroker.embedded --instance load -- \
        .venv/bin/python -P bench/load.py [--users 50 200] [--seconds 60]

Needs PostgreSQL (DATABASE_URL's server; a dedicated database, `gpubroker_bench_load` or
BENCH_DB, is dropped and recreated), Redis (REDIS_URL) and Debian's nginx. Everything listens
on 127.0.0.1 and every request goes to 127.0.0.1.

1. Loads the demo market (GPU specs, every provider's recordings replayed with the demo
   market's simulated week of history) and writes the listed offer ids for the locustfile.
2. Starts two daphne processes (the development settings `make run` serves, psycopg's pool on,
   DEBUG off) and Debian's nginx with the project's site (`nginx/gpubroker.conf`) in front, as
   the deploy tests do. The rate limits are raised through their settings; the limiter stays
   on (every answer carries `X-RateLimit-Limit`, checked before the run).
3. Registers --accounts users through nginx (the login task's accounts).
4. For each --users count: `locust --headless` with bench/locustfile.py for --seconds, then
   prints per endpoint: requests, failures, throughput, p50/p95/p99 (ms) and the budget
   (p95 <= 200 ms for cached reads, 0 errors), and the errors by status.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench import _django  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", "gpubroker_bench_load")
P95_BUDGET_MS = 200.0
# What `make run` serves (psycopg's pool on), without debug, behind a proxy on loopback; the
# rate limiter on, its limits raised so that one load generator (one client address) fits.
SERVER_SETTINGS = "gpubroker.settings.development"
SERVER_ENV = {
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "SERVE_STATIC": "false",
    "TRUSTED_PROXY_IPS": "127.0.0.1",
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_ANON_RPS": "100000",
    "RATE_LIMIT_IP_PER_MINUTE": "10000000",
    "RATE_LIMIT_LOGIN_PER_MINUTE": "100000",
    "RATE_LIMIT_FREE_RPS": "100000",
}
# Reads the listing's Redis cache serves (the same query within 60 s); the budget applies to them.
CACHED_READS = {"/api/v2/providers"}
LOCUSTFILE = Path(_HERE) / "locustfile.py"
PASSWORD = "load-test password 1"  # noqa: S105 (accounts of a throwaway database)


@dataclass(frozen=True)
class EndpointStats:
    """One row of Locust's `_stats.csv` (times in ms)."""

    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def read_stats(prefix: Path) -> list[EndpointStats]:
    """Per-endpoint rows of Locust's CSV, the `Aggregated` row last."""
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                EndpointStats(
                    name=row["Name"] if row["Type"] else "all endpoints",
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    rps=float(row["Requests/s"]),
                    p50=float(row["50%"] or 0),
                    p95=float(row["95%"] or 0),
                    p99=float(row["99%"] or 0),
                )
            )
    return rows


def read_failures(prefix: Path) -> list[tuple[str, str, int]]:
    """(endpoint, error, occurrences) from Locust's `_failures.csv`."""
    with open(f"{prefix}_failures.csv", newline="") as handle:
        return [
            (row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(handle)
        ]


@contextlib.contextmanager
def running_stack(
    scratch: Path, database_url: str, server_env: dict[str, str] = SERVER_ENV
) -> Iterator[tuple[str, list[Any]]]:
    """Two daphne processes and nginx in front; yields nginx's base URL and the daphnes."""
    from gpubroker.testing.processes import daphne_server
    from gpubroker.tests.deploy.servers import nginx_server

    env = server_env | {"DATABASE_URL": database_url}
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(daphne_server(scratch, env=env, settings_module=SERVER_SETTINGS))
            for _ in range(2)
        ]
        proxy = stack.enter_context(
            nginx_server(
                scratch / "nginx",
                upstream_ports=[server.port for server in servers],
                static_parent=scratch,
            )
        )
        yield proxy.base_url, servers


def register_accounts(base_url: str, count: int, path: Path) -> None:
    """Register `count` users through nginx and write `email password` lines to `path`."""
    import httpx

    lines = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for number in range(count):
            email = f"load{number}@example.com"
            response = client.post(
                "/api/v2/auth/register",
                json={"email": email, "password": PASSWORD, "full_name": f"Load {number}"},
            )
            if response.status_code not in (201, 409):
                sys.exit(f"register {email}: {response.status_code} {response.text[:200]}")
            lines.append(f"{email} {PASSWORD}")
    path.write_text("\n".join(lines) + "\n")


def check_limiter_on(base_url: str) -> str:
    """The limit nginx's clients get, from `X-RateLimit-Limit`; exits when the header is absent."""
    import httpx

    response = httpx.get(f"{base_url}/api/v2/providers", params={"per_page": 10}, timeout=30)
    limit = response.headers.get("X-RateLimit-Limit")
    if response.status_code != 200 or limit is None:
        sys.exit(f"limiter check: {response.status_code}, X-RateLimit-Limit={limit}")
    return limit


def run_locust(base_url: str, users: int, seconds: int, prefix: Path, env: dict[str, str]) -> None:
    """`locust --headless` for `seconds` with `users` users (spawned within ~4 s)."""
    spawn_rate = max(users // 4, 1)
    finished = subprocess.run(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--only-summary",
            "--host",
            base_url,
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(prefix),
            "--exit-code-on-error",
            "0",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if finished.returncode != 0:
        sys.exit(f"locust exited with {finished.returncode}: {finished.stderr[-2000:]}")


def print_run(users: int, seconds: int, rows: list[EndpointStats], failures: list) -> None:
    """The per-endpoint table of one run, with the budget verdicts."""
    print(
        f"\n{users} users, {seconds} s, load average after {os.getloadavg()[0]:.1f} (times in ms)"
    )
    print(
        f"{'endpoint':42}{'requests':>9}{'failed':>7}{'req/s':>8}"
        f"{'p50':>7}{'p95':>7}{'p99':>7}  budget"
    )
    for row in rows:
        verdict = ""
        if row.name in CACHED_READS:
            verdict = "ok" if row.p95 <= P95_BUDGET_MS else f"OVER (p95 > {P95_BUDGET_MS:g})"
        print(
            f"{row.name:42}{row.requests:9d}{row.failures:7d}{row.rps:8.1f}"
            f"{row.p50:7.0f}{row.p95:7.0f}{row.p99:7.0f}  {verdict}"
        )
    errors = sum(row.failures for row in rows if row.name == "all endpoints")
    print(f"errors: {errors}" + ("" if errors else " (budget: 0)"))
    for name, error, count in failures:
        print(f"  {count} x {name}: {error}")


def server_errors(log_paths: list[Path], offsets: dict[Path, int]) -> Counter[str]:
    """Error records the servers logged since `offsets` (updated), counted by event and exception.

    The servers log one JSON object per line (`core/logging.py`); a record at level error or
    above, or one carrying an exception, counts under "level message: last exception line".
    """
    found: Counter[str] = Counter()
    for path in log_paths:
        with open(path, "rb") as handle:
            handle.seek(offsets.get(path, 0))
            data = handle.read()
            offsets[path] = handle.tell()
        for line in data.decode(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    found[line.strip()[:160]] += 1
                continue
            if not isinstance(record, dict):
                continue
            level = str(record.get("level", "")).lower()
            exception = str(record.get("exception", "") or record.get("exc_info", ""))
            if level in ("error", "critical") or exception:
                last = exception.strip().splitlines()[-1] if exception.strip() else ""
                message = record.get("message") or record.get("event") or "?"
                found[f"{level} {message}: {last}"[:200]] += 1
    return found


# Who spends the machine's CPU during a run: process command lines by role.
ROLES = (
    ("daphne", "gpubroker.httpserver"),
    ("locust", "locust"),
    ("nginx", "nginx"),
    ("postgres", "postgres"),
    ("valkey/redis", "valkey"),
    ("valkey/redis", "redis-server"),
)


def cpu_by_role() -> Counter[str]:
    """CPU seconds (user + system) so far of every process on the machine, summed by role.

    Locust runs as this process's child and has ended when the run is read: its CPU is this
    process's children's (`RUSAGE_CHILDREN`).
    """
    import resource

    import psutil

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds: Counter[str] = Counter({"locust": children.ru_utime + children.ru_stime})
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        times = process.info["cpu_times"]
        if times is None:
            continue
        role = next((name for name, needle in ROLES if needle in cmdline), "other")
        seconds[role] += times.user + times.system
    return seconds


def print_cpu(before: Counter[str], after: Counter[str], requests: int, seconds: int) -> None:
    """Each role's share of the machine's CPU during the run, and its milliseconds per request."""
    spent = {role: after[role] - before[role] for role in after}
    cores = os.cpu_count() or 1
    print(f"CPU during the run ({cores} cores x {seconds} s = {cores * seconds} core-seconds):")
    for role, used in sorted(spent.items(), key=lambda item: -item[1]):
        if used > 0.05:
            per_request = used / requests * 1000 if requests else 0.0
            share = used / seconds
            print(f"  {role:14}{used:8.1f} s  {share:5.2f} cores  {per_request:6.2f} ms/request")


def main() -> None:
    """Load the demo market, start the stack, run Locust per user count, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument(
        "--login-weight",
        type=int,
        default=5,
        help="the login task's weight of 100 (0: the reads alone, same weights among them)",
    )
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the servers' and nginx's logs to this directory"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (or run via `python -m gpubroker.embedded --`)")
    url = _django.setup(BENCH_DB)

    from apps.providers.selectors.offers import offers_listed
    from gpubroker.testing.market import demo_market_load

    offers = demo_market_load()
    print(f"machine: {_django.machine()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}")
    print(f"demo market: {offers} offers replayed")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        ids = offers_listed().order_by("id").values_list("id", flat=True)
        (scratch / "offers.txt").write_text("\n".join(str(i) for i in ids[:500]) + "\n")
        with running_stack(scratch, url) as (base_url, servers):
            log_paths = [server.log_path for server in servers]
            offsets = {path: path.stat().st_size for path in log_paths}
            print(f"stack: nginx {base_url} -> 2 daphne ({SERVER_SETTINGS})")
            print(f"rate limiter on: X-RateLimit-Limit {check_limiter_on(base_url)} per second")
            register_accounts(base_url, args.accounts, scratch / "accounts.txt")
            env = {
                "LOAD_OFFER_IDS": str(scratch / "offers.txt"),
                "LOAD_ACCOUNTS": str(scratch / "accounts.txt"),
                "LOAD_LOGIN_WEIGHT": str(args.login_weight),
            }
            print(f"mix: login weight {args.login_weight} of {95 + args.login_weight}")
            for users in args.users:
                prefix = scratch / f"users{users}"
                cpu_before = cpu_by_role()
                run_locust(base_url, users, args.seconds, prefix, env)
                cpu_after = cpu_by_role()
                stats = read_stats(prefix)
                print_run(users, args.seconds, stats, read_failures(prefix))
                served = sum(row.requests for row in stats if row.name == "all endpoints")
                print_cpu(cpu_before, cpu_after, served, args.seconds)
                errors = server_errors(log_paths, offsets)
                print(f"server error records: {sum(errors.values())}")
                for message, count in errors.most_common(10):
                    print(f"  {count} x {message}")
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for path in [*log_paths, *sorted((scratch / "nginx").glob("**/*.log"))]:
                    shutil.copy(path, args.keep_logs / path.name)


if __name__ == "__main__":
    main()
