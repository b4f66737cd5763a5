"""What the listing's filter words mean for offers: a place (`region_match`), spot (`HAS_SPOT`).

Shared by the REST listing and the WebSocket snapshot through `offers.offer_filter`.
"""

from __future__ import annotations

from django.db.models import Q

from apps.providers.adapters.geography import ascii_name, country_code, macro_region_named

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
