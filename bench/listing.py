"""Offer listing at 100,000 offers: cached throughput vs /ping, uncached p95 vs raw psycopg.

    .venv/bin/python bench/listing.py [--offers 100000] [--seconds 10] [--runs 40] [--reuse]

Needs PostgreSQL (DATABASE_URL's server; a dedicated database, `gpubroker_bench_listing` or
BENCH_DB, is dropped and recreated) and Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/9, flushed), and `wrk` on PATH. Everything listens on 127.0.0.1 only.

1. Migrates the bench database, loads the GPU specs and COPYs `--offers` synthetic offers
   (catalogue GPUs weighted towards popular models, 1-8 GPUs, realistic per-GPU prices with
   noise, ~60 regions, 12 providers, availability/spot/compliance mixes), then ANALYZE.
2. Starts daphne (gpubroker.testing.processes.daphne_server) pinned to CPU 0 with the rate
   limiter on but its limits raised; this process and wrk run on CPU 1.
3. Cached: `wrk -c32` on GET /api/v2/providers?gpu=H100&per_page=20 (cache warmed) and on
   GET /api/v2/ping, each for --seconds; throughput, p50/p95/p99, server CPU, the ratio.
4. Uncached: filtered listings, one request at a time with the listing keys deleted before
   each, p95 over --runs; next to the same SQL statements (providers, page, count) that the
   ORM sends, run with psycopg on one connection, their ratio and whether p95 <= 50 ms.
5. EXPLAIN ANALYZE of every statement of every uncached query shape (`--plans`: a summary of
   the plan nodes, or the full text).

`--reuse` keeps a bench database that already holds `--offers` offers (migrates it, so new
indexes are built, then ANALYZE) instead of loading it again: at 1,000,000 offers the load
takes minutes.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/listing.py`, this directory comes first on sys.path and bench/math.py
# would shadow the standard library's `math`. Drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import functools  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
sys.path.insert(0, str(BACKEND))
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

from bench._listing_report import report  # noqa: E402
from gpubroker import dburl  # noqa: E402

# Overridable so that several checkouts on one PostgreSQL server do not drop each other's copy.
BENCH_DB = os.environ.get("BENCH_DB", "gpubroker_bench_listing")
SERVER_CPU = 0
CLIENT_CPU = 1
CACHED_PATH = "/api/v2/providers?gpu=H100&per_page=20"
PING_PATH = "/api/v2/ping"
UNCACHED_QUERIES = [
    "gpu=H100&per_page=20",
    "gpu=a100&region=us&per_page=20",
    "provider=vastai&sort=-price&per_page=50",
    "gpu_memory_min=80&max_price=10&per_page=20",
    "compliance_tag=soc2&availability=available&per_page=20",
    "gpu=4090&sort=cost_per_token&per_page=20",
    "spot=true&availability=available&page=5&per_page=20",
    "gpu_count_min=4&sort=updated&per_page=100",
    "model=llama-3.3-70b&precision=fp8&sort=cost_per_million_tokens&per_page=20",
    "gpu=h100&model=deepseek-r1&precision=fp8&per_page=20",
]
PROVIDERS = [
    "vastai",
    "runpod",
    "lambda",
    "tensordock",
    "shadeform",
    "cloudrift",
    "verda",
    "vultr",
    "coreweave",
    "paperspace",
    "fluidstack",
    "hyperstack",
]
REGIONS = [
    *(f"{c}, {cc}" for c, cc in [("New York", "US"), ("Oregon", "US"), ("Texas", "US")]),
    *(f"{c}, {cc}" for c, cc in [("Quebec", "CA"), ("Germany", "DE"), ("Japan", "JP")]),
    *(f"us-{d}-{n}" for d in ("east", "west", "central") for n in (1, 2, 3)),
    *(f"eu-{d}-{n}" for d in ("west", "north", "central") for n in (1, 2, 3)),
    *(f"ap-{d}-{n}" for d in ("south", "northeast") for n in (1, 2)),
    *(f"FIN-0{n}" for n in range(1, 4)),
]
COUNTRIES = {"US": 0.45, "DE": 0.12, "CA": 0.08, "JP": 0.07, "FI": 0.06, "GB": 0.06, "IN": 0.04}


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpubroker")
    return dburl.with_database(base, name)


def recreate_database(url: str) -> None:
    admin = database_url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    _manage(url, ["migrate", "-v0"], ["load_gpu_specs"])


def reusable_offers(url: str, count: int) -> bool:
    """Whether the bench database holds exactly `count` offers (False when it does not exist)."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM gpu_offers").fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == count


