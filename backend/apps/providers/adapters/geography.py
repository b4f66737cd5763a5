"""Country tables of the adapters: provider spellings of countries to ISO 3166-1 alpha-2.

A hand-kept table of the countries providers list today; issue 12 replaces it with a
maintained source (every country name and code). Framework-free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

#: Country names and codes as providers spell them, mapped to ISO 3166-1 alpha-2.
_COUNTRY_CODES: Final[Mapping[str, str]] = {
    "united states": "US",
    "usa": "US",
    "us": "US",
    "canada": "CA",
    "mexico": "MX",
    "brazil": "BR",
    "chile": "CL",
    "germany": "DE",
    "france": "FR",
    "netherlands": "NL",
    "united kingdom": "GB",
    "uk": "GB",
    "ireland": "IE",
    "finland": "FI",
    "iceland": "IS",
    "norway": "NO",
    "sweden": "SE",
    "poland": "PL",
    "spain": "ES",
    "italy": "IT",
    "czechia": "CZ",
    "czech republic": "CZ",
    "romania": "RO",
    "bulgaria": "BG",
    "belgium": "BE",
    "switzerland": "CH",
    "austria": "AT",
    "portugal": "PT",
    "estonia": "EE",
    "ukraine": "UA",
    "japan": "JP",
    "south korea": "KR",
    "korea": "KR",
    "taiwan": "TW",
    "china": "CN",
    "hong kong": "HK",
    "singapore": "SG",
    "india": "IN",
    "vietnam": "VN",
    "thailand": "TH",
    "malaysia": "MY",
    "australia": "AU",
    "new zealand": "NZ",
    "israel": "IL",
    "united arab emirates": "AE",
    "south africa": "ZA",
}


_KNOWN_COUNTRY_CODES: Final = frozenset(_COUNTRY_CODES.values())


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 code for a country name or code ("Germany", "DE", "usa"), else None.

    Two-letter input is accepted only when it is a code this module knows, so region
    prefixes such as "eu" or "nr" are not mistaken for countries.
    """
    if not text:
        return None
    cleaned = text.strip()
    if len(cleaned) == 2 and cleaned.upper() in _KNOWN_COUNTRY_CODES:
        return cleaned.upper()
    return _COUNTRY_CODES.get(cleaned.lower())


def country_from_tokens(text: str | None) -> str | None:
    """The first country spelled in a region id; None when no token is a country.

    "helsinki-finland-1" -> "FI", "eu-north-se-1" -> "SE", "us-east-1" -> "US".
    """
    if not text:
        return None
    for token in re.split(r"[-_,\s]+", text):
        code = country_code(token)
        if code:
            return code
    return None
