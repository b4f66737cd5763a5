"""Adapters for providers without a price API: a curated, dated price list shipped as data.

Each list lives in ``adapters/data/<name>_prices.json``::

    {"provider": "paperspace", "source": "<where the numbers were read>", "as_of": "YYYY-MM-DD",
     "currency": "USD",
     "offers": [{"id", "gpu_name", "gpu_count", "gpu_memory_gb", "cpu_cores", "ram_gb",
                 "storage_gb", "price_per_hour", "regions": [...], "interconnect"?,
                 "availability"?}]}

No HTTP is made. ``price_source = "manual"`` tells ingestion and the UI that these prices are a
dated snapshot; ``raw`` carries ``as_of`` and ``source`` on every offer. Refresh the JSON when
the provider's public pricing page changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import Credentials, FetchResult, ProviderOffer
from apps.providers.adapters.geography import country_from_tokens
from apps.providers.adapters.parsing import (
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
    #: Region id → ISO country code, for lists whose region ids do not spell the country.
    region_countries: ClassVar[Mapping[str, str]] = {}

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """The offers of the shipped price list (no HTTP); bad entries are skipped and counted."""
        document = self.price_list()
        entries = self.expect_list(self.top_level(document, "offers"), "offers")
        meta = {"as_of": document.get("as_of"), "source": document.get("source")}
        currency = str(document.get("currency") or "USD")
        return parse_records(entries, lambda entry: self._parse_entry(entry, meta, currency))

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
        self, entry: Mapping[str, Any], meta: Mapping[str, Any], currency: str
    ) -> Iterator[ProviderOffer]:
        entry_id = str(require(entry, "id"))
        regions = entry.get("regions") or [None]
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
        }
        if entry.get("spot_price_per_hour") is not None:
            common["spot_price_per_hour"] = to_decimal(entry["spot_price_per_hour"], "spot")
        for region in regions:
            yield ProviderOffer(
                external_id=f"{entry_id}:{region}" if region else entry_id,
                region=region,
                country=self.region_countries.get(region or "") or country_from_tokens(region),
                raw={"id": entry_id, **meta},
                **common,
            )


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
    region_countries = {"NY2": "US", "CA1": "US", "AMS1": "NL"}


class CoreWeaveAdapter(ManualPriceListAdapter):
    """CoreWeave — prices are published on its pricing page only; list curated from it."""

    name = "coreweave"
    display_name = "CoreWeave"
    website_url = "https://www.coreweave.com"
    api_base_url = "https://api.coreweave.com"
    documentation_url = "https://www.coreweave.com/pricing"
    data_file = "coreweave_prices.json"
