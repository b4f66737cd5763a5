"""Side-by-side A/B of cached-listing and /ping throughput for several checkouts.

    .venv/bin/python bench/listing_ab.py base=/path/to/checkout-a new=. [--rounds 10] [--seconds 5]

On a machine shared with other work, consecutive runs of bench/listing.py differ by ±10 %,
which hides a few-percent change. This starts one daphne per checkout at once (each serving
its own code with the same settings as bench/listing.py), all pinned to CPU 0 and idle
between turns, and loads them in rotation with `wrk -t1 -c32` on CPU 1, alternating the order
every round, so every variant sees the same machine. Prints the median req/s and server CPU
per request of each variant, relative to the first.

Needs the database bench/listing.py leaves behind (DATABASE_URL's server, BENCH_DB, default
`gpubroker_bench_listing`), its Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/9) and
`wrk`. Everything listens on 127.0.0.1 only; the servers are stopped at the end.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import httpx  # noqa: E402

sys.path.insert(0, str(Path(_HERE).parent / "backend"))

from gpubroker.testing.processes import free_port  # noqa: E402

PATHS = {"listing": "/api/v2/providers?gpu=H100&per_page=20", "ping": "/api/v2/ping"}
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def server_env() -> dict[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpubroker")
    database = os.environ.get("BENCH_DB", "gpubroker_bench_listing")
    return {
        **os.environ,
        "DATABASE_URL": urlunsplit(urlsplit(base)._replace(path=f"/{database}")),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
        "RATE_LIMIT_ANON_RPS": "10000000",
        "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
        "DB_POOL_MAX_SIZE": os.environ.get("DB_POOL_MAX_SIZE", "8"),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_and_warm(base_url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base_url + PATHS["ping"], timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not come up")
        time.sleep(0.2)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for _ in range(200):
            for path in PATHS.values():
                assert client.get(path).status_code == 200


def load(base_url: str, path: str, seconds: int, pid: int, script: Path) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request) of one wrk turn."""
    before = cpu_seconds(pid)
    output = subprocess.run(
        [
            *("taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{seconds}s"),
            *("-s", str(script), base_url + path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spent = cpu_seconds(pid) - before
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    requests, duration_us, errors = (int(value) for value in line.split()[1:])
    assert errors == 0, f"{errors} failed requests on {base_url}{path}"
    return requests / (duration_us / 1e6), spent / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="+", help="name=checkout (the first is the baseline)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    checkouts = dict(variant.split("=", 1) for variant in args.variants)
    env = server_env()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_SCRIPT)
        servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
        try:
            for name, checkout in checkouts.items():
                port = free_port()
                with open(Path(tmp) / f"{name}.log", "wb") as log:
                    process = subprocess.Popen(
                        [
                            *("taskset", "-c", "0", sys.executable, "-m", "daphne"),
                            *("-b", "127.0.0.1", "-p", str(port), "gpubroker.asgi:application"),
                        ],
                        cwd=Path(checkout).resolve() / "backend",
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                servers[name] = (f"http://127.0.0.1:{port}", process)
            for base_url, _ in servers.values():
                wait_and_warm(base_url)
            samples: dict[str, dict[str, list[tuple[float, float]]]] = {
                name: {kind: [] for kind in PATHS} for name in servers
            }
            for number in range(args.rounds):
                order = list(servers) if number % 2 == 0 else list(reversed(servers))
                for name in order:
                    base_url, process = servers[name]
                    for kind, path in PATHS.items():
                        turn = load(base_url, path, args.seconds, process.pid, script)
                        samples[name][kind].append(turn)
        finally:
            for _, process in servers.values():
                process.terminate()
            for _, process in servers.values():
                process.wait(timeout=30)
    report(samples)


def report(samples: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    medians = {
        name: {
            kind: (
                statistics.median(rps for rps, _ in turns),
                statistics.median(cpu for _, cpu in turns),
            )
            for kind, turns in kinds.items()
        }
        for name, kinds in samples.items()
    }
    baseline = next(iter(medians.values()))
    print(
        f"{'variant':10} {'kind':8} {'req/s':>7} {'vs first':>9} {'CPU us/req':>11} {'vs first':>9}"
    )
    for name, kinds in medians.items():
        for kind, (rps, cpu) in kinds.items():
            base_rps, base_cpu = baseline[kind]
            print(
                f"{name:10} {kind:8} {rps:7.0f} {(rps / base_rps - 1) * 100:+8.1f}%"
                f" {cpu:11.0f} {(cpu / base_cpu - 1) * 100:+8.1f}%"
            )
        ratio = kinds["listing"][0] / kinds["ping"][0]
        print(f"{name:10} listing/ping ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
