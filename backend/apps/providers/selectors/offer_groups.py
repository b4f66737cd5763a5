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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce


@dataclass(frozen=True)
class GroupKinds:
    """Which (gpu_model, gpu_count) groups a page is read from.

    Attributes:
        named: Canonical models a GPU filter names; None when no GPU filter restricts them.
        raw_names: Provider GPU strings the filter matched: the models their listed offers
            carry are added to `named` (found in the same statement, through
            offers_gpu_raw_model_idx).
        fewest: For the cost sorts, the models with a serving layout and the fewest GPUs
            (NULL/0 read as 1) an offer needs for a cost per token; None: any model, any count.
    """

    named: Sequence[str] | None = None
    raw_names: Sequence[str] = ()
    fewest: Mapping[str, int] | None = None


# Every (gpu_model, COALESCE(gpu_count, 0)) group of listed offers by a loose index scan (one
# probe per group, a few hundred), and the models the matched raw names carry (one probe per
# (name, model) pair).
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
), raw(name, m) AS (
    SELECT r.name, (SELECT o.gpu_model FROM gpu_offers o
                    WHERE o.gpu_name_raw = r.name AND o.gpu_model IS NOT NULL
                    ORDER BY o.gpu_model LIMIT 1)
    FROM unnest(%s::varchar[]) AS r(name)
    UNION ALL
    SELECT raw.name, (SELECT o.gpu_model FROM gpu_offers o
                      WHERE o.gpu_name_raw = raw.name AND o.gpu_model > raw.m
                      ORDER BY o.gpu_model LIMIT 1)
    FROM raw WHERE raw.m IS NOT NULL
), kinds(m) AS (
    SELECT unnest(%s::varchar[]) UNION SELECT raw.m FROM raw WHERE raw.m IS NOT NULL
)
SELECT o.* FROM groups g
"""
_FEWEST_JOIN = """JOIN unnest(%s::varchar[], %s::integer[]) AS w(m, fewest)
    ON w.m = g.m AND GREATEST(g.c, 1) >= w.fewest
"""


def group_count_expression() -> Coalesce:
    """The group's GPU count as the index holds it: COALESCE(gpu_count, 0)."""
    return Coalesce("gpu_count", Value(0))


def grouped_page(
    *,
    offers: QuerySet[Any],
    kinds: GroupKinds,
    inner_order: Sequence[Any],
    outer_order: str,
    columns: Sequence[str],
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Rows `offset` to `offset + limit` of `offers`, read group by group and merged.

    The groups are those present that `kinds` admits.
    `offers` is the filtered queryset (annotations it selects may appear in `columns`);
    `inner_order` its order within one group, which must agree with `outer_order` (SQL over
    the selected column names, e.g. "price_per_hour ASC, id ASC") on every group's rows, so
    that the first `offset + limit` of each group hold the page. Returns dicts of `columns`,
    fewer than `limit` when the groups run out (the caller decides whether that is the end).
    """
    per_group = offset + limit
    inner = (
        offers.alias(group_count=group_count_expression())
        .filter(gpu_model=RawSQL("g.m", ()), group_count=RawSQL("g.c", ()))
        .order_by(*inner_order)
        .values(*columns)[:per_group]
    )
    try:
        inner_sql, inner_params = inner.query.sql_with_params()
    except EmptyResultSet:  # a filter no offer can match (a GPU text naming nothing)
        return []
    params: list[Any] = [list(kinds.raw_names), list(kinds.named or ())]
    sql = _GROUPS_CTE
    if kinds.fewest is not None:
        sql += _FEWEST_JOIN
        params += [list(kinds.fewest), list(kinds.fewest.values())]
    # Interpolated: Django's compiled SQL (values stay parameters) and the caller's constant
    # ORDER BY; the groups, offset and limit are parameters.
    sql += f"CROSS JOIN LATERAL ({inner_sql}) AS o"
    if kinds.named is not None:
        sql += " WHERE g.m IN (SELECT m FROM kinds)"
    sql += f" ORDER BY {outer_order} LIMIT %s OFFSET %s"
    params += [*inner_params, limit, offset]
    with connections[offers.db].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
