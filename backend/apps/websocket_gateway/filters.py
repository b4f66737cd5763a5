"""Client filters for the price stream: parsing, validation and matching.

Framework-free on purpose: the relay calls `StreamFilters.matches` for every local socket on
every update, so it must be cheap and must not touch the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.gpus.query import GpuCountError, gpu_count_suffix, gpu_query
from apps.providers.adapters.geography import place_matches
from gpubroker.core.errors import NUL_REASON

MAX_FILTER_TEXT_LENGTH = 100
_TEXT_FIELDS = ("gpu", "provider", "region")
FILTER_FIELDS = (*_TEXT_FIELDS, "max_price")


class FilterError(ValueError):
    """The `filters` object of a `subscribe` message is invalid.

    `errors` maps each offending field (or `filters` itself) to a human-readable message; the
    client's previous filters stay in force.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class StreamFilters:
    """What one client wants to see. Every unset field matches everything.

    - `gpu`: any spelling of a GPU, read by `apps.gpus.query.gpu_query` as the snapshot and the
      REST listing read it: a family means all its variants, a variant that variant; text that
      names no catalogue GPU matches as a substring of the update's GPU name.
    - `provider`: provider name (`Provider.name`), case-insensitive exact match.
    - `region`: a place, as the listing's `region` filter reads it: the region or the
      provider's region id, a country name or code, a macro-region, a state or a city
      (`geography.place_matches` over the update's place keys).
    - `max_price`: hourly price ceiling. An update matches when its old *or* new price is within
      the ceiling, so a client also learns that an offer it shows has left its range.

    Text fields are stored lower-cased so matching does no allocation beyond one `lower()` of
    the update's own value.
    """

    gpu: str | None = None
    provider: str | None = None
    region: str | None = None
    max_price: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The filters as sent back to the client (unset fields omitted)."""
        return {name: value for name in FILTER_FIELDS if (value := getattr(self, name)) is not None}

    def cache_key(self) -> tuple[str | float | None, ...]:
        """A hashable identity, used to share one snapshot query between identical filters."""
        return (self.gpu, self.provider, self.region, self.max_price)

    def matches(self, update: Mapping[str, Any]) -> bool:
        """Whether a validated price update (`frames.UpdateFrame.data`) is wanted."""
        if self.gpu is not None:
            gpu = str(update["gpu"])
            if not gpu_query(self.gpu).matches(gpu, gpu):  # cached per distinct text
                return False
        if self.provider is not None and self.provider != str(update["provider"]).lower():
            return False
        if self.region is not None and not place_matches(self.region, update):
            return False
        if self.max_price is not None:
            prices = [p for p in (update["old_price"], update["new_price"]) if p is not None]
            if not prices or min(prices) > self.max_price:
                return False
        return True


def parse_filters(raw: object) -> StreamFilters:
    """Validate the `filters` value of a `subscribe` message.

    `None` (or a missing key, which the caller passes as `None`) means "everything". Unknown keys,
    non-string text values, empty or over-long strings, text holding a NUL (U+0000, as the
    listing refuses it), a `gpu` whose text after `:` is not a
    GPU count (`apps.gpus.query.gpu_count_suffix`) and non-positive, non-finite or boolean
    prices are rejected with every problem listed at once. A key set to `null` is unset.
    """
    if raw is None:
        return StreamFilters()
    if not isinstance(raw, dict):
        raise FilterError({"filters": "must be an object"})
    errors: dict[str, str] = {}
    for key in raw:
        if key not in FILTER_FIELDS:
            errors[str(key)] = "unknown filter"
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = "must be a string"
            continue
        value = value.strip()
        if not value:
            errors[name] = "must not be empty"
        elif len(value) > MAX_FILTER_TEXT_LENGTH:
            errors[name] = f"must be at most {MAX_FILTER_TEXT_LENGTH} characters"
        elif "\x00" in value:  # as the listing refuses it (PostgreSQL cannot compare it)
            errors[name] = NUL_REASON
        elif name == "gpu" and (count_error := _count_suffix_error(value)):
            errors[name] = count_error
        else:
            values[name] = value.lower()
    max_price = raw.get("max_price")
    if max_price is not None:
        # bool is an int subclass; `true` is not a price.
        if isinstance(max_price, bool) or not isinstance(max_price, int | float):
            errors["max_price"] = "must be a number"
        elif not math.isfinite(max_price) or max_price <= 0:
            errors["max_price"] = "must be a positive finite number"
        else:
            values["max_price"] = float(max_price)
    if errors:
        raise FilterError(errors)
    return StreamFilters(**values)


def _count_suffix_error(gpu: str) -> str | None:
    """Why a `gpu` filter's `:N` count is refused (as the listing refuses it), else None."""
    try:
        gpu_count_suffix(gpu)
    except GpuCountError as error:
        return str(error)
    return None
