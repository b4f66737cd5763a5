"""Verda (formerly DataCrunch) adapter.

Sources used for the API shape:
- Verda public API, https://api.datacrunch.io/v1/docs: OAuth2 client-credentials token at
  ``POST /v1/oauth2/token`` (JSON body ``grant_type``, ``client_id``, ``client_secret`` →
  ``access_token``, ``refresh_token``, ``token_type``, ``expires_in``, ``scope``),
  ``GET /v1/instance-types``, ``GET /v1/instance-availability``.
- DataCrunch-io/datacrunch-python: ``authentication/authentication.py`` (token request),
  ``instance_types/instance_types.py`` (``instance_type``, ``price_per_hour``, ``spot_price``,
  ``cpu.number_of_cores``, ``gpu.number_of_gpus``, ``gpu.description``,
  ``memory.size_in_gigabytes``, ``gpu_memory.size_in_gigabytes``), ``instances/instances.py``
  (availability endpoints).
- dstackai/gpuhunt ``providers/verda.py`` (GPU descriptions such as "1x H100 SXM5 80GB";
  ``gpu_memory`` is the instance total).

Prices are for the whole instance. Availability lists, per location, the instance types that
can be deployed now; every GPU type is offered in every listed location, "available" where the
type is in that location's list and "unavailable" elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    AdapterError,
    Credentials,
    FetchResult,
    ProviderOffer,
    SkippedElement,
    merge_results,
)
from apps.providers.adapters.geography import (
    Location,
    location_fields,
    location_from_region_id,
    parse_location,
)
from apps.providers.adapters.http import bearer
from apps.providers.adapters.parsing import (
    interconnect_from_name,
    parse_records,
    require,
    round_gb,
    to_decimal,
    to_float,
    to_int,
)

_COUNT_PREFIX: Final = re.compile(r"^\s*\d+\s*x\s*", re.IGNORECASE)

#: Verda location codes start with a country tag: FIN-01 (Helsinki) is ISO alpha-3, but
#: ICE-01 (Keflavik) is Verda's own tag for Iceland.
_LOCATION_TAGS: Final[Mapping[str, str]] = {"ICE": "Keflavik, IS"}


class VerdaAdapter(ProviderAdapter):
    """Verda (DataCrunch): instance types and availability, OAuth client credentials, no booking."""

    name = "verda"
    display_name = "Verda (DataCrunch)"
    website_url = "https://verda.com"
    api_base_url = "https://api.datacrunch.io/v1"
    documentation_url = "https://api.datacrunch.io/v1/docs"
    requires_credentials = True
    supports_booking = False
    price_source = "api"

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`GET /instance-types` and `/instance-availability`: each type in each listed location."""
        token = await self._access_token(credentials)
        headers = bearer(token)
        types_payload = await self.request_json(
            "GET", "/instance-types", credentials=credentials, headers=headers, secrets=(token,)
        )
        availability_payload = await self.request_json(
            "GET",
            "/instance-availability",
            credentials=credentials,
            headers=headers,
            secrets=(token,),
        )
        instance_types = self.expect_list(types_payload, "instance types")
        available_by_location, location_skips = self._availability(availability_payload)
        offers = parse_records(
            instance_types,
            lambda record: self._parse_type(record, available_by_location),
            record_id=lambda record: record.get("instance_type", "record"),
        )
        return merge_results([offers, location_skips])

    def _availability(self, payload: Any) -> tuple[dict[str, frozenset[str]], FetchResult]:
        """Instance types deployable now per location code, and the entries that had none.

        An entry without a location code, or whose ``availabilities`` is not a list, is
        skipped and counted; a later entry of the same location adds to it.
        """
        locations = self.expect_list(payload, "instance availability")
        result: dict[str, set[str]] = {}
        skipped = parse_records(locations, lambda entry: self._location_entry(entry, result))
        return {code: frozenset(types) for code, types in result.items()}, skipped

    @staticmethod
    def _location_entry(entry: Any, into: dict[str, set[str]]) -> Iterator[SkippedElement]:
        code = entry.get("location_code") if isinstance(entry, Mapping) else None
        types = entry.get("availabilities") if isinstance(entry, Mapping) else None
        if not isinstance(code, str) or not code.strip() or not isinstance(types, list | None):
            yield SkippedElement("malformed element in instance-availability")
            return
        into.setdefault(code.strip(), set()).update(
            str(t) for t in types or () if isinstance(t, str) and t
        )

    def _parse_type(
        self, record: Mapping[str, Any], available_by_location: Mapping[str, frozenset[str]]
    ) -> Iterator[ProviderOffer]:
        type_name = str(require(record, "instance_type"))
        gpu = require(record, "gpu")
        gpu_count = to_int(gpu.get("number_of_gpus", 0), "gpu.number_of_gpus")
        if gpu_count == 0:
            return  # CPU-only instance types.
        gpu_name = _COUNT_PREFIX.sub("", str(require(gpu, "description"))).strip()
        total_vram = to_float(
            require(require(record, "gpu_memory"), "size_in_gigabytes"), "gpu_memory"
        )
        spot = record.get("spot_price")
        spot_price = to_decimal(spot, "spot_price") if spot not in (None, "", 0) else None
        common: dict[str, Any] = {
            "gpu_name_raw": gpu_name,
            "gpu_count": gpu_count,
            "gpu_memory_gb": round_gb(total_vram / gpu_count, 1),
            "cpu_cores": to_float(
                require(require(record, "cpu"), "number_of_cores"), "cpu.number_of_cores"
            ),
            "ram_gb": to_float(require(require(record, "memory"), "size_in_gigabytes"), "memory"),
            "price_per_hour": to_decimal(require(record, "price_per_hour"), "price_per_hour"),
            "spot_price_per_hour": spot_price or None,
            "currency": str(record.get("currency") or "usd").upper(),
            "interconnect": interconnect_from_name(gpu_name),
            "is_spot": False,
        }
        for location, available in sorted(available_by_location.items()):
            yield ProviderOffer(
                external_id=f"{type_name}:{location}",
                region=location,
                **location_fields(verda_location(location)),
                availability="available" if type_name in available else "unavailable",
                raw={"instance_type": type_name, "id": record.get("id")},
                **common,
            )

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Whether Verda grants a token for the client id and secret (`POST /oauth2/token`)."""
        try:
            await self._access_token(credentials)
        except AdapterError as exc:
            if exc.kind in ("auth", "config"):
                return False
            raise
        return True

    async def _access_token(self, credentials: Credentials | None) -> str:
        """Exchange the client credentials for a bearer token.

        The token endpoint answers 400/401 for a wrong id or secret; both mean "bad
        credentials", not a malformed request, so they are reported as ``auth``.
        """
        if credentials is None or not credentials.client_id or not credentials.client_secret:
            raise self.error("client_id and client_secret are required", kind="config")
        body = {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        try:
            payload = await self.request_json(
                "POST", "/oauth2/token", credentials=credentials, json_body=body
            )
        except AdapterError as exc:
            if exc.status_code in (400, 401, 403):
                raise self.error(
                    "client credentials rejected", kind="auth", status_code=exc.status_code
                ) from None
            raise
        token = self.top_level(payload, "access_token")
        if not isinstance(token, str):
            raise self.error("access_token is not a string", kind="bad_payload")
        return token


def verda_location(location_code: str) -> Location:
    """The place of a Verda location code: "FIN-01" -> FI, "ICE-01" -> IS (Keflavik)."""
    tagged = _LOCATION_TAGS.get(location_code.split("-", 1)[0].upper())
    return parse_location(tagged) if tagged else location_from_region_id(location_code)
