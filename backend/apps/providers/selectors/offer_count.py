"""How many offers match a listing's filters: exact up to a bound, PostgreSQL's estimate beyond.

Counting every match of a broad filter reads every matching row (a million offers: hundreds of
milliseconds, more than the page itself), so the listing asks PostgreSQL's planner how many rows
it expects and, beyond `PROVIDERS_LIST_EXACT_COUNT_MAX`, answers with that estimate and says so
(`total_is_estimate`). Smaller results, the ones a buyer pages to the end of, are counted
exactly (a count bounded at that maximum + 1).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet

from apps.providers.cache import listing_cache_get, listing_cache_key, listing_cache_set

if TYPE_CHECKING:
    from apps.providers.selectors.offers import OfferQuery


@dataclass(frozen=True)
class OfferTotal:
    """A listing's total: `count` offers, exact unless `is_estimate`."""

    count: int
    is_estimate: bool = False


def offer_total(offers: QuerySet[Any], *, exact_max: int) -> OfferTotal:
    """The number of rows of `offers`: exact when PostgreSQL expects at most `exact_max`.

    First an `EXPLAIN` of the query for the planner's row estimate (planning only, under a
    millisecond). Above `exact_max`, that estimate is the answer. Otherwise one bounded count
    (`SELECT count(*) FROM (… LIMIT exact_max + 1)`): exact when it stays within the bound, and
    when the planner underestimated, the larger of its estimate and what was counted, flagged
    as an estimate. `exact_max` < 0 is read as 0.

    While gpu_offers is small (under ESTIMATE_FROM_TABLE_BYTES) the bounded count runs
    whatever the planner expects: counting is cheap there, and a small table's statistics
    can be far off (rows deleted since the last ANALYZE still count in its pages).

    Counting first and estimating only past the bound was measured and dropped: at a million
    offers a bounded count of 10,001 rows still builds the whole bitmap of a broad filter
    (~120 ms for `gpu=a100&region=us`, docs/benchmarks.md "Listing").
    """
    bound = max(exact_max, 0)
    expected = planner_rows(offers)
    if expected > bound and _offers_table_is_large(offers.db):
        return OfferTotal(expected, is_estimate=True)
    counted = offers.order_by()[: bound + 1].count()
    if counted <= bound:
        return OfferTotal(counted)
    return OfferTotal(max(expected, counted), is_estimate=True)


#: Below this size of gpu_offers (about 130,000 offers) totals are always counted.
ESTIMATE_FROM_TABLE_BYTES = 64 * 1024 * 1024
_TABLE_SIZE_TTL_SECONDS = 60.0
_table_size: dict[str, tuple[float, int]] = {}  # database alias -> (read at, bytes)


def _offers_table_is_large(alias: str) -> bool:
    """Whether gpu_offers takes ESTIMATE_FROM_TABLE_BYTES or more; read once a minute."""
    now = time.monotonic()
    read_at, size = _table_size.get(alias, (-_TABLE_SIZE_TTL_SECONDS, 0))
    if now - read_at >= _TABLE_SIZE_TTL_SECONDS:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_relation_size('gpu_offers')")
            row = cursor.fetchone()
        size = int(row[0]) if row else 0
        _table_size[alias] = (now, size)
    return size >= ESTIMATE_FROM_TABLE_BYTES


def planner_rows(offers: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows `offers` returns (`EXPLAIN`, nothing executed).

    As good as the table's statistics (ANALYZE, autovacuum): typically within a few tens of
    percent for the listing's equality and range filters on a settled table.
    """
    sql, params = offers.order_by().values("pk").query.sql_with_params()
    with connections[offers.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        row = cursor.fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"]) if plan else 0


def cached_total(offers: QuerySet[Any], query: OfferQuery) -> OfferTotal:
    """`offer_total` of the listing's filtered `offers`, cached per filter set of `query`.

    Under the listing prefix for the listing TTL, so ingestion's invalidation drops the
    totals with the pages; every page and sort of one filter set shares it.
    """
    key = listing_cache_key({**query.filter_params(), "kind": "total"})
    cached = listing_cache_get(key)
    if isinstance(cached, list) and len(cached) == 2:
        return OfferTotal(int(cached[0]), bool(cached[1]))
    total = offer_total(offers, exact_max=settings.PROVIDERS_LIST_EXACT_COUNT_MAX)
    listing_cache_set(
        key, [total.count, total.is_estimate], settings.PROVIDERS_LIST_CACHE_TTL_SECONDS
    )
    return total
