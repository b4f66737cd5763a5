"""SQL for an offer's cost per token: what the listing sorts by and the KPIs average.

The figures come from `apps.gpus.kpis`' per-process serving table (the same the items use), so
the SQL order and the items' figures agree (docs/kpi-formulas.md, "Cost per token").
"""

from __future__ import annotations

import functools

from django.db.models import FloatField
from django.db.models.expressions import RawSQL

from apps.gpus.kpis import DEFAULT_COST_BASIS, CostBasis, offer_tokens_per_second_terms
from apps.providers.models import GPUOffer

# (gpu_model, ((GPUs per replica, output tokens/s per replica), ...)), ...
Terms = tuple[tuple[str, tuple[tuple[int, float], ...]], ...]


def cost_per_token_expression(basis: CostBasis = DEFAULT_COST_BASIS) -> RawSQL:
    """SQL for an offer's cost_per_token in USD/token, `offer_kpis`'s figure (NULL when unknown).

    price_per_hour / (tokens/s x 3600), where tokens/s is the greatest over the GPU kind's
    layouts of (gpu_count // GPUs per replica) x tokens/s per replica, read from the same
    per-process table the items use (`kpis.offer_tokens_per_second_terms`), so order and
    figures agree. A CASE over the ~40 canonical models instead of a join: gpu_offers has no
    foreign key to a table of these, and PostgreSQL evaluates it only over rows that already
    passed the filters.

    One RawSQL node whose text is built once per distinct table (`_cost_per_token_sql`): the
    same CASE as ~200 nested ORM expressions cost ~250 ms of Python per query to resolve and
    hash (measured under `cProfile` on `kpi_overview`), against ~15 ms of SQL.
    """
    terms = tuple(offer_tokens_per_second_terms(basis).items())
    sql, params = _cost_per_token_sql(terms)
    # The text holds only column names and numbers written by `_cost_per_token_sql`; the model
    # names are bound parameters.
    return RawSQL(sql, params, output_field=FloatField())  # noqa: S611


@functools.lru_cache(maxsize=16)
def _cost_per_token_sql(terms: Terms) -> tuple[str, tuple[str, ...]]:
    """The CASE text and its parameters (the model names) for one serving table.

    Numbers are written as SQL literals from Python ints and floats (`repr` round-trips a
    float exactly); the model names, the only strings, are parameters.
    """
    table = GPUOffer._meta.db_table
    gpus = f'COALESCE(NULLIF("{table}"."gpu_count", 0), 1)'
    whens = []
    params = []
    for gpu_model, layouts in terms:
        # Replicas (integer division) cast to float before the multiplication: a bare
        # `integer * 809.4` makes PostgreSQL compute in numeric, about three times slower.
        products = [
            f"(({gpus} / {int(per_replica)})::double precision * {float(tokens)!r})"
            for per_replica, tokens in layouts
        ]
        tokens_per_second = (
            products[0] if len(products) == 1 else f"GREATEST({', '.join(products)})"
        )
        whens.append(f"WHEN %s THEN {tokens_per_second}")
        params.append(gpu_model)
    tokens_sql = f'CASE "{table}"."gpu_model" {" ".join(whens)} END' if whens else "NULL"
    sql = (
        f'CASE WHEN "{table}"."price_per_hour" > 0 THEN '
        f'"{table}"."price_per_hour"::double precision'
        f" / (NULLIF({tokens_sql}, 0.0) * 3600.0) END"
    )
    return sql, tuple(params)