def _manage(url: str, *commands: list[str]) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test"}
    for command in commands:
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=BACKEND,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def synthetic_offers(
    count: int, provider_ids: list[uuid.UUID], seed: int
) -> Iterator[tuple[Any, ...]]:
    from apps.gpus.catalogue import all_gpus

    rng = random.Random(seed)
    gpus = list(all_gpus())
    popular = {
        "H100 SXM": 8,
        "H100 PCIe": 3,
        "A100 SXM 80GB": 6,
        "RTX 4090": 8,
        "L40S": 4,
        "H200 SXM": 3,
    }
    weights = [popular.get(g.gpu_model, 1) for g in gpus]
    now = datetime.now(UTC)
    countries = list(COUNTRIES)
    for index in range(count):
        gpu = rng.choices(gpus, weights)[0]
        gpu_count = rng.choice((1, 1, 1, 2, 4, 8))
        per_gpu = max(0.05, gpu.tflops_fp16 / 400 * rng.uniform(0.5, 1.6))
        price = round(per_gpu * gpu_count, 4)
        quarantined = rng.random() < 0.02
        raw = rng.choice(
            (gpu.gpu_model, f"NVIDIA {gpu.gpu_model}", gpu.gpu_model.upper().replace(" ", "-"))
        )
        tags = "{soc2}" if rng.random() < 0.1 else ("{soc2,hipaa}" if rng.random() < 0.03 else "{}")
        availability = rng.choices(("available", "limited", "unavailable"), (85, 10, 5))[0]
        updated = now - timedelta(seconds=rng.randint(0, 3600))
        yield (
            uuid.uuid4(),
            rng.choice(provider_ids),
            f"bench-{index}",
            "Unknown GPU" if quarantined else gpu.gpu_model,
            None if quarantined else gpu.gpu_model,
            raw,
            round(gpu.vram_gb),
            gpu_count,
            rng.choice((4, 8, 16, 32, 64, 128)) * gpu_count // 2 or 4,
            rng.choice((32, 64, 128, 256, 512, 1024)),
            rng.choice((50, 100, 500, 1000, 2000)),
            price,
            "USD",
            rng.choice(REGIONS),
            rng.choices(countries, list(COUNTRIES.values()))[0],
            availability,
            rng.random() < 0.2,
            False,
            tags,
            rng.random() < 0.01,
            updated,
            updated,
            updated,
        )


COPY_COLUMNS = (
    "id, provider_id, external_id, gpu_type, gpu_model, gpu_name_raw, gpu_memory_gb, gpu_count, "
    "cpu_cores, ram_gb, storage_gb, price_per_hour, currency, region, country, "
    "availability_status, "
    "spot_pricing, preemptible, compliance_tags, is_stale, created_at, updated_at, last_seen_at"
)


