"""A listing page read group by group: GPU kind and count, the top of each, merged.

At a million offers, "the 20 cheapest H100s" or "the 20 lowest costs per token" must not sort
every match: a GPU filter matches a sixth of the market, and the cost order is an expression
no index holds. Both orders are, within one (gpu_model, gpu_count) group, the order of
`price_per_hour` (cost per token is the price over a tokens/s fixed by the GPU kind and
count). So the page reads the first row of each group through the `offers_group_price_idx`
index, (gpu_model, COALESCE(gpu_count, 0), price_per_hour, id) on listed offers, keeps the
`offset + limit` groups whose first rows rank first (no other group can reach the page), reads
the first `offset + limit` rows of each kept group the same way, and sorts those few hundred.

The groups present are found in the same statement by a loose index scan over the same index
within each model the page can hold (the GPU filter's, or those with a serving layout for the
cost sorts; one probe per group), so the page stays one statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from apps.gpus.kpis import CostBasis, offer_tokens_per_second_terms
from apps.providers.selectors.offer_terms import gpu_names_matching

if TYPE_CHECKING:
    from apps.providers.selectors.offers import OfferQuery


@dataclass(frozen=True)
class GroupKinds:
    """Which (gpu_model, gpu_count) groups a page is read from.

    Attributes:
        named: Canonical models a GPU filter names; None when no GPU filter restricts them.
        layouts: For the cost sorts, each model's serving layouts as (GPUs per replica,
            output tokens/s per replica), `kpis.offer_tokens_per_second_terms`: the groups are
            those with a replica to run, and the cost per token is computed per group, the
            same float arithmetic as `costs.cost_per_token_expression` (so the same order)
            without its CASE over every model (Django builds that in ~30 ms). None: the price
            sorts, any model and count.
    """

    named: Sequence[str] | None = None
    layouts: Mapping[str, Sequence[tuple[int, float]]] | None = None

    def models(self) -> list[str]:
        """The models whose groups are read: the named ones, with a layout for the cost sorts.

        Raises:
            ValueError: neither `named` nor `layouts` restricts the models (`group_kinds`
                never builds such kinds: a price sort without a GPU filter is not grouped).
        """
        if self.layouts is None:
            if self.named is None:
                raise ValueError("GroupKinds needs named models or layouts")
            return sorted(self.named)
        return sorted(m for m in self.layouts if self.named is None or m in self.named)


# The (gpu_model, COALESCE(gpu_count, 0)) groups of listed offers of the models in the array
# parameter, by a loose index scan within each model (one probe per group and one per model,
# a few hundred at most); a model with no listed offer ends with c NULL, dropped by the caller.
_GROUPS_CTE = """
WITH RECURSIVE groups(m, c) AS (
    SELECT k.m, (SELECT COALESCE(o.gpu_count, 0) FROM gpu_offers o
                 WHERE o.gpu_model IS NOT NULL AND o.gpu_model = k.m
                 ORDER BY COALESCE(o.gpu_count, 0) LIMIT 1)
    FROM unnest(%s::varchar[]) AS k(m)
    UNION ALL
    SELECT g.m, (SELECT COALESCE(o.gpu_count, 0) FROM gpu_offers o
                 WHERE o.gpu_model IS NOT NULL AND o.gpu_model = g.m
                   AND COALESCE(o.gpu_count, 0) > g.c
                 ORDER BY COALESCE(o.gpu_count, 0) LIMIT 1)
    FROM groups g WHERE g.c IS NOT NULL
)
"""
# Per group, its tokens/s: the greatest over its kind's layouts of replicas x tokens/s per
# replica, replicas = GPUs (NULL/0: 1) // GPUs per replica, as cost_per_token_expression has it.
# One hash join of the groups with the layouts (not one pass over every layout per group).
_TOKENS_CTE = """, tokens(m, c, tps) AS (
    SELECT g.m, g.c, MAX((GREATEST(g.c, 1) / l.per)::float8 * l.tok)
    FROM groups g JOIN unnest(%s::varchar[], %s::integer[], %s::float8[]) AS l(m, per, tok)
         ON l.m = g.m
    WHERE g.c IS NOT NULL
    GROUP BY g.m, g.c
)
"""


@dataclass(frozen=True)
class MemoryRange:
    """Groups by GPU memory (GB per GPU) from `least` to `most` (None: unbounded), any GPU.

    For the price sorts with a memory bound and no GPU filter: the cheapest offers with 80 GB
    lie far down the price index (past every cheaper small card), so each memory size is
    read through offers_memory_price_idx, (gpu_memory_gb, price_per_hour, id) on listed offers.
    """

    least: int | None = None
    most: int | None = None


# The memory sizes of listed offers from `least` up, by a loose index scan (a few dozen).
_MEMORY_CTE = """
WITH RECURSIVE groups(mem) AS (
    (SELECT gpu_memory_gb FROM gpu_offers WHERE gpu_model IS NOT NULL AND gpu_memory_gb >= %s
     ORDER BY gpu_memory_gb LIMIT 1)
    UNION ALL
    SELECT (SELECT o.gpu_memory_gb FROM gpu_offers o
            WHERE o.gpu_model IS NOT NULL AND o.gpu_memory_gb > groups.mem
            ORDER BY o.gpu_memory_gb LIMIT 1)
    FROM groups WHERE groups.mem IS NOT NULL
)
"""
_COST = "o.price_per_hour::float8 / ({tps} * 3600.0) AS cost_per_token"


def group_count_expression() -> Coalesce:
    """The group's GPU count as the index holds it: COALESCE(gpu_count, 0)."""
    return Coalesce("gpu_count", Value(0))


