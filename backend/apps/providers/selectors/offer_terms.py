"""What the listing's filter words mean: a GPU, a place (`region_match`), spot (`HAS_SPOT`).

A GPU is `gpu_text_match`: the catalogue's reading of the text, else raw provider names.

Shared by the REST listing and the WebSocket snapshot through `offers.offer_filter`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Q

from apps.gpus.matching import gpu_text_fold, gpu_text_matches
from apps.gpus.query import gpu_query
from apps.providers.adapters.geography import ascii_name, country_code, macro_region_named
from apps.providers.cache import LISTING_PREFIX, listing_cache_get, listing_cache_set

#: An offer that can be rented as spot/interruptible capacity: it has a spot price, or it
#: exists only as interruptible capacity (`spot_pricing`).
HAS_SPOT = Q(spot_pricing=True) | Q(spot_price_per_hour__isnull=False)


def region_match(text: str) -> Q:
    """Offers at the place `text` names, case-insensitive, any one of these.

    A country (name or ISO code), a macro-region, a state or city, or the provider's own
    region id. "si" and "Slovenia" match country SI; "europe" and "apac" the macro-region;
    "California" the state (Vast "California, US", TensorDock "Los Angeles, California");
    "us-east-1" or "ord" the provider's id; v1's `region` column is matched as it always was.
    """
    name = ascii_name(text)  # states and cities are stored without accents
    match = (
        Q(region__iexact=text)
        | Q(provider_region__iexact=text)
        | Q(country__iexact=text)
        | Q(state__iexact=name)
        | Q(city__iexact=name)
    )
    country = country_code(text)
    if country:
        match |= Q(country=country)
    macro = macro_region_named(text)
    if macro:
        match |= Q(macro_region=macro)
    return match


RAW_NAME_MODELS_CACHE_KEY = LISTING_PREFIX + "raw-name-models"
# A loose index scan over offers_raw_model_idx, (gpu_name_raw, gpu_model) on listed offers: one
# index probe per distinct pair (a few hundred) instead of reading every offer. Quarantined
# offers (gpu_model NULL) are not in that partial index, and the listing never shows them.
_DISTINCT_RAW_NAME_MODELS_SQL = """
WITH RECURSIVE pairs(name, model) AS (
    (SELECT gpu_name_raw, gpu_model FROM gpu_offers
     WHERE gpu_model IS NOT NULL AND gpu_name_raw IS NOT NULL
     ORDER BY gpu_name_raw, gpu_model LIMIT 1)
    UNION ALL
    SELECT next.name, next.model FROM pairs CROSS JOIN LATERAL (
        SELECT o.gpu_name_raw AS name, o.gpu_model AS model FROM gpu_offers o
        WHERE o.gpu_model IS NOT NULL AND o.gpu_name_raw IS NOT NULL
          AND (o.gpu_name_raw, o.gpu_model) > (pairs.name, pairs.model)
        ORDER BY o.gpu_name_raw, o.gpu_model LIMIT 1
    ) AS next
)
SELECT name, model FROM pairs
"""


def listed_raw_name_models() -> dict[str, list[str]]:
    """Each provider GPU string of listed offers, mapped to the models its offers have.

    A few hundred names, in name order, each with its sorted models (usually one). Kept in the
    listing cache (same TTL, dropped by ingestion's invalidation with the pages), so a name or
    a name's new model seen by the last sync is searchable as soon as the listing itself is
    fresh.
    """
    cached = listing_cache_get(RAW_NAME_MODELS_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    with connection.cursor() as cursor:
        cursor.execute(_DISTINCT_RAW_NAME_MODELS_SQL)
        pairs = cursor.fetchall()
    name_models: dict[str, list[str]] = {}
    for name, model in pairs:
        name_models.setdefault(name, []).append(model)
    listing_cache_set(
        RAW_NAME_MODELS_CACHE_KEY, name_models, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS
    )
    return name_models


def gpu_names_matching(needle: str) -> tuple[list[str], list[str]]:
    """Canonical models and raw provider names that GPU text `needle` means, for listed offers.

    `apps.gpus.query.gpu_query`: a family means all its variants, a variant that variant.
    Unreadable text falls back to a substring over the catalogue and the distinct raw names,
    so SQL filters by equality on indexed columns, never `LIKE '%needle%'` over every offer.
    A raw name is left out when every listed offer carrying it has one of the models already
    (`listed_raw_name_models`): `gpu_model IN models OR gpu_name_raw IN names` selects the same
    listed offers without it, and with no raw name left the listing can read its page group
    by group (`offer_groups.group_kinds`). Only for offers with a `gpu_model` (`LISTED`).
    """
    query = gpu_query(needle)
    if query.models is not None:
        return sorted(query.models), []
    folded = gpu_text_fold(query.text)
    meant = query.catalogue_models()
    models = sorted(meant)
    raw_names = [
        name
        for name, name_models in listed_raw_name_models().items()
        if gpu_text_matches(folded, [name]) and not meant.issuperset(name_models)
    ]
    return models, raw_names


def gpu_text_match(needle: str) -> Q:
    """The filter for listed offers whose GPU `needle` names, in the listing and the snapshot."""
    models, raw_names = gpu_names_matching(needle)
    return Q(gpu_model__in=models) | Q(gpu_name_raw__in=raw_names)
