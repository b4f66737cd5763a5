"""Adapters for providers without a price API: a curated, dated price list shipped as data.

Each list lives in ``adapters/data/<name>_prices.json``::

    {"provider": "paperspace", "source": "<where the numbers were read>", "as_of": "YYYY-MM-DD",
     "currency": "USD", "locations"?: {"<region id>": "City, State, Country"},
     "offers": [{"id", "gpu_name", "gpu_count", "gpu_memory_gb", "cpu_cores", "ram_gb",
                 "storage_gb", "price_per_hour", "regions": [...], "interconnect"?,
                 "availability"?}]}

No HTTP is made. ``price_source = "manual"`` tells ingestion and the UI that these prices are a
dated snapshot: every offer's ``price_as_of`` is the list's ``as_of`` date (midnight UTC), so
the listing flags the prices stale once they are older than the provider's freshness budget
(``PROVIDER_PRICE_MAX_AGE_SECONDS``, 30 days for manual lists). ``raw`` carries ``as_of`` and
``source`` on every offer. ``locations`` places the provider's region ids (which rarely spell
a place); ids it leaves out are read by their tokens. Refresh the JSON when the provider's
public pricing page changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    Credentials,
    FetchResult,
    ProviderOffer,
    SkippedElement,
)
from apps.providers.adapters.geography import (
    Location,
    location_fields,
    location_from_region_id,
    parse_location,
)
from apps.providers.adapters.parsing import (
    map_elements,
    parse_records,
    require,
    to_decimal,
    to_int,
    to_optional_float,
)

DATA_DIR: Final = Path(__file__).resolve().parent / "data"


@cache
def load_price_list(path: Path) -> Mapping[str, Any]:
    """The parsed price list; cached because it only changes with a deploy."""
    with path.open(encoding="utf-8") as handle:
        document: Mapping[str, Any] = json.load(handle)
    return document


class ManualPriceListAdapter(ProviderAdapter):
    """Base for curated price lists; subclasses set the class attributes and ``data_file``."""

    price_source = "manual"
    requires_credentials = False
    supports_booking = False
    data_file: ClassVar[str]

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """The offers of the shipped price list (no HTTP); bad entries are skipped and counted."""
        document = self.price_list()
        entries = self.expect_list(self.top_level(document, "offers"), "offers")
        meta = {"as_of": document.get("as_of"), "source": document.get("source")}
        currency = str(document.get("currency") or "USD")
        places = self.expect_mapping(document.get("locations") or {}, "locations")
        try:
            as_of = _list_date(document.get("as_of"))
        except ValueError:
            raise self.error(
                f"price list {self.data_file}: as_of {document.get('as_of')!r} is not a date",
                kind="bad_payload",
            ) from None
        return parse_records(
            entries,
            lambda entry: self._parse_entry(entry, meta, currency, as_of=as_of, places=places),
        )

    def price_list(self) -> Mapping[str, Any]:
        """The parsed price list; AdapterError(kind="bad_payload") when it cannot be read."""
        try:
            return load_price_list(DATA_DIR / self.data_file)
        except (OSError, ValueError) as exc:
            raise self.error(
                f"price list {self.data_file} unreadable: {type(exc).__name__}",
                kind="bad_payload",
            ) from None

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Always True: no API is called, so there is nothing to validate."""
        return True  # nothing to validate: no API is called

    def _parse_entry(
        self,
        entry: Mapping[str, Any],
        meta: Mapping[str, Any],
        currency: str,
        *,
        as_of: datetime | None,
        places: Mapping[str, Any],
    ) -> Iterator[ProviderOffer | SkippedElement]:
        entry_id = str(require(entry, "id"))
        common: dict[str, Any] = {
            "gpu_name_raw": str(require(entry, "gpu_name")),
            "gpu_count": to_int(require(entry, "gpu_count"), "gpu_count"),
            "gpu_memory_gb": to_optional_float(entry.get("gpu_memory_gb"), "gpu_memory_gb"),
            "cpu_cores": to_optional_float(entry.get("cpu_cores"), "cpu_cores"),
            "ram_gb": to_optional_float(entry.get("ram_gb"), "ram_gb"),
            "storage_gb": to_optional_float(entry.get("storage_gb"), "storage_gb"),
            "price_per_hour": to_decimal(require(entry, "price_per_hour"), "price_per_hour"),
            "currency": currency,
            "interconnect": entry.get("interconnect"),
            "availability": entry.get("availability", "available"),
            "min_rental_hours": to_optional_float(entry.get("min_rental_hours"), "min_hours"),
            "is_spot": False,
            "price_as_of": as_of,
        }
        if entry.get("spot_price_per_hour") is not None:
            common["spot_price_per_hour"] = to_decimal(entry["spot_price_per_hour"], "spot")
        regions = entry.get("regions")
        if not regions:
            yield ProviderOffer(external_id=entry_id, raw={"id": entry_id, **meta}, **common)
            return

        def offer_in(region: str) -> ProviderOffer:
            return ProviderOffer(
                external_id=f"{entry_id}:{region}",
                region=region,
                raw={"id": entry_id, **meta},
                **location_fields(_place(region, places)),
                **common,
            )

        yield from map_elements(regions, "regions", offer_in, valid=_is_text)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _place(region: str, places: Mapping[str, Any]) -> Location:
    described = places.get(region)
    if isinstance(described, str) and described.strip():
        return parse_location(described)
    return location_from_region_id(region)


def _list_date(value: Any) -> datetime | None:
    """A list's ``as_of`` ("YYYY-MM-DD" or an ISO datetime) as an aware UTC datetime.

    A date means the start of that day, UTC. Missing: None (the fetch time is used).
    Raises ValueError for an unreadable value (the list as a whole is broken).
    """
    if value is None:
        return None
    text = str(value)
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PaperspaceAdapter(ManualPriceListAdapter):
    """Paperspace (DigitalOcean) — no public price API; list from its pricing page."""

    name = "paperspace"
    display_name = "Paperspace"
    website_url = "https://www.paperspace.com"
    api_base_url = "https://api.paperspace.com/v1"
    documentation_url = (
        "https://docs.digitalocean.com/products/paperspace/machines/details/pricing/"
    )
    data_file = "paperspace_prices.json"


class CoreWeaveAdapter(ManualPriceListAdapter):
    """CoreWeave — prices are published on its pricing page only; list curated from it."""

    name = "coreweave"
    display_name = "CoreWeave"
    website_url = "https://www.coreweave.com"
    api_base_url = "https://api.coreweave.com"
    documentation_url = "https://www.coreweave.com/pricing"
    data_file = "coreweave_prices.json"
