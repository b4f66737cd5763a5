"""The provider adapter contract and the helpers every adapter shares.

Adapters are framework-free: they import nothing from Django, Ninja or Channels. Each one takes an
injected ``httpx.AsyncClient``, sends every request with an explicit timeout, returns frozen
dataclasses and raises exactly one exception type, :class:`AdapterError`, which says whether a
retry can help.

Fetch contract
--------------
``fetch_offers(credentials) -> FetchResult`` is the primary read. A provider record that cannot
be parsed (missing field, wrong type, negative or absurd price) is *skipped and counted*: the
result carries the good offers plus ``skipped`` and a bounded list of ``errors``. Anything that
makes the whole response unusable (HTTP error, timeout, HTML, invalid JSON, missing top-level
key) raises :class:`AdapterError`. ``get_offers(credentials)`` is the short form that returns only
``fetch_offers(...).offers``; ingestion should call ``fetch_offers`` so skips are reported.
Adapters keep no per-fetch state, so one instance can serve concurrent fetches.

Prices
------
``ProviderOffer.price_per_hour`` is the on-demand price of the *whole* instance (all its GPUs) in
USD, rounded to 4 decimal places (the storage precision of ``gpu_offers.price_per_hour``).
``spot_price_per_hour`` is the interruptible/bid price of the same instance when the provider
publishes one. ``is_spot`` is true only for offers that exist solely as interruptible capacity.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Literal

import httpx

Availability = Literal["available", "limited", "unavailable"]
PriceSource = Literal["api", "manual"]

AVAILABILITY_VALUES: Final = frozenset({"available", "limited", "unavailable"})

#: Every request carries this unless the adapter passes its own. Provider listings are small
#: JSON documents; a provider that needs longer than this is treated as down (retryable).
DEFAULT_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)

#: A price above this per GPU-hour is a unit error or a placeholder, not a market price
#: (the most expensive accelerators rent for well under $20/GPU-hour).
MAX_PRICE_PER_GPU_HOUR: Final = Decimal("1000")

#: Bound on the per-record error messages kept in a FetchResult; 10,000 broken records must not
#: turn into 10,000 strings in a log line.
MAX_RECORDED_ERRORS: Final = 20

_PRICE_QUANTUM: Final = Decimal("0.0001")
_BODY_EXCERPT_CHARS: Final = 200


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class AdapterError(Exception):
    """The one error adapters raise.

    ``retryable`` is true when the same call may succeed later (network failure, timeout, HTTP
    5xx, 429) and false when repeating it cannot help (4xx, bad credentials, malformed payload,
    unsupported operation). ``kind`` is a stable machine-readable reason: ``network``,
    ``timeout``, ``server``, ``rate_limited``, ``auth``, ``client``, ``bad_payload``,
    ``config``, ``unsupported``. Messages never contain credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        kind: str,
        status_code: int | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.kind = kind
        self.status_code = status_code
        self.provider = provider

    def __repr__(self) -> str:
        return (
            f"AdapterError({self.message!r}, retryable={self.retryable}, kind={self.kind!r}, "
            f"status_code={self.status_code!r})"
        )


class RecordError(ValueError):
    """One provider record is unusable; the adapter skips it and counts it."""


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a tenant stores for one provider.

    ``api_key`` for key-based APIs; ``client_id``/``client_secret`` for OAuth2 client
    credentials (Verda); ``api_url`` overrides the provider's base URL (self-hosted proxies).
    ``repr`` masks every secret so credentials can be logged by accident without leaking.
    """

    api_key: str | None = None
    api_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for redaction of error messages."""
        return tuple(s for s in (self.api_key, self.client_secret) if s)

    def __repr__(self) -> str:
        masked = "***" if self.api_key else None
        secret = "***" if self.client_secret else None
        return (
            f"Credentials(api_key={masked!r}, api_url={self.api_url!r}, "
            f"client_id={self.client_id!r}, client_secret={secret!r})"
        )


