"""Ingestion throughput: a 50,000-offer provider sync (with history) next to a bare COPY.

    DATABASE_URL=postgres://... .venv/bin/python -m gpubroker.embedded --instance ingest -- \
        .venv/bin/python -P bench/ingest.py [--offers N] [--per-row]

(the launcher starts a private Valkey for the events; PostgreSQL is DATABASE_URL's server).
Uses its own database (`gpubroker_bench_ingest`, dropped and re-created). Prints offers/s for:
1. first sync: fetch (recorded-format JSON through the real Vast.ai adapter), normalise with
   the GPU catalogue, upsert, one history row per offer, events published after commit;
2. re-sync with 10 % of prices changed (history and events only for those);
3. where the first sync's time goes: the adapter's parse alone, normalisation alone (GPU
   catalogue cache warm), the rest (database and events) by difference;
4. the reference: the same rows (every column the sync writes, as Python tuples) COPYed
   (binary) into a bare table with no index, constraint or history, in the same run; the
   ratio first sync ÷ reference (offers/s over rows/s) is the figure that survives a loaded
   machine;
5. with --per-row, the older floor: one `INSERT ... ON CONFLICT` per row through psycopg's
   pipelined executemany.
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
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

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
    parser.add_argument(
        "--per-row", action="store_true", help="also time one INSERT ... ON CONFLICT per row"
    )
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

    from django.db import connection

    print(f"machine: {_django.machine()}")
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    started, cpu, db_cpu = time.perf_counter(), time.process_time(), _backend_cpu(backend)
    first = provider_sync(provider_name="vastai", client=client_for(payload))
    first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    first_db_cpu = _backend_cpu(backend) - db_cpu
    offers = GPUOffer.objects.count()
    history = PriceHistory.objects.count()
    rate = rate_first = first.offers_seen / first_s
    print(
        f"first sync   : {first.offers_seen} offers in {first_s:.2f} s = {rate:,.0f} offers/s"
        f" (stored {offers}, history rows {history}, quarantined {first.offers_quarantined};"
        f" CPU: this process {first_cpu:.2f} s, its PostgreSQL backend {first_db_cpu:.2f} s)"
    )

    rng = random.Random(2)
    for record in body["offers"]:  # type: ignore[union-attr]
        if rng.random() < 0.10:
            record["dph_total"] = round(record["dph_total"] * 1.05 + 0.01, 4)
    changed_payload = json.dumps(body).encode()
    started = time.perf_counter()
    second = provider_sync(provider_name="vastai", client=client_for(changed_payload))
    second_s = time.perf_counter() - started
    rate = rate_second = second.offers_seen / second_s
    new_history = PriceHistory.objects.count() - history
    print(
        f"re-sync 10%  : {second.offers_seen} offers in {second_s:.2f} s = {rate:,.0f} offers/s"
        f" ({second.offers_changed} changed -> history rows {new_history})"
    )

    parse_s, normalise_s = _breakdown(changed_payload, client_for)
    print(
        f"  of which    : adapter parse {parse_s:.2f} s, normalise {normalise_s:.2f} s,"
        f" database + events {first_s - parse_s - normalise_s:.2f} s (first sync, by difference)"
    )

    rows = list(GPUOffer.objects.values_list(*_columns()))
    with psycopg.connect(_django.conninfo(url)) as conn:
        cpu, db_cpu = time.process_time(), _backend_cpu(conn.info.backend_pid)
        reference_s = _copy_bare(conn, rows)
        ref_cpu = time.process_time() - cpu
        ref_db_cpu = _backend_cpu(conn.info.backend_pid) - db_cpu
        ref_rate = len(rows) / reference_s
        print(
            f"reference    : {len(rows)} rows in {reference_s:.2f} s = {ref_rate:,.0f} rows/s"
            f" (binary COPY of the same {len(_columns())} columns into a bare table;"
            f" CPU: this process {ref_cpu:.2f} s, its PostgreSQL backend {ref_db_cpu:.2f} s)"
        )
        total_cpu = first_cpu + first_db_cpu
        print(
            f"CPU per offer: first sync {1e6 * total_cpu / first.offers_seen:.0f} µs,"
            f" reference {1e6 * (ref_cpu + ref_db_cpu) / len(rows):.0f} µs"
            f" (ratio {(ref_cpu + ref_db_cpu) / total_cpu:.3f}; wall time also waits for the"
            " other users of the cores)"
        )
        print(
            f"first sync / reference: {rate_first / ref_rate:.3f}"
            f" (re-sync / reference: {rate_second / ref_rate:.3f})"
        )
        if args.per_row:
            per_row_s = _per_row_upsert(conn, rows)
            print(
                f"per-row SQL  : {len(rows)} rows in {per_row_s:.2f} s ="
                f" {len(rows) / per_row_s:,.0f} rows/s (INSERT ... ON CONFLICT per row, pipelined)"
            )


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) a local PostgreSQL backend has used; 0.0 when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _columns() -> tuple[str, ...]:
    """The gpu_offers columns a sync writes per offer (OfferRow's, as services.upsert has them)."""
    from dataclasses import fields

    from apps.providers.services.normalise import OFFER_COLUMNS, OfferRow

    return tuple(f.name for f in fields(OfferRow) if f.name in OFFER_COLUMNS)


def _breakdown(payload: bytes, client_for: Any) -> tuple[float, float]:
    """Seconds for the Vast.ai adapter's fetch and parse alone, then for normalising its offers."""
    from asgiref.sync import async_to_sync
    from django.utils import timezone

    from apps.providers.adapters.vastai import VastAiAdapter
    from apps.providers.services.sync_write import _normalise

    async def fetch() -> Any:
        async with client_for(payload) as http:
            return await VastAiAdapter(http).fetch_offers(None)

    started = time.perf_counter()
    result = async_to_sync(fetch)()
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    _normalise(result, timezone.now())
    return parse_s, time.perf_counter() - started


def _copy_bare(conn: Any, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to COPY `rows` (binary, write_row per tuple) into a table with no index."""
    columns = ", ".join(_columns())
    conn.execute(f"CREATE TABLE bare_offers AS SELECT {columns} FROM gpu_offers WITH NO DATA")
    types = [
        oid
        for (oid,) in conn.execute(
            "SELECT atttypid FROM pg_attribute WHERE attrelid = 'bare_offers'::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ).fetchall()
    ]
    conn.commit()
    started = time.perf_counter()
    copy_sql = f"COPY bare_offers ({columns}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    conn.commit()
    return time.perf_counter() - started


def _per_row_upsert(conn: Any, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for one pipelined INSERT ... ON CONFLICT per row into a copy of gpu_offers."""
    conn.execute("CREATE TABLE raw_offers (LIKE gpu_offers INCLUDING ALL)")
    conn.commit()
    columns = ", ".join(_columns())
    placeholders = ", ".join(["%s"] * len(_columns()))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _columns() if name != "external_id")
    provider_id = conn.execute("SELECT id FROM providers WHERE name = 'vastai'").fetchone()[0]
    sql = (
        f"INSERT INTO raw_offers ({columns}, id, provider_id, compliance_tags, created_at,"
        f" updated_at, is_stale) VALUES ({placeholders}, gen_random_uuid(), %s, '{{}}', now(),"
        f" now(), false) ON CONFLICT (provider_id, external_id) DO UPDATE SET {updates},"
        " updated_at = now()"
    )
    started = time.perf_counter()
    with conn.cursor() as cursor:
        cursor.executemany(sql, [(*row, provider_id) for row in rows])
    conn.commit()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
