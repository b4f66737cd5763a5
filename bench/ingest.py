"""Ingestion throughput: a 50,000-offer provider sync (with history) next to raw SQL.

    cd backend && DATABASE_URL=... REDIS_URL=... ../.venv/bin/python ../bench/ingest.py [--offers N]

Uses its own database (`gpubroker_bench_ingest`, dropped and re-created). Prints offers/s for:
1. first sync: fetch (recorded-format JSON through the real Vast.ai adapter), normalise with
   the GPU catalogue, upsert, one history row per offer, events published after commit;
2. re-sync with 10 % of prices changed (history and events only for those);
3. the same rows written by one raw `INSERT ... ON CONFLICT` per row through psycopg's
   pipelined executemany (no adapter, no normalisation, no history): the database floor.
"""

from __future__ import annotations

import os
import sys

# bench/math.py would shadow the standard library's math module: take bench/ off the path first.
_BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH_DIR]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "_bench_django", os.path.join(_BENCH_DIR, "_django.py")
)
if _spec is None or _spec.loader is None:
    raise SystemExit("bench/_django.py is missing")
_django = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_django)


def vast_body(count: int, seed: int) -> dict[str, object]:
    sys.path.insert(0, str(_django.BACKEND / "apps/providers/tests/fixtures/providers"))
    from make_vastai_fixture import bundle  # type: ignore[import-not-found]

    rng = random.Random(seed)
    return {"offers": [bundle(rng, 30_000_000 + i) for i in range(count)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=50_000)
    args = parser.parse_args()
    url = _django.setup("gpubroker_bench_ingest")

    import httpx
    import psycopg

    from apps.providers.models import GPUOffer, PriceHistory
    from apps.providers.services.sync import provider_sync

    body = vast_body(args.offers, seed=1)
    payload = json.dumps(body).encode()

    def client_for(content: bytes) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(lambda request: httpx.Response(200, content=content))
        )

    print(f"machine: {_django.machine()}")
    started = time.perf_counter()
    first = provider_sync(provider_name="vastai", client=client_for(payload))
    first_s = time.perf_counter() - started
    offers = GPUOffer.objects.count()
    history = PriceHistory.objects.count()
    rate = first.offers_seen / first_s
    print(
        f"first sync   : {first.offers_seen} offers in {first_s:.2f} s = {rate:,.0f} offers/s"
        f" (stored {offers}, history rows {history}, quarantined {first.offers_quarantined})"
    )

    rng = random.Random(2)
    for record in body["offers"]:  # type: ignore[union-attr]
        if rng.random() < 0.10:
            record["dph_total"] = round(record["dph_total"] * 1.05 + 0.01, 4)
    changed_payload = json.dumps(body).encode()
    started = time.perf_counter()
    second = provider_sync(provider_name="vastai", client=client_for(changed_payload))
    second_s = time.perf_counter() - started
    rate = second.offers_seen / second_s
    new_history = PriceHistory.objects.count() - history
    print(
        f"re-sync 10%  : {second.offers_seen} offers in {second_s:.2f} s = {rate:,.0f} offers/s"
        f" ({second.offers_changed} changed -> history rows {new_history})"
    )

    rows = list(
        GPUOffer.objects.values_list(
            "provider_id",
            "external_id",
            "gpu_type",
            "gpu_memory_gb",
            "price_per_hour",
            "region",
            "availability_status",
        )
    )
    with psycopg.connect(_django.conninfo(url)) as conn:
        conn.execute("CREATE TABLE raw_offers (LIKE gpu_offers INCLUDING ALL)")
        conn.commit()
        sql = (
            "INSERT INTO raw_offers (id, provider_id, external_id, gpu_type, gpu_memory_gb,"
            " price_per_hour, region, availability_status, currency, spot_pricing, preemptible,"
            " compliance_tags, created_at, updated_at, is_stale)"
            " VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, 'USD', false, false, '{}',"
            " now(), now(), false)"
            " ON CONFLICT (provider_id, external_id) DO UPDATE SET"
            " price_per_hour = EXCLUDED.price_per_hour,"
            " availability_status = EXCLUDED.availability_status, updated_at = now()"
        )
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)
        conn.commit()
        raw_s = time.perf_counter() - started
    print(
        f"raw SQL      : {len(rows)} rows in {raw_s:.2f} s = {len(rows) / raw_s:,.0f} rows/s"
        " (psycopg executemany, INSERT ... ON CONFLICT per row, pipelined)"
    )
    print(f"first sync / raw SQL time: {first_s / raw_s:.2f}x")


if __name__ == "__main__":
    main()
