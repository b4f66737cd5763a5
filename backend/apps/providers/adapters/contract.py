"""The provider adapter contract: the values adapters return and the one error they raise.

Adapters are framework-free: they import nothing from Django, Ninja or Channels (an
import-linter contract in pyproject.toml enforces it). Each one takes an injected
``httpx.AsyncClient``, sends every request with an explicit timeout (``http.DEFAULT_TIMEOUT``),
returns the frozen dataclasses below and raises exactly one exception type,
:class:`AdapterError`, which says whether a retry can help. The base class is
``base.ProviderAdapter``; record parsing helpers are in ``parsing``, HTTP ones in ``http``,
country tables in ``geography``.

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
publishes one; it covers the same things as ``price_per_hour`` (docs/kpi-formulas.md says what
each provider's price includes). ``is_spot`` is true only for offers that exist solely as
interruptible capacity. ``price_as_of`` is when the provider says the price was true (its own
timestamp, or a manual list's date); None means "as of this fetch".

Where
-----
``region`` is the provider's own id for the location (what booking sends back); ``country``
(ISO 3166-1 alpha-2), ``state``, ``city`` and ``macro_region`` are the normalised place,
each None when the payload does not say it (``geography`` reads them).

Lists inside a record
---------------------
An empty, null or malformed element of a list inside a record (a location, a region, a
datacenter) is never an offer: the parser yields a :class:`SkippedElement` naming why, and
``parse_records`` counts it in ``FetchResult.elements_skipped`` and ``skip_reasons``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

from apps.gpus.identity import GpuFacts

Availability = Literal["available", "limited", "unavailable"]
PriceSource = Literal["api", "manual"]

AVAILABILITY_VALUES: Final = frozenset({"available", "limited", "unavailable"})

#: A price above this per GPU-hour is a unit error or a placeholder, not a market price
#: (the most expensive accelerators rent for well under $20/GPU-hour).
MAX_PRICE_PER_GPU_HOUR: Final = Decimal("1000")

#: Bound on the per-record error messages kept in a FetchResult; 10,000 broken records must not
#: turn into 10,000 strings in a log line.
MAX_RECORDED_ERRORS: Final = 20

#: Bound on the distinct skip reasons counted in a FetchResult (the rest count under "other").
MAX_SKIP_REASONS: Final = 50

#: The storage precision of gpu_offers.price_per_hour (DECIMAL(8,4)).
PRICE_QUANTUM: Final = Decimal("0.0001")


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


def check_price(price: Decimal, gpu_count: int, label: str) -> None:
    """Raise RecordError for a negative, non-finite or absurd (> $1000/GPU-hour) price."""
    if not price.is_finite() or price < 0:
        raise RecordError(f"{label} must be a non-negative number, got {price}")
    if price > MAX_PRICE_PER_GPU_HOUR * max(gpu_count, 1):
        raise RecordError(f"{label} {price} exceeds {MAX_PRICE_PER_GPU_HOUR}/GPU-hour")


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

    The card: ``gpu_name_raw`` is the provider's most specific name or id for it (RunPod's id
    "NVIDIA A100 80GB PCIe", not its display name), ``gpu_other_names`` any other names it
    gives the same card, ``gpu_memory_gb`` the memory of ONE GPU as reported, ``interconnect``
    any form-factor or interconnect field. ``gpu_facts`` hands all of it to the catalogue
    (``apps.gpus.identity``), which never fills in what the provider did not say.
    """

    external_id: str
    gpu_name_raw: str
    gpu_count: int
    price_per_hour: Decimal
    gpu_memory_gb: float | None = None
    gpu_other_names: tuple[str, ...] = ()
    cpu_cores: float | None = None
    ram_gb: float | None = None
    storage_gb: float | None = None
    storage_type: str | None = None
    spot_price_per_hour: Decimal | None = None
    currency: str = "USD"
    region: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    macro_region: str | None = None
    availability: Availability = "available"
    interconnect: str | None = None
    network_speed_gbps: float | None = None
    reliability: float | None = None
    min_rental_hours: float | None = None
    is_spot: bool = False
    price_as_of: datetime | None = None
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
        if self.price_as_of is not None and self.price_as_of.tzinfo is None:
            raise RecordError("price_as_of must be an aware datetime")
        if self.reliability is not None and not 0.0 <= self.reliability <= 1.0:
            raise RecordError(f"reliability must be within 0..1, got {self.reliability}")
        for name in ("gpu_memory_gb", "cpu_cores", "ram_gb", "storage_gb", "network_speed_gbps"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise RecordError(f"{name} must be a non-negative number, got {value}")

    @property
    def gpu_facts(self) -> GpuFacts:
        """Everything this offer says about its card, for ``apps.gpus.identity.resolve_facts``."""
        return GpuFacts(
            names=(self.gpu_name_raw, *self.gpu_other_names),
            memory_gb=self.gpu_memory_gb,
            form_factor=self.interconnect,
        )

    @property
    def price_per_gpu_hour(self) -> Decimal:
        """The instance price divided by its GPU count, USD/hour, at storage precision."""
        return (self.price_per_hour / self.gpu_count).quantize(PRICE_QUANTUM, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BookingResult:
    """What the provider answered to a launch request."""

    provider: str
    external_booking_id: str
    status: str
    price_per_hour: Decimal
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SkippedElement:
    """An element of a list inside a record that is not an offer (empty, null, malformed).

    Parsers yield it among their offers; ``parse_records`` counts it. ``reason`` is short and
    free of values that vary per element ("empty element in locations"), so reasons group.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Offers parsed from one provider response plus what had to be skipped.

    ``skipped`` counts raw records that were dropped because they were malformed or failed
    validation; ``errors`` holds at most ``MAX_RECORDED_ERRORS`` short reasons for them.
    ``elements_skipped`` counts elements of lists inside records that were not offers
    (``SkippedElement``). ``skip_reasons`` counts both kinds by reason (at most
    ``MAX_SKIP_REASONS`` reasons, the rest under "other").
    """

    offers: tuple[ProviderOffer, ...]
    skipped: int = 0
    errors: tuple[str, ...] = ()
    elements_skipped: int = 0
    skip_reasons: Mapping[str, int] = field(default_factory=dict)


def count_reason(reasons: Counter[str], reason: str, count: int = 1) -> None:
    """Add `count` to `reason`, or to "other" once MAX_SKIP_REASONS reasons are known."""
    if reason not in reasons and len(reasons) >= MAX_SKIP_REASONS:
        reason = "other"
    reasons[reason] += count


def merge_results(results: Iterable[FetchResult]) -> FetchResult:
    """One FetchResult from several (offers concatenated, skips summed, errors bounded)."""
    offers: list[ProviderOffer] = []
    errors: list[str] = []
    reasons: Counter[str] = Counter()
    skipped = elements = 0
    for result in results:
        offers.extend(result.offers)
        skipped += result.skipped
        elements += result.elements_skipped
        errors.extend(result.errors[: max(0, MAX_RECORDED_ERRORS - len(errors))])
        for reason, count in result.skip_reasons.items():
            count_reason(reasons, reason, count)
    return FetchResult(
        offers=tuple(offers),
        skipped=skipped,
        errors=tuple(errors),
        elements_skipped=elements,
        skip_reasons=dict(reasons),
    )