def load_market(url: str, count: int, seed: int) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        provider_ids = []
        for name in PROVIDERS:
            provider_id = uuid.uuid4()
            provider_ids.append(provider_id)
            conn.execute(
                "INSERT INTO providers (id, name, display_name, status, supported_regions,"
                " compliance_tags, created_at, updated_at, last_sync_at, last_success_at,"
                " error_count, sync_interval_seconds,"
                " price_source, breaker_state, quarantined_names)"
                " VALUES (%s, %s, %s, 'active', '{}', '{}', %s, %s, %s, %s, 0, 86400, 'api',"
                " 'closed', '{}')",
                (provider_id, name, name.title(), now, now, now, now),
            )
        with conn.cursor().copy(f"COPY gpu_offers ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in synthetic_offers(count, provider_ids, seed):
                copy.write_row(row)
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(
    base_url: str,
    path: str,
    seconds: int,
    pid: int,
    script: Path,
    cpu_seconds: Callable[[int], float] = process_cpu_seconds,
) -> dict[str, float]:
    """Run wrk -t1 -c32 on CLIENT_CPU: req/s, p50/p95/p99 ms, errors, server CPU % of ``pid``."""
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    output = subprocess.run(
        [
            "taskset",
            "-c",
            str(CLIENT_CPU),
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "-s",
            str(script),
            base_url + path,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before) * 100
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    requests, duration_us, p50, p95, p99, status_errors, socket_errors = (
        int(v) for v in line.split()[1:]
    )
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
        "server_cpu_pct": cpu,
    }


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def orm_statements(query_string: str, store: redis.Redis) -> list[str]:
    """The SQL statements the listing sends for this query (providers, page, count).

    Captured from the real selector with the listing keys deleted first (so the count runs
    too).
    """
    from urllib.parse import parse_qsl

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.gpus.kpis import gpu_fp32_tflops, serving_table
    from apps.providers.schemas import OfferFilterIn
    from apps.providers.selectors.offers import offer_list

    query = OfferFilterIn(**dict(parse_qsl(query_string))).to_query()
    gpu_fp32_tflops()  # the per-process tables, computed once, not part of a request
    serving_table(query.cost_basis())
    _unlink_listing_keys(store)
    with CaptureQueriesContext(connection) as captured:
        offer_list(query=query)
    return [entry["sql"] for entry in captured.captured_queries]


def serving_table_costs() -> dict[str, float]:
    """Milliseconds to build the per-process serving table of each cost basis (cold).

    The first listing request for a (model, precision) in a server process pays this once;
    the uncached p95 above does not show it because the table outlives the listing cache.
    """
    from urllib.parse import parse_qsl

    from apps.gpus.kpis import serving_table
    from apps.providers.schemas import OfferFilterIn

    costs = {}
    for query_string in ["", *UNCACHED_QUERIES]:
        basis = OfferFilterIn(**dict(parse_qsl(query_string))).to_query().cost_basis()
        name = f"{basis.model} {basis.precision}"
        if name in costs:
            continue
        serving_table.cache_clear()
        started = time.perf_counter()
        serving_table(basis)
        costs[name] = (time.perf_counter() - started) * 1000
    return costs


def _unlink_listing_keys(store: redis.Redis) -> None:
    keys = list(store.scan_iter(match="*providers:list:*", count=1000))
    if keys:
        store.unlink(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--plans", choices=("summary", "full"), default="summary",
        help="EXPLAIN ANALYZE of every statement: plan nodes and timings, or the whole text",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", action="store_true",
        help="keep a bench database that already holds --offers offers (migrate + ANALYZE)",
    )  # fmt: skip
    args = parser.parse_args()

    os.sched_setaffinity(0, {CLIENT_CPU})
    url = database_url(BENCH_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    os.environ.update(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
        }
    )
    print(f"machine: nproc={os.cpu_count()}, cpu={_cpu_model()}, python {sys.version.split()[0]}")
    results: dict[str, Any] = {"offers": args.offers, "load_before": _load_average()}
    if args.reuse and reusable_offers(url, args.offers):
        started = time.perf_counter()
        _manage(url, ["migrate", "-v0"])
        print(f"reused {args.offers} offers; migrate {_since(started):.1f} s")
    else:
        recreate_database(url)
        load_seconds = load_market(url, args.offers, args.seed)
        print(f"loaded {args.offers} offers in {load_seconds:.1f} s")
    # As autovacuum leaves a settled table: statistics and the visibility map (index-only scans).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE gpu_offers")

    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from gpubroker.testing.processes import daphne_server

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    server_env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_ANON_RPS": "10000000",
        "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
        # Production's connection pool (the test settings turn it off unless asked for).
        "DB_POOL_MAX_SIZE": os.environ.get("DB_POOL_MAX_SIZE", "8"),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
    }
    with tempfile.TemporaryDirectory() as tmp, daphne_server(Path(tmp), env=server_env) as server:
        subprocess.run(
            ["taskset", "-a", "-pc", str(SERVER_CPU), str(server.process.pid)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_SCRIPT)
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            first = client.get(CACHED_PATH)
            assert first.status_code == 200, first.text
            print(f"GET {CACHED_PATH}: total={first.json()['total']}, {len(first.content)} bytes")
            if args.seconds > 0:
                for _ in range(200):  # warm both paths
                    client.get(CACHED_PATH)
                    client.get(PING_PATH)
                run = functools.partial(
                    run_wrk, server.base_url, seconds=args.seconds, pid=server.process.pid,
                    script=script,
                )  # fmt: skip
                listing, ping = run(path=CACHED_PATH), run(path=PING_PATH)
                results["cached_listing"], results["ping"] = listing, ping
                results["ratio"] = listing["rps"] / ping["rps"]
            results["uncached"] = {
                query: uncached_http(client, store, query, args.runs) for query in UNCACHED_QUERIES
            }

    from django.conf import settings  # the server's session settings: planned as its were

    with psycopg.connect(url, options=settings.DATABASES["default"]["OPTIONS"]["options"]) as conn:
        for query in UNCACHED_QUERIES:
            statements = orm_statements(query, store)
            results["uncached"][query]["statements"] = len(statements)
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                for sql in statements:
                    conn.execute(sql.encode()).fetchall()
                samples.append((time.perf_counter() - started) * 1000)
            results["uncached"][query].update(
                {"psycopg_p50_ms": statistics.median(samples), "psycopg_p95_ms": p95(samples)}
            )
        results["serving_table_ms"] = serving_table_costs()
        plans: dict[str, list[str]] = {}
        for query in UNCACHED_QUERIES:
            for index, sql in enumerate(orm_statements(query, store)):
                if sql.lstrip().upper().startswith("EXPLAIN"):
                    continue  # the count's planner estimate: an EXPLAIN already
                explain = ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql).encode()
                plans[f"{query} statement {index + 1}"] = [row[0] for row in conn.execute(explain)]
        results["plans"] = plans
    results["load_after"] = _load_average()
    print(report(results, full_plans=args.plans == "full"))


def uncached_http(
    client: httpx.Client, store: redis.Redis, query: str, runs: int
) -> dict[str, Any]:
    """`runs` requests of the listing `query`, listing keys deleted before each.

    p50/p95 in ms, and the total (with `total_is_estimate`) the last response gave.
    """
    samples = []
    for _ in range(runs):
        _unlink_listing_keys(store)
        started = time.perf_counter()
        response = client.get(f"/api/v2/providers?{query}")
        samples.append(_since(started) * 1000)
        assert response.status_code == 200, response.text
    body = response.json()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": p95(samples),
        "total": body["total"],
        "total_is_estimate": body.get("total_is_estimate", False),
    }


def _since(started: float) -> float:
    return time.perf_counter() - started


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
