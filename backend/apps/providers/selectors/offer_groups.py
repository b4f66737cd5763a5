"""A listing page read group by group: GPU kind and count, the top of each, merged.

At a million offers, "the 20 cheapest H100s" or "the 20 lowest costs per token" must not sort
every match: a GPU filter matches a sixth of the market, and the cost order is an expression
no index holds. Both orders are, within one (gpu_model, gpu_count) group, the order of
`price_per_hour` (cost per token is the price over a tokens/s fixed by the GPU kind and
count). So the page reads the first `offset + limit` rows of each group through the
`offers_group_price_idx` index, (gpu_model, COALESCE(gpu_count, 0), price_per_hour, id) on
listed offers, in one `LATERAL` join over the groups, and sorts those few hundred rows.

The groups present are found in the same statement by a loose index scan over the same index
(one probe per group, ~3 ms for a few hundred groups), so the page stays one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

#: A GPU kind the page is read from, and the fewest GPUs (NULL/0 read as 1) an offer of it
#: needs to be on the page (0: any).
Wanted = tuple[str, int]

# Every (gpu_model, COALESCE(gpu_count, 0)) group of listed offers by a loose index scan (one
# probe per group, a few hundred), kept to the wanted kinds and counts.
_GROUPS_CTE = """
WITH RECURSIVE groups(m, c) AS (
    (SELECT gpu_model, COALESCE(gpu_count, 0) FROM gpu_offers WHERE gpu_model IS NOT NULL
     ORDER BY gpu_model, COALESCE(gpu_count, 0) LIMIT 1)
    UNION ALL
    SELECT next.m, next.c FROM groups CROSS JOIN LATERAL (
        SELECT o.gpu_model AS m, COALESCE(o.gpu_count, 0) AS c FROM gpu_offers o
        WHERE o.gpu_model IS NOT NULL
          AND (o.gpu_model, COALESCE(o.gpu_count, 0)) > (groups.m, groups.c)
        ORDER BY o.gpu_model, COALESCE(o.gpu_count, 0) LIMIT 1
    ) AS next
)
SELECT o.* FROM groups g
JOIN unnest(%s::varchar[], %s::integer[]) AS w(m, fewest)
    ON w.m = g.m AND GREATEST(g.c, 1) >= w.fewest
"""


def group_count_expression() -> Coalesce:
    """The group's GPU count as the index holds it: COALESCE(gpu_count, 0)."""
    return Coalesce("gpu_count", Value(0))


def grouped_page(
    *,
    offers: QuerySet[Any],
    wanted: Sequence[Wanted],
    inner_order: Sequence[Any],
    outer_order: str,
    columns: Sequence[str],
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Rows `offset` to `offset + limit` of `offers`, read group by group and merged.

    The groups are those present of the `wanted` GPU kinds with at least their GPU count.
    `offers` is the filtered queryset (annotations it selects may appear in `columns`);
    `inner_order` its order within one group, which must agree with `outer_order` (SQL over
    the selected column names, e.g. "price_per_hour ASC, id ASC") on every group's rows, so
    that the first `offset + limit` of each group hold the page. Returns dicts of `columns`,
    fewer than `limit` when the groups run out (the caller decides whether that is the end).
    """
    if not wanted:
        return []
    per_group = offset + limit
    inner = (
        offers.alias(group_count=group_count_expression())
        .filter(gpu_model=RawSQL("g.m", ()), group_count=RawSQL("g.c", ()))
        .order_by(*inner_order)
        .values(*columns)[:per_group]
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    # Interpolated: Django's compiled SQL (values stay parameters) and the caller's constant
    # ORDER BY; the groups, offset and limit are parameters.
    sql = (
        _GROUPS_CTE
        + f" CROSS JOIN LATERAL ({inner_sql}) AS o ORDER BY {outer_order} LIMIT %s OFFSET %s"
    )
    params = [[m for m, _ in wanted], [n for _, n in wanted], *inner_params, limit, offset]
    with connections[offers.db].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