def grouped_page(
    *,
    offers: QuerySet[Any],
    kinds: GroupKinds | MemoryRange,
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
    wheres: list[str] = []
    params: list[Any]
    best = "o.id, o.price_per_hour"  # what the best row of each group is ranked by
    tail, page = "FROM groups g ", "SELECT o.* FROM kept g "
    if isinstance(kinds, MemoryRange):
        least = -(2**31) if kinds.least is None else kinds.least
        sql, params = _MEMORY_CTE + ", kept AS (SELECT g.*, ", [least]
        wheres.append("g.mem IS NOT NULL")
        if kinds.most is not None:
            wheres.append("g.mem <= %s")
        inner = offers.filter(gpu_memory_gb=RawSQL("g.mem", ()))
    else:
        sql, params = _GROUPS_CTE, [list(kinds.models())]
        if kinds.layouts is not None:
            terms = [(m, per, tok) for m, layouts in kinds.layouts.items() for per, tok in layouts]
            sql += _TOKENS_CTE + ", kept AS (SELECT g.*, "
            best += ", " + _COST.format(tps="g.tps")
            tail = "FROM tokens g "
            params += [[t[0] for t in terms], [t[1] for t in terms], [t[2] for t in terms]]
            wheres.append("g.tps > 0")
            page = f"SELECT o.*, {_COST.format(tps='g.tps')} FROM kept g "  # noqa: S608
        else:
            sql += ", kept AS (SELECT g.*, "
            wheres.append("g.c IS NOT NULL")
        inner = offers.alias(group_count=group_count_expression()).filter(
            gpu_model=RawSQL("g.m", ()), group_count=RawSQL("g.c", ())
        )
    where = " WHERE " + " AND ".join(wheres) if wheres else ""
    inner = inner.order_by(*inner_order).values(*columns)
    try:
        first_sql, first_params = inner[:1].query.sql_with_params()
        inner_sql, inner_params = inner[: offset + limit].query.sql_with_params()
    except EmptyResultSet:  # a filter no offer can match (a GPU text naming nothing)
        return []
    # Interpolated: Django's compiled SQL (values stay parameters) and the caller's constant
    # ORDER BY; the groups, offset and limit are parameters. `kept`: the groups whose first row
    # ranks among the first `offset + limit` first rows. Every other group's rows all come
    # after those many rows (one per kept group), so the page lies in the kept groups alone:
    # at most `offset + limit` groups are read in full, not every group present.
    sql += (
        f"{best} {tail}CROSS JOIN LATERAL ({first_sql}) AS o{where} "
        f"ORDER BY {outer_order} LIMIT %s) "
        f"{page}CROSS JOIN LATERAL ({inner_sql}) AS o ORDER BY {outer_order} LIMIT %s OFFSET %s"
    )
    params += first_params
    if isinstance(kinds, MemoryRange) and kinds.most is not None:
        params.append(kinds.most)
    params += [offset + limit, *inner_params, limit, offset]
    with connections[offers.db].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# sort -> (order within one GPU group, the same order over the merged groups' columns).
GROUPED_SORTS: Mapping[str, tuple[tuple[Any, ...], str]] = {
    "price": ((F("price_per_hour").asc(), F("id").asc()), "price_per_hour ASC, id ASC"),
    "-price": ((F("price_per_hour").desc(), F("id").asc()), "price_per_hour DESC, id ASC"),
    "cost_per_token": ((F("price_per_hour").asc(), F("id").asc()), "cost_per_token ASC, id ASC"),
    "cost_per_million_tokens": (
        (F("price_per_hour").asc(), F("id").asc()),
        "cost_per_token ASC, id ASC",
    ),
}


def group_kinds(query: OfferQuery, basis: CostBasis) -> GroupKinds | MemoryRange | None:
    """The groups the page of `query` is read from, or None: the plain query.

    GPU text that needs raw provider names (names whose offers have a model the text does not
    match; `gpu_names_matching` leaves out the others), or both `gpu` and `gpu_type`: None
    (grouping by the raw names' models was measured and dropped, docs/benchmarks.md). Price
    sorts: a GPU filter's models, any GPU count (`GroupKinds`); else a memory bound's sizes
    (`MemoryRange`); else None. Cost sorts: the kinds with a serving layout for `basis`, from
    the GPU count of their smallest replica (fewer GPUs: no cost per token), within the GPU
    filter's models.
    """
    if query.sort not in GROUPED_SORTS:
        return None  # sorts by other columns (memory, per-GPU or spot price, recency): plain
    needles = [needle for needle in (query.gpu, query.gpu_type) if needle]
    if len(needles) > 1:
        return None
    named, raw_names = gpu_names_matching(needles[0]) if needles else (None, [])
    if raw_names:
        return None
    if not query.sort.startswith("cost"):
        if named is not None:
            return GroupKinds(named=named)
        if query.gpu_memory_min is not None or query.gpu_memory_max is not None:
            return MemoryRange(query.gpu_memory_min, query.gpu_memory_max)
        return None
    serving = {
        model: [(per_replica, tokens) for per_replica, tokens in layouts if tokens > 0]
        for model, layouts in offer_tokens_per_second_terms(basis).items()
        if named is None or model in named
    }
    return GroupKinds(named=named, layouts={m: terms for m, terms in serving.items() if terms})
