"""Shapes of the tools' results that need no other app: offers, sort keys, labels.

Kept apart from `tools.py` (the module that calls other apps) so that module stays about the
calls. Units: prices in USD per hour for the whole instance, memory in GB.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

# GeForce cards are the catalogue models named "RTX" + four digits (RTX 3090, RTX 4090 Ti);
# workstation (RTX A6000, RTX 6000 Ada) and data-centre parts are named otherwise. The
# catalogue has no market-segment field yet, so "no consumer cards" is decided by this name.
_CONSUMER_NAME = re.compile(r"^RTX \d{4}(?: Ti)?$")


def gpu_is_consumer(gpu_model: str | None) -> bool:
    """Whether a canonical GPU model is a consumer (GeForce) card."""
    return bool(gpu_model and _CONSUMER_NAME.match(gpu_model))


def offer_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """An offer as the tools return it, from a listing item (the keys of GET /providers).

    Args:
        item: `providers.selectors.offers.offer_item` of one offer.

    Returns:
        The offer's id (str), provider, name, GPU, `gpu_count`, `gpu_memory_gb` (per GPU, GB),
        `total_vram_gb` (per-GPU memory x GPU count, GB), `price_per_hour` (the whole
        instance, USD/hour), `price_per_gpu_hour`, currency, availability, region (the
        listing's region: often the provider's code, "cdg"), `location` (the place as the board
        names it: city, state and country when known, else the region), spot, stale and
        `last_updated` (ISO 8601).
    """
    count = item["gpu_count"] or 1
    price = float(item["price_per_hour"])
    updated = item.get("last_updated")
    return {
        "id": str(item["id"]),
        "provider": item["provider"],
        "name": item["name"],
        "gpu": item["gpu"],
        "gpu_count": count,
        "gpu_memory_gb": item["gpu_memory_gb"],
        "total_vram_gb": item["gpu_memory_gb"] * count,
        "price_per_hour": price,
        "price_per_gpu_hour": round(price / count, 4),
        "currency": item["currency"],
        "availability": item["availability"],
        "region": item["region"],
        "location": offer_location(item),
        "spot": bool(item["spot"]),
        "stale": bool(item["stale"]),
        "last_updated": updated.isoformat() if updated is not None else None,
    }


def offer_location(item: Mapping[str, Any]) -> str:
    """Where a listing item is, as the board's region cell names it: "Paris, FR".

    City, state and country when the listing knows them, else its region (a provider's code).
    """
    parts = [item.get(key) for key in ("city", "state", "country")]
    return ", ".join(str(part) for part in parts if part) or str(item.get("region") or "")


# search_offers merges one listing page per country: it sorts them as the listing sorts one.
SORT_KEYS: Mapping[str, Callable[[dict[str, Any]], Any]] = MappingProxyType(
    {
        "price": lambda offer: (offer["price_per_hour"], offer["id"]),
        "-price": lambda offer: (-offer["price_per_hour"], offer["id"]),
        "gpu_memory": lambda offer: (-offer["gpu_memory_gb"], offer["id"]),
        "cost_per_token": lambda offer: (offer["price_per_gpu_hour"], offer["id"]),
        "updated": lambda offer: (offer["last_updated"] or "", offer["id"]),
    }
)


def model_size_label(params_billion: float) -> str:
    """'70b', '46.7b' or '125m': the size label cost_per_token reads."""
    if params_billion < 1:
        return f"{math.floor(params_billion * 1000)}m"
    return f"{params_billion:g}b"
