r"""ASGI servers side by side on the same app: daphne, uvicorn (uvloop + httptools), granian.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gpubroker \
        .venv/bin/python -m gpubroker.embedded -- .venv/bin/python -P bench/servers.py
    # [--offers 2000] [--seconds 8] [--rounds 2] [--servers daphne,httpserver,uvicorn,granian]

Loads bench/listing.py's synthetic market (--offers offers) into a database of its own (BENCH_DB,
default `<DATABASE_URL's database>_bench_servers`, dropped and recreated), then for each server
runs the app twice: with the API middleware (`full`) and with none at all (`floor`: Django's
own cost for the view, the same settings otherwise). `daphne` is daphne's own command line as
its documentation gives it (access log on); `httpserver` is daphne as every GPUBROKER process
runs it (`python -m gpubroker.httpserver -v 0`: refusal envelopes, the settled heap and young-GC
threshold, no access log). Every server gets the server environment (gpubroker/malloc.py).
Each server process is started under
`taskset -c 0` (one core, its workers included); bench/listing.py's `wrk -t1 -c32` runs on CPU 1
against GET /api/v2/ping and the cached GET /api/v2/providers?gpu=H100&per_page=20, --seconds each.
The servers take turns, --rounds times; the table shows the median req/s, p99 and server CPU
(the whole process tree), and each figure's ratio to daphne with the full middleware from the
same round. Development settings (psycopg pool, DEBUG off), request log at INFO to a file,
rate limiter on Redis (REDIS_URL) with its limits raised.

uvloop, httptools and granian are not project dependencies (daphne serves the app): install them
into the venv for this comparison (`.venv/bin/pip install uvloop httptools granian`); a server
whose modules are missing is left out with a note.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import unquote, urlsplit  # noqa: E402

REPO = Path(_HERE).parent
BACKEND = REPO / "backend"
sys.path.insert(0, str(BACKEND))
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench import _django  # noqa: E402
from gpubroker.malloc import server_environ  # noqa: E402
from gpubroker.testing.processes import free_port, stop_process  # noqa: E402

SERVER_CPU = 0
CLIENT_CPU = 1
PATHS = {"ping": "/api/v2/ping", "listing": "/api/v2/providers?gpu=H100&per_page=20"}
FLOOR_SETTINGS = (
    '"""No API middleware at all: the floor of a request."""\n'
    "from gpubroker.settings.development import *  # noqa: F403\n\n"
    "API_MIDDLEWARE: list[str] = []\n"
)


def server_command(server: str, port: int) -> list[str]:
    """The command line that serves gpubroker.asgi:application on 127.0.0.1:``port``."""
    python = sys.executable
    app = "gpubroker.asgi:application"
    if server == "daphne":
        return [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    if server == "httpserver":
        # What make run, the image and Kubernetes run: daphne through gpubroker.httpserver
        # (refusal envelopes, the settled heap and young-GC threshold), its access log off.
        return [python, "-m", "gpubroker.httpserver", "-v", "0", "-b", "127.0.0.1",
                "-p", str(port), app]  # fmt: skip
    if server == "uvicorn":
        return [
            python, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "off",
            "--no-access-log", "--log-level", "warning", app,
        ]  # fmt: skip
    if server == "granian":
        return [
            python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--runtime-threads", "1",
            "--loop", "uvloop", "--no-access-log", "--log-level", "warning", app,
        ]  # fmt: skip
    raise ValueError(server)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and all its descendants (granian runs its worker as a child)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(int(child) for child in children)
    return total


def wait_until_serving(base_url: str, timeout: float = 300.0) -> None:
    """Wait for GET /api/v2/ping to answer 200 (a loaded one-core server starts slowly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base_url + PATHS["ping"], timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server at {base_url} did not come up in {timeout:.0f} s")


def measure(
    listing: ModuleType, server: str, variant: str, env: dict[str, str], args: Any, tmp: Path
) -> dict[str, Any]:
    """Start one server configuration, warm it, run wrk on each path, stop it."""
    port = free_port()
    settings_module = (
        "bench_floor_settings" if variant == "floor" else "gpubroker.settings.development"
    )
    process_env = server_environ(
        {
            **os.environ,
            **env,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")])),
        }
    )
    log = open(tmp / f"{server}-{variant}.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        ["taskset", "-c", str(SERVER_CPU), *server_command(server, port)],
        cwd=BACKEND, env=process_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for _ in range(100):
                for path in PATHS.values():
                    response = client.get(path)
                    assert response.status_code == 200, (server, variant, response.text)
        return {
            name: listing.run_wrk(
                base_url, path, args.seconds, process.pid, tmp / "report.lua", tree_cpu_seconds
            )
            for name, path in PATHS.items()
        }
    finally:
        stop_process(process, timeout=15)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--servers", default="daphne,httpserver,uvicorn,granian")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpubroker")
    bench_db = os.environ.get(
        "BENCH_DB", unquote(urlsplit(base).path.lstrip("/")) + "_bench_servers"
    )
    os.environ["BENCH_DB"] = bench_db
    listing = _django.listing_bench()
    url = listing.database_url(bench_db)
    listing.recreate_database(url)
    listing.load_market(url, args.offers, args.seed)
    env = {
        "DATABASE_URL": url,
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_ANON_RPS": "1000000000",
        "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
        "GPUBROKER_DEMO_MARKET": "false",
    }
    needs = {"daphne": ["daphne"], "httpserver": ["daphne"]}
    needs["uvicorn"] = ["uvicorn", "uvloop", "httptools"]
    needs["granian"] = ["granian", "uvloop"]
    servers = []
    for server in args.servers.split(","):
        missing = [name for name in needs[server] if importlib.util.find_spec(name) is None]
        if missing:
            print(f"{server}: left out, not installed: {', '.join(missing)}")
        else:
            servers.append(server)
    configs = [(server, variant) for server in servers for variant in ("full", "floor")]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {config: [] for config in configs}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bench_floor_settings.py").write_text(FLOOR_SETTINGS)
        (tmp / "report.lua").write_text(listing.WRK_SCRIPT)
        for round_number in range(args.rounds):
            for config in configs:
                results[config].append(measure(listing, *config, env, args, tmp))
                row = results[config][-1]
                print(
                    f"round {round_number + 1} {config[0]:8} {config[1]:5} "
                    + "  ".join(f"{name} {row[name]['rps']:6.0f} req/s" for name in PATHS),
                    flush=True,
                )
    report(results, configs, servers, args)


def report(
    results: dict[tuple[str, str], list[dict[str, Any]]],
    configs: list[tuple[str, str]],
    servers: list[str],
    args: Any,
) -> None:
    """The table: medians over rounds, and ratios to daphne/full of the same round."""
    reference = ("daphne", "full") if "daphne" in servers else configs[0]
    print(
        f"\n{args.rounds} rounds x {args.seconds} s, wrk -t1 -c32 on CPU {CLIENT_CPU}, "
        f"server on CPU {SERVER_CPU}; ratio = req/s / {reference[0]} {reference[1]} same round"
    )
    for name, path in PATHS.items():
        print(f"\nGET {path}")
        print(
            f"  {'server':9} {'stack':6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'srv CPU':>7} {'errors':>6} {'ratio':>6}"
        )
        for config in configs:
            rows = [run[name] for run in results[config]]
            ratios = [
                row["rps"] / ref[name]["rps"]
                for row, ref in zip(rows, results[reference], strict=True)
            ]
            print(
                f"  {config[0]:9} {config[1]:6} "
                f"{statistics.median(r['rps'] for r in rows):7.0f} "
                f"{statistics.median(r['p50_ms'] for r in rows):7.1f} "
                f"{statistics.median(r['p99_ms'] for r in rows):7.1f} "
                f"{statistics.median(r['server_cpu_pct'] for r in rows):6.0f}% "
                f"{sum(int(r['non_2xx'] + r['socket_errors']) for r in rows):6d} "
                f"{statistics.median(ratios):6.2f}"
            )
    for config in configs:
        ping = statistics.median(run["ping"]["rps"] for run in results[config])
        listing = statistics.median(run["listing"]["rps"] for run in results[config])
        print(f"cached listing / ping, {config[0]} {config[1]}: {listing / ping:.2f}")


if __name__ == "__main__":
    main()
