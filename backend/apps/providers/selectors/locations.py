"""Reads of where listed offers are: the values the listing's `region` filter can match."""

from __future__ import annotations

from django.conf import settings

from apps.providers.cache import LISTING_PREFIX, listing_cache_get, listing_cache_set
from apps.providers.selectors.offers import offers_listed

LOCATIONS_CACHE_KEY = LISTING_PREFIX + "locations"


def offer_locations() -> list[str]:
    """Distinct ISO country codes, then region strings, of listed offers (sorted, a few hundred).

    Each is a value `GET /providers?region=` matches. Kept in the listing cache (same TTL,
    dropped with the pages when ingestion changes offers). Two index-friendly DISTINCT queries
    on a miss.
    """
    cached = listing_cache_get(LOCATIONS_CACHE_KEY)
    if isinstance(cached, list):
        return cached
    listed = offers_listed()
    countries = sorted(
        {code for code in listed.values_list("country", flat=True).distinct() if code}
    )
    regions = sorted(
        {region for region in listed.values_list("region", flat=True).distinct() if region}
    )
    locations = countries + [region for region in regions if region not in countries]
    listing_cache_set(LOCATIONS_CACHE_KEY, locations, settings.PROVIDERS_LIST_CACHE_TTL_SECONDS)
    return locations