@dataclass(frozen=True, slots=True)
class ProviderOffer:
    """One rentable configuration at one location, as the provider describes it.

    Construction validates the invariants every consumer relies on, so an adapter cannot emit
    a negative price, an unknown availability or a zero GPU count: ``__post_init__`` raises
    :class:`RecordError` and the record is skipped.
    """

    external_id: str
    gpu_name_raw: str
    gpu_count: int
    price_per_hour: Decimal
    gpu_memory_gb: float | None = None
    cpu_cores: float | None = None
    ram_gb: float | None = None
    storage_gb: float | None = None
    storage_type: str | None = None
    spot_price_per_hour: Decimal | None = None
    currency: str = "USD"
    region: str | None = None
    country: str | None = None
    availability: Availability = "available"
    interconnect: str | None = None
    network_speed_gbps: float | None = None
    reliability: float | None = None
    min_rental_hours: float | None = None
    is_spot: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.external_id:
            raise RecordError("empty external_id")
        if not self.gpu_name_raw:
            raise RecordError("empty GPU name")
        if self.gpu_count < 1:
            raise RecordError(f"gpu_count must be >= 1, got {self.gpu_count}")
        if self.availability not in AVAILABILITY_VALUES:
            raise RecordError(f"unknown availability {self.availability!r}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise RecordError(f"currency must be an ISO 4217 code, got {self.currency!r}")
        check_price(self.price_per_hour, self.gpu_count, "price_per_hour")
        if self.spot_price_per_hour is not None:
            check_price(self.spot_price_per_hour, self.gpu_count, "spot_price_per_hour")
        if self.reliability is not None and not 0.0 <= self.reliability <= 1.0:
            raise RecordError(f"reliability must be within 0..1, got {self.reliability}")
        for name in ("gpu_memory_gb", "cpu_cores", "ram_gb", "storage_gb", "network_speed_gbps"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise RecordError(f"{name} must be a non-negative number, got {value}")

    @property
    def price_per_gpu_hour(self) -> Decimal:
        return (self.price_per_hour / self.gpu_count).quantize(_PRICE_QUANTUM, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BookingResult:
    """What the provider answered to a launch request."""

    provider: str
    external_booking_id: str
    status: str
    price_per_hour: Decimal
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Offers parsed from one provider response plus what had to be skipped.

    ``skipped`` counts raw records that were dropped because they were malformed or failed
    validation; ``errors`` holds at most ``MAX_RECORDED_ERRORS`` short reasons for them.
    """

    offers: tuple[ProviderOffer, ...]
    skipped: int = 0
    errors: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Value helpers (used by every adapter's record parser)
# --------------------------------------------------------------------------------------------


def check_price(price: Decimal, gpu_count: int, label: str) -> None:
    """Raise RecordError for a negative, non-finite or absurd (> $1000/GPU-hour) price."""
    if not price.is_finite() or price < 0:
        raise RecordError(f"{label} must be a non-negative number, got {price}")
    if price > MAX_PRICE_PER_GPU_HOUR * max(gpu_count, 1):
        raise RecordError(f"{label} {price} exceeds {MAX_PRICE_PER_GPU_HOUR}/GPU-hour")


def require(record: Mapping[str, Any], key: str) -> Any:
    """``record[key]``, with a RecordError naming the field when it is absent or null."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected an object, got {type(record).__name__}")
    value = record.get(key)
    if value is None:
        raise RecordError(f"missing field {key!r}")
    return value


def to_decimal(value: Any, label: str = "price") -> Decimal:
    """A money amount from a JSON number or numeric string, rounded to 4 places."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{label} is not a number: {value!r}")
    try:
        # str() first: Decimal(0.1) would carry the binary float's full expansion.
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"{label} is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise RecordError(f"{label} is not finite: {value!r}")
    return amount.quantize(_PRICE_QUANTUM, ROUND_HALF_UP)


def to_float(value: Any, label: str) -> float:
    """A finite float from a JSON number or numeric string."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{label} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{label} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise RecordError(f"{label} is not finite: {value!r}")
    return number


def to_optional_float(value: Any, label: str) -> float | None:
    return None if value is None else to_float(value, label)


def to_int(value: Any, label: str) -> int:
    """An integer from a JSON number that has no fractional part."""
    number = to_float(value, label)
    if not number.is_integer():
        raise RecordError(f"{label} is not a whole number: {value!r}")
    return int(number)


def round_gb(value: float, places: int = 2) -> float:
    """GB figures are rounded so float noise from unit conversions does not reach the DB."""
    return round(value, places)


def cents_to_dollars(value: Any, label: str) -> Decimal:
    return to_decimal(to_decimal(value, label) / 100, label)


def parse_records(
    records: Iterable[Any],
    parse: Callable[[Any], Iterable[ProviderOffer]],
    *,
    record_id: Callable[[Any], str] | None = None,
) -> FetchResult:
    """Apply ``parse`` to each raw record; skip and count the ones that fail.

    ``parse`` may return several offers for one record (one per region, say). Only the
    exceptions that mean "this record is malformed" are caught; anything else is a bug and
    propagates.
    """
    offers: list[ProviderOffer] = []
    errors: list[str] = []
    skipped = 0
    for record in records:
        try:
            offers.extend(parse(record))
        except (RecordError, KeyError, TypeError, ValueError, AttributeError) as exc:
            skipped += 1
            if len(errors) < MAX_RECORDED_ERRORS:
                ident = _safe_record_id(record, record_id)
                errors.append(f"{ident}: {_describe(exc)}")
    return FetchResult(offers=tuple(offers), skipped=skipped, errors=tuple(errors))


def _safe_record_id(record: Any, record_id: Callable[[Any], str] | None) -> str:
    try:
        if record_id is not None:
            return str(record_id(record))
        if isinstance(record, Mapping):
            for key in ("id", "name", "instance_type"):
                if key in record:
                    return str(record[key])
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return "record"


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    return str(exc) or type(exc).__name__


_INTERCONNECT_PATTERNS: Final = (
    (re.compile(r"\bSXM\s?(\d)\b", re.IGNORECASE), "SXM{0}"),
    (re.compile(r"\bSXM\b", re.IGNORECASE), "SXM"),
    (re.compile(r"\bNVL\b", re.IGNORECASE), "NVL"),
    (re.compile(r"\bNVLINK\b", re.IGNORECASE), "NVLink"),
    (re.compile(r"\bPCI-?E\b", re.IGNORECASE), "PCIe"),
)


def interconnect_from_name(text: str | None) -> str | None:
    """The form factor a provider spells inside a GPU or instance name, if any.

    Only what the text states is returned ("H100 SXM5" -> "SXM5", "A100 PCIE" -> "PCIe",
    "H100 NVL" -> "NVL"); a name without such a token yields None, never a guess.
    """
    if not text:
        return None
    for pattern, template in _INTERCONNECT_PATTERNS:
        match = pattern.search(text)
        if match:
            return template.format(*match.groups())
    return None


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
    """The first country spelled in a region id ("helsinki-finland-1" -> "FI",
    "eu-north-se-1" -> "SE", "us-east-1" -> "US"); None when no token is a country."""
    if not text:
        return None
    for token in re.split(r"[-_,\s]+", text):
        code = country_code(token)
        if code:
            return code
    return None


def check_duration(duration_hours: float) -> None:
    if not math.isfinite(duration_hours) or duration_hours <= 0:
        raise AdapterError(
            f"duration_hours must be a positive number, got {duration_hours}",
            retryable=False,
            kind="client",
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def merge_results(results: Iterable[FetchResult]) -> FetchResult:
    offers: list[ProviderOffer] = []
    errors: list[str] = []
    skipped = 0
    for result in results:
        offers.extend(result.offers)
        skipped += result.skipped
        errors.extend(result.errors[: max(0, MAX_RECORDED_ERRORS - len(errors))])
    return FetchResult(offers=tuple(offers), skipped=skipped, errors=tuple(errors))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# --------------------------------------------------------------------------------------------
# The adapter base class
# --------------------------------------------------------------------------------------------


class ProviderAdapter(ABC):
    """Base class of every provider adapter.

    Subclasses set the class attributes and implement :meth:`fetch_offers`. HTTP goes through
    :meth:`request_json`, which applies the timeout and maps failures to :class:`AdapterError`,
    so no adapter handles ``httpx`` exceptions itself.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    website_url: ClassVar[str]
    api_base_url: ClassVar[str]
    documentation_url: ClassVar[str]
    requires_credentials: ClassVar[bool] = False
    supports_booking: ClassVar[bool] = False
    price_source: ClassVar[PriceSource] = "api"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.client = client
        self.base_url = (base_url or self.api_base_url).rstrip("/")
        self.timeout = timeout

    # ---- the contract -----------------------------------------------------------------------

    @abstractmethod
    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """Fetch and parse the provider's current offers (see the module docstring)."""

    async def get_offers(self, credentials: Credentials | None) -> list[ProviderOffer]:
        """The parsed offers only; skipped records are dropped silently."""
        return list((await self.fetch_offers(credentials)).offers)

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """True when the provider accepts ``credentials``.

        The default performs one offer fetch: an auth failure means False, any other
        non-retryable failure or a network failure propagates as AdapterError so the caller
        can tell "bad key" from "provider down".
        """
        try:
            await self.fetch_offers(credentials)
        except AdapterError as exc:
            if exc.kind in ("auth", "config"):
                return False
            raise
        return True

    async def book_instance(
        self,
        offer: ProviderOffer,
        duration_hours: float,
        credentials: Credentials | None,
    ) -> BookingResult:
        """Launch ``offer``. Providers without a launch API raise kind="unsupported"."""
        raise AdapterError(
            f"booking not supported by {self.name}",
            retryable=False,
            kind="unsupported",
            provider=self.name,
        )

    # ---- helpers for subclasses -------------------------------------------------------------

    def error(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool = False,
        status_code: int | None = None,
        secrets: Iterable[str] = (),
    ) -> AdapterError:
        return AdapterError(
            redact(f"{self.name}: {message}", secrets),
            retryable=retryable,
            kind=kind,
            status_code=status_code,
            provider=self.name,
        )

    def require_api_key(self, credentials: Credentials | None) -> str:
        if credentials is None or not credentials.api_key:
            raise self.error("an API key is required", kind="config")
        return credentials.api_key

    def url_for(self, path: str, credentials: Credentials | None = None) -> str:
        base = credentials.api_url if credentials and credentials.api_url else self.base_url
        return f"{base.rstrip('/')}/{path.lstrip('/')}"

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        """Send one request and return the decoded JSON body.

        Failures become AdapterError: timeouts and transport errors, 5xx and 429 are
        retryable; 401/403 are ``auth``; other 4xx are ``client``; an HTML or non-JSON body is
        ``bad_payload``. Every secret in ``credentials`` and ``secrets`` is redacted from the
        message, which names the path but never the query string (keys may travel there).
        """
        all_secrets = (*(credentials.secrets() if credentials else ()), *secrets)
        url = self.url_for(path, credentials)
        where = f"{method} {httpx.URL(url).path}"
        try:
            response = await self.client.request(
                method,
                url,
                headers=dict(headers or {}),
                params=params,
                json=json_body,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise self.error(
                f"{where} timed out ({type(exc).__name__})", kind="timeout", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise self.error(
                f"{where} failed: {type(exc).__name__}",
                kind="network",
                retryable=True,
                secrets=all_secrets,
            ) from None

        status = response.status_code
        if status >= 400:
            excerpt = _excerpt(response)
            if status == 429:
                kind, retryable = "rate_limited", True
            elif status >= 500:
                kind, retryable = "server", True
            elif status in (401, 403):
                kind, retryable = "auth", False
            else:
                kind, retryable = "client", False
            raise self.error(
                f"{where} returned HTTP {status}: {excerpt}",
                kind=kind,
                retryable=retryable,
                status_code=status,
                secrets=all_secrets,
            )
        return self.decode_json(response, where, all_secrets)

    async def probe_auth(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None,
        headers: Mapping[str, str],
        json_body: Any = None,
    ) -> bool:
        """Call an authenticated endpoint: False when the provider rejects the credentials,
        True when it answers; other failures propagate so "provider down" is not "bad key"."""
        try:
            await self.request_json(
                method, path, credentials=credentials, headers=headers, json_body=json_body
            )
        except AdapterError as exc:
            if exc.kind == "auth":
                return False
            raise
        return True

    def decode_json(self, response: httpx.Response, where: str, secrets: Iterable[str]) -> Any:
        content_type = response.headers.get("content-type", "")
        body = response.content
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise self.error(
                f"{where} returned HTML instead of JSON",
                kind="bad_payload",
                status_code=response.status_code,
            )
        try:
            return json.loads(body)
        except ValueError:
            raise self.error(
                f"{where} returned invalid JSON ({len(body)} bytes): {_excerpt(response)}",
                kind="bad_payload",
                status_code=response.status_code,
                secrets=secrets,
            ) from None

    def top_level(self, payload: Any, *path: str) -> Any:
        """Walk ``payload`` along ``path``; a missing step means the schema changed."""
        current = payload
        walked: list[str] = []
        for key in path:
            walked.append(key)
            if not isinstance(current, Mapping) or current.get(key) is None:
                raise self.error(
                    f"response has no {'.'.join(walked)!r}: the API schema changed",
                    kind="bad_payload",
                )
            current = current[key]
        return current

    def expect_list(self, value: Any, label: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(
                f"{label} should be a list, got {type(value).__name__}", kind="bad_payload"
            )
        return value

    def expect_mapping(self, value: Any, label: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(
                f"{label} should be an object, got {type(value).__name__}", kind="bad_payload"
            )
        return value


def _excerpt(response: httpx.Response) -> str:
    text = response.text[:_BODY_EXCERPT_CHARS].strip().replace("\n", " ")
    return text or "<empty body>"
