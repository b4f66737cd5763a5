"""How many offers match a listing's filters: exact up to a bound, PostgreSQL's estimate beyond.

Counting every match of a broad filter reads every matching row (a million offers: hundreds of
milliseconds, more than the page itself), so the listing counts at most
`PROVIDERS_LIST_EXACT_COUNT_MAX` + 1 matches and, when there are more, answers with the
planner's estimate of the same query and says so (`total_is_estimate`). Small results, the
ones a buyer pages to the end of, stay exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet


@dataclass(frozen=True)
class OfferTotal:
    """A listing's total: `count` offers, exact unless `is_estimate`."""

    count: int
    is_estimate: bool = False


def offer_total(offers: QuerySet[Any], *, exact_max: int) -> OfferTotal:
    """The number of rows of `offers`: exact when at most `exact_max`, else an estimate.

    One bounded count (`SELECT count(*) FROM (… LIMIT exact_max + 1)`), plus, only when the
    bound is reached, one `EXPLAIN` of the query for the planner's row estimate. The estimate
    is never below `exact_max + 1` (that many were counted). `exact_max` < 0 is read as 0.
    """
    bound = max(exact_max, 0)
    counted = offers.order_by()[: bound + 1].count()
    if counted <= bound:
        return OfferTotal(counted)
    return OfferTotal(max(planner_rows(offers), counted), is_estimate=True)


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
