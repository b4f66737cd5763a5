"""bench/listing.py's printed report: cached throughput, uncached p95 beside SQL, plans."""

from __future__ import annotations

import io
import json
import re
from typing import Any

#: Issue 18's bar for every uncached query shape, HTTP p95 in milliseconds.
UNCACHED_TARGET_MS = 50.0

# EXPLAIN ANALYZE lines worth keeping in a summary: plan nodes and the two timings.
_NODE = re.compile(r"^\s*(->\s+)?[A-Z][A-Za-z ]+(?: using | on |\s*\(actual)")
_TIMING = re.compile(r"^(Planning|Execution) Time")


def summarise_plan(lines: list[str]) -> list[str]:
    """The plan nodes (with actual rows/time/loops) and the timings of EXPLAIN ANALYZE text.

    `lines` are the rows of `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`; detail lines (filters,
    buffers, sort keys) are left out unless they say how many rows a filter removed.
    """
    kept = []
    for line in lines:
        stripped = line.strip()
        if _NODE.match(line) or _TIMING.match(stripped) or "Rows Removed by Filter" in stripped:
            kept.append(line)
    return kept


def report(results: dict[str, Any], *, full_plans: bool = False) -> str:
    """The text bench/listing.py prints: tables, then one plan per statement, then the JSON.

    `results` holds `cached_listing` / `ping` (run_wrk dicts, or absent when skipped),
    `uncached` {query: {p50_ms, p95_ms, psycopg_p50_ms, psycopg_p95_ms, statements, total,
    total_is_estimate}}, `serving_table_ms` and `plans` {name: EXPLAIN lines}.
    """
    out = io.StringIO()
    out.write(f"\n{results['offers']:,} offers; load average {results['load_before']} (before)")
    out.write(f", {results['load_after']} (after)\n")
    if "cached_listing" in results:
        _cached(out, results)
    out.write(
        f"\nuncached, one request at a time, p95 target <= {UNCACHED_TARGET_MS:.0f} ms"
        " (HTTP: the whole request with the listing keys deleted first; SQL: the same"
        " statements through psycopg, one connection)\n"
    )
    out.write(
        f"{'query':66} {'HTTP p50':>8} {'HTTP p95':>8} {'SQL p50':>8} {'SQL p95':>8}"
        f" {'HTTP/SQL':>8} {'<=50':>5} {'stmts':>5}  total\n"
    )
    met = 0
    for query, row in results["uncached"].items():
        ok = row["p95_ms"] <= UNCACHED_TARGET_MS
        met += ok
        total = f"~{row['total']}" if row.get("total_is_estimate") else str(row.get("total"))
        out.write(
            f"{query:66} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f}"
            f" {row['psycopg_p50_ms']:8.1f} {row['psycopg_p95_ms']:8.1f}"
            f" {row['p95_ms'] / row['psycopg_p95_ms']:8.2f} {'yes' if ok else 'NO':>5}"
            f" {row['statements']:5d}  {total}\n"
        )
    out.write(f"target met for {met} of {len(results['uncached'])} query shapes\n")
    out.write("\nper-process serving table, built once per cost basis (cold, in this process)\n")
    for name, milliseconds in results["serving_table_ms"].items():
        out.write(f"  {name:40} {milliseconds:8.1f} ms\n")
    for name, plan in results["plans"].items():
        shown = plan if full_plans else summarise_plan(plan)
        out.write(f"\nEXPLAIN ANALYZE, {name}:\n  " + "\n  ".join(shown) + "\n")
    out.write("\njson: " + json.dumps({k: v for k, v in results.items() if k != "plans"}) + "\n")
    return out.getvalue()


def _cached(out: io.StringIO, results: dict[str, Any]) -> None:
    listing, ping = results["cached_listing"], results["ping"]
    out.write("\ncached, 32 connections (server on CPU 0, wrk on CPU 1)\n")
    out.write(
        f"{'':26} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'srv CPU':>8}"
        f" {'errors':>7}\n"
    )
    for name, row in (("GET /providers?gpu=H100", listing), ("GET /ping", ping)):
        out.write(
            f"{name:26} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f}"
            f" {row['p99_ms']:8.2f}"
            f" {row['server_cpu_pct']:7.0f}% {row['non_2xx'] + row['socket_errors']:7d}\n"
        )
    out.write(
        f"ratio listing/ping: {results['ratio']:.2f} (target >= 0.6), listing p95 target <= 25 ms\n"
    )
