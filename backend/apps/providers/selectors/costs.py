"""SQL for an offer's cost per token: what the listing sorts by and the KPIs average.

The figures come from `apps.gpus.kpis`' per-process serving table (the same the items use), so
the SQL order and the items' figures agree (docs/kpi-formulas.md, "Cost per token").
"""

from __future__ import annotations

from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf

from apps.gpus.kpis import DEFAULT_COST_BASIS, CostBasis, offer_tokens_per_second_terms


def cost_per_token_expression(basis: CostBasis = DEFAULT_COST_BASIS) -> Case:
    """SQL for an offer's cost_per_token in USD/token, `offer_kpis`'s figure (NULL when unknown).

    price_per_hour / (tokens/s x 3600), where tokens/s is the greatest over the GPU kind's
    layouts of (gpu_count // GPUs per replica) x tokens/s per replica, read from the same
    per-process table the items use (`kpis.offer_tokens_per_second_terms`), so order and
    figures agree. A CASE over the ~40 canonical models instead of a join: gpu_offers has no
    foreign key to a table of these, and PostgreSQL evaluates it only over rows that already
    passed the filters.
    """
    gpus = Coalesce(NullIf(F("gpu_count"), Value(0)), Value(1))
    whens = []
    for gpu_model, layouts in offer_tokens_per_second_terms(basis).items():
        # Replicas (integer division) cast to float before the multiplication: a bare
        # `integer * 809.4` makes PostgreSQL compute in numeric, about three times slower.
        terms = [
            Cast(gpus / Value(gpus_per_replica), FloatField()) * Value(tokens)
            for gpus_per_replica, tokens in layouts
        ]
        tokens_per_second = terms[0] if len(terms) == 1 else Greatest(*terms)
        whens.append(When(gpu_model=gpu_model, then=tokens_per_second))
    tokens = Case(*whens, default=Value(None), output_field=FloatField())
    return Case(
        When(
            price_per_hour__gt=0,
            then=Cast("price_per_hour", FloatField()) / (NullIf(tokens, Value(0.0)) * 3600.0),
        ),
        default=Value(None),
        output_field=FloatField(),
    )
