"""What the listing's filter words mean: a GPU, a place (`region_match`), spot (`HAS_SPOT`).

A GPU is `gpu_text_match`: the catalogue's reading of the text, else raw provider names.

Shared by the REST listing and the WebSocket snapshot through `offers.offer_filter`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Q

from apps.gpus.catalogue import all_gpus
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


RAW_NAMES_CACHE_KEY = LISTING_PREFIX + "raw-names"
# A loose index scan over offers_gpu_raw_idx: one index probe per distinct name (a few hundred)
# instead of reading every offer. Quarantined offers' names may appear; the listing's
# `gpu_model IS NOT NULL` filter drops their rows anyway.
_DISTINCT_RAW_NAMES_SQL = """
WITH RECURSIVE names(name) AS (
    (SELECT gpu_name_raw FROM gpu_offers WHERE gpu_name_raw IS NOT NULL
     ORDER BY gpu_name_raw LIMIT 1)
    UNION ALL
    SELECT (SELECT o.gpu_name_raw FROM gpu_offers o WHERE o.gpu_name_raw > names.name
            ORDER BY o.gpu_name_raw LIMIT 1)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL
"""


def listed_raw_names() -> list[str]:
    """Distinct provider GPU strings of listed offers (a few hundred).

    Kept in the listing cache (same TTL, dropped by ingestion's invalidation with the pages),
    so a name seen by the last sync is searchable as soon as the listing itself is fresh.
    """
    cached = listing_cache_get(RAW_NAMES_CACHE_KEY)
    if isinstance(cached, list):
        return cached
    with connection.cursor() as cursor:
        cursor.execute(_DISTINCT_RAW_NAMES_SQL)
        names = [row[0] for row in cursor.fetchall()]
    listing_cache_set(RAW_NAMES_CACHE_KEY, names, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS)
    return names


def gpu_names_matching(needle: str) -> tuple[list[str], list[str]]:
    """Canonical models and raw provider names that GPU text `needle` means.

    `apps.gpus.query.gpu_query`: a family means all its variants, a variant that variant.
    Unreadable text falls back to a substring over the catalogue and the distinct raw names,
    so SQL filters by equality on indexed columns, never `LIKE '%needle%'` over every offer.
    """
    query = gpu_query(needle)
    if query.models is not None:
        return sorted(query.models), []
    folded = gpu_text_fold(query.text)
    models = query.substring_models(all_gpus())
    raw_names = [name for name in listed_raw_names() if gpu_text_matches(folded, [name])]
    return models, raw_names


def gpu_text_match(needle: str) -> Q:
    """The filter for offers whose GPU `needle` names, in the listing and the snapshot alike."""
    models, raw_names = gpu_names_matching(needle)
    return Q(gpu_model__in=models) | Q(gpu_name_raw__in=raw_names)
