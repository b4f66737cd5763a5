r"""The operators' console at 100,000 offers: changelist latency next to the API listing's.

    .venv/bin/python -m gpubroker.embedded -- .venv/bin/python -P bench/admin.py \\
        [--offers 100000] [--history 5] [--runs 40]

Needs PostgreSQL (DATABASE_URL's server; the database `gpubroker_bench_admin`, or
BENCH_ADMIN_DB, is dropped and recreated) and a Redis of its own (REDIS_URL, flushed: run it
under `gpubroker.embedded` without REDIS_URL set to get a private Valkey). Loopback only.

1. Migrates the bench database and loads `--offers` synthetic offers with bench/listing.py's
   loader (the same market: 12 providers, ~2 % quarantined), then `--history` price points
   per offer (one SQL statement), then ANALYZE.
2. Starts daphne (test settings, limits raised) pinned to CPU 0; this process runs on CPU 1.
   Logs in to /admin/ as a superuser through the login form.
3. One request at a time, `--runs` each after 3 warm-ups: the offer changelist plain,
   filtered, searched (a common and a rare word), one offer's page, the provider list, the
   quarantine view and the price-history changelist; and in the same run, as the reference,
   the uncached API listing (its cache keys deleted before each request, as bench/listing.py
   does). Prints p50/p95 per page and the SQL statements each sends.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/admin.py`, this directory comes first on sys.path and bench/math.py
# would shadow the standard library's `math`. Drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(_HERE).parent
BACKEND = REPO / "backend"
sys.path.insert(0, str(BACKEND))
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

from bench import _django  # noqa: E402

SERVER_CPU = 0
CLIENT_CPU = 1
PASSWORD = "bench-operator-password"  # noqa: S105 - a throwaway superuser of the bench database


HISTORY_SQL = """
INSERT INTO price_history (id, offer_id, price_per_hour, availability_status, recorded_at)
SELECT gen_random_uuid(), o.id, round(o.price_per_hour * (0.9 + 0.2 * random())::numeric, 4),
       o.availability_status, o.updated_at - make_interval(hours => n)
FROM gpu_offers o, generate_series(1, %s) AS n
"""


def load(listing: ModuleType, url: str, offers: int, history: int, seed: int) -> float:
    started = time.perf_counter()
    listing.recreate_database(url)
    listing.load_market(url, offers, seed)
    with psycopg.connect(url) as conn:
        if history:
            conn.execute(HISTORY_SQL, (history,))
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def login(client: httpx.Client, email: str) -> None:
    form = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    response = client.post(
        "/admin/login/?next=/admin/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert response.status_code == 302, response
    assert response.headers["location"] == "/admin/", response


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def measure(
    client: httpx.Client, path: str, runs: int, before: Any = None, expect: str = ""
) -> dict[str, float]:
    samples = []
    for index in range(runs + 3):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        assert expect in response.text, (path, expect)
        if index >= 3:
            samples.append(elapsed)
    return {"p50_ms": statistics.median(samples), "p95_ms": p95(samples)}


def sql_statements(path: str) -> int:
    """How many SQL statements the page sends, through Django's test client in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.auth_app.models import User

    client = Client(HTTP_HOST="127.0.0.1")  # ALLOWED_HOSTS has no "testserver" outside pytest
    client.force_login(User.objects.get(email="bench@example.com"))
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=5, help="price points per offer")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url or not os.environ.get("DATABASE_URL"):
        sys.exit("run under `python -m gpubroker.embedded --` (a private Redis) with DATABASE_URL")

    listing = _django.listing_bench()
    listing.BENCH_DB = os.environ.get("BENCH_ADMIN_DB", "gpubroker_bench_admin")
    url = listing.database_url(listing.BENCH_DB)
    os.sched_setaffinity(0, {CLIENT_CPU})
    print(f"machine: nproc={os.cpu_count()}, cpu={listing._cpu_model()}, python {sys.version[:6]}")
    seconds = load(listing, url, args.offers, args.history, args.seed)
    print(
        f"loaded {args.offers} offers, {args.offers * args.history} price points in {seconds:.1f} s"
    )

    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        }
    )
    import django

    django.setup()
    from apps.auth_app.models import User
    from apps.providers.models import GPUOffer, Provider
    from gpubroker.testing.processes import daphne_server

    User.objects.create_superuser("bench@example.com", PASSWORD)
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    vast = Provider.objects.get(name="vastai")
    offer = GPUOffer.objects.order_by("pk").first()
    assert offer is not None
    pages = {
        "offers": ("/admin/providers/gpuoffer/", "result_list"),
        "offers ?availability=available&quarantined=no": (
            "/admin/providers/gpuoffer/?availability_status__exact=available&quarantined=no",
            "result_list",
        ),
        "offers ?provider=vastai&stale=no": (
            f"/admin/providers/gpuoffer/?provider__id__exact={vast.pk}&is_stale__exact=0",
            "result_list",
        ),
        "offers ?q=h100 (common)": ("/admin/providers/gpuoffer/?q=h100", "result_list"),
        "offers ?q=bench-99999 (rare)": ("/admin/providers/gpuoffer/?q=bench-99999", "bench-99999"),
        "offers ?q=vast 4090": ("/admin/providers/gpuoffer/?q=vast+4090", "result_list"),
        "one offer (page)": (f"/admin/providers/gpuoffer/{offer.pk}/change/", offer.external_id),
        "providers (with counts)": ("/admin/providers/provider/", "result_list"),
        "one provider (page, counts its offers)": (
            f"/admin/providers/provider/{vast.pk}/change/",
            "vastai",
        ),
        "quarantined GPU names": ("/admin/providers/quarantinedgpuname/", "quarantined-gpu-names"),
        "price history": ("/admin/providers/pricehistory/", "result_list"),
    }
    references = {
        "API GET /providers?per_page=50": "/api/v2/providers?per_page=50",
        "API GET /providers?gpu=H100": "/api/v2/providers?gpu=H100&per_page=20",
    }
    server_env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_ANON_RPS": "10000000",
        "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
        "DB_POOL_MAX_SIZE": os.environ.get("DB_POOL_MAX_SIZE", "8"),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, daphne_server(Path(tmp), env=server_env) as server:
        subprocess.run(
            ["taskset", "-a", "-pc", str(SERVER_CPU), str(server.process.pid)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            login(client, "bench@example.com")
            for name, (path, expect) in pages.items():
                results[name] = measure(client, path, args.runs, expect=expect)
            for name, path in references.items():
                drop = lambda: listing._unlink_listing_keys(store)  # noqa: E731 - uncached, as bench/listing.py
                results[name] = measure(client, path, args.runs, before=drop, expect='"items"')
    for name, (path, _) in pages.items():
        results[name]["statements"] = sql_statements(path)

    print(f"\none request at a time, {args.runs} runs each (server on CPU {SERVER_CPU})")
    print(f"{'page':50} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
    for name, row in results.items():
        statements = f"{int(row['statements']):5d}" if "statements" in row else "    -"
        print(f"{name:50} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {statements}")


if __name__ == "__main__":
    main()
