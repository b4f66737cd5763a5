"""The offer table's columns: which listing field each shows, how, and how it sorts. One place.

The board renders listing items (`providers.selectors.offers.offer_item`, the same dicts the
REST listing returns), so a column names the item key it shows, as agreed for REST, WebSocket
and models. A column whose `requires` field is not (yet) part of the listing schema
(`providers.schemas.OfferOut`) is left out, and a sort the API does not (yet) accept is not
offered: when a contract field such as `price_per_gpu_hour` or `price_as_of` lands in the
listing, its column appears with no change here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, get_args

from apps.board.formatting import TIMES, ago, usd
from apps.gpus.kpis import CostBasis
from apps.providers.schemas import OfferOut
from apps.providers.selectors.offers import OfferSort

# $/TFLOP-hour from the listing's cost_per_gflop (USD per GFLOP at peak): 1 TFLOP-hour is
# 1,000 GFLOP/s for 3,600 s (algorithms.kpi.cost_per_gflop).
GFLOP_PER_TFLOP_HOUR = 1000.0 * 3600.0
TOKENS_PER_MILLION = 1e6


@dataclass(frozen=True)
class Column:
    """One column of the offer table.

    Attributes:
        key: Stable id; the cell's `data-field` (the price cell is `price_per_hour`).
        label: Header text.
        title: Header hover text: unit and what the figure assumes.
        sorts: The orders a header click cycles through, each as API `sort` values in order
            of preference (the first the API accepts is used; SORT_NEEDS names the query
            parameter some need). An order with no usable value is dropped.
        requires: A listing field that must exist for the column to be shown.
        numeric: Right-aligned figures.
    """

    key: str
    label: str
    title: str
    sorts: tuple[tuple[str, ...], ...] = ()
    requires: str | None = None
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("gpu", "GPU", "Canonical GPU model and its form factor"),
    Column(
        "gpu_memory_gb",
        f"GPUs {TIMES} VRAM",
        f"GPU count {TIMES} memory per GPU (GB); sorts by memory per GPU",
        sorts=(("gpu_memory",),),
        numeric=True,
    ),
    Column("provider", "Provider", "Where the offer is listed"),
    Column("region", "Region", "Location (country and city when known)"),
    Column(
        "price_per_hour",
        "$/h",
        "On-demand price of the whole instance, USD per hour",
        sorts=(("price",), ("-price",)),
        numeric=True,
    ),
    Column(
        "price_per_gpu_hour",
        "$/GPU·h",
        "Price per GPU, USD per hour",
        sorts=(("price_per_gpu",), ("-price_per_gpu",)),
        requires="price_per_gpu_hour",
        numeric=True,
    ),
    Column(
        "spot_price_per_hour",
        "Spot $/h",
        "Spot (interruptible) price of the whole instance, USD per hour",
        sorts=(("spot_price",),),
        requires="spot_price_per_hour",
        numeric=True,
    ),
    Column(
        "cost_per_million_tokens",
        "$/M tokens",
        "USD per million generated tokens",
        sorts=(("cost_per_million_tokens", "cost_per_token"),),
        numeric=True,
    ),
    Column(
        "cost_per_tflop_hour",
        "$/TFLOP·h",
        "USD per TFLOP-hour at the fp32 peak of all the GPUs",
        numeric=True,
    ),
    Column("availability", "Availability", "available, limited or unavailable (sold out)"),
    Column(
        "price_as_of",
        "Price as of",
        "When the price was last known true; stale rows are marked",
        sorts=(("price_as_of", "updated"),),
    ),
)


def listing_fields() -> frozenset[str]:
    """The keys a listing item has today (the listing schema's fields)."""
    return frozenset(OfferOut.model_fields)


def accepted_sorts() -> frozenset[str]:
    """The `sort` values the listing accepts today."""
    return frozenset(get_args(OfferSort))


# Sorts that only mean something with another query parameter (cost for a named model).
SORT_NEEDS: Mapping[str, str] = {"cost_per_million_tokens": "model"}


@dataclass(frozen=True)
class ShownColumn:
    """A column as this table shows it: `sorts` holds the one API value used per order."""

    column: Column
    sorts: tuple[str, ...]

    @property
    def key(self) -> str:
        """The column's key (`data-field`)."""
        return self.column.key

    @property
    def label(self) -> str:
        """Header text."""
        return self.column.label

    @property
    def title(self) -> str:
        """Header hover text."""
        return self.column.title

    @property
    def numeric(self) -> bool:
        """Right-aligned figures."""
        return self.column.numeric


def visible_columns(
    *,
    fields: Collection[str] | None = None,
    sorts: Collection[str] | None = None,
    params: Collection[str] = (),
) -> list[ShownColumn]:
    """The columns whose required field exists, each with the sort values usable now.

    `fields` defaults to the listing's, `sorts` to the accepted sort values, and `params` are
    the query parameters set (for SORT_NEEDS).
    """
    fields = listing_fields() if fields is None else fields
    sorts = accepted_sorts() if sorts is None else sorts
    shown = []
    for column in COLUMNS:
        if column.requires is not None and column.requires not in fields:
            continue
        usable = []
        for alternatives in column.sorts:
            for value in alternatives:
                needed = SORT_NEEDS.get(value)
                if value in sorts and (needed is None or needed in params):
                    usable.append(value)
                    break
        if column.key == "price_as_of" and "price_as_of" not in fields:
            # Until the listing says when a price was true, the column is the last sighting.
            column = replace(
                column,
                label="Updated",
                title="When ingestion last saw the offer; stale rows are marked",
            )
        shown.append(ShownColumn(column, tuple(usable)))
    return shown


# Orders that put the largest (or newest) first; every other sort is ascending.
DESCENDING_SORTS = frozenset({"gpu_memory", "updated", "price_as_of"})


def sort_direction(value: str) -> str:
    """The `aria-sort` word, ascending or descending, for the API sort `value`."""
    return "descending" if value.startswith("-") or value in DESCENDING_SORTS else "ascending"


def next_sort(column: ShownColumn, current: str) -> str | None:
    """The sort a click on `column`'s header asks for, given the table's `current` sort."""
    if not column.sorts:
        return None
    if current in column.sorts:
        return column.sorts[(column.sorts.index(current) + 1) % len(column.sorts)]
    return column.sorts[0]


@dataclass(frozen=True)
class Cell:
    """One rendered cell.

    Attributes:
        key: The column key (`data-field`).
        label: The column's header text (the cell's label in the narrow layout).
        text: What the cell reads.
        value: The raw figure for the browser's live updates (`data-value`), or None.
        scales_with_price: The figure is proportional to the instance price, so a live price
            change rescales it (the KPIs are linear in the price).
        note: Secondary text (form factor, macro-region, "spot", "stale").
        title: Hover text.
        datetime: ISO 8601 time for relative times the browser keeps current.
    """

    key: str
    label: str
    text: str
    numeric: bool = False
    value: float | None = None
    scales_with_price: bool = False
    note: str = ""
    title: str = ""
    datetime: str = ""


@dataclass(frozen=True)
class Row:
    """One offer row: its id, state flags and cells in column order."""

    offer_id: str
    provider: str
    gpu: str
    availability: str
    is_stale: bool
    cells: list[Cell] = field(default_factory=list)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _form_factor(item: Mapping[str, Any]) -> str:
    """The offer's form factor when the listing gives one its GPU name does not already say."""
    form_factor = str(item.get("form_factor") or "")
    return "" if form_factor.lower() in str(item.get("gpu") or "").lower() else form_factor


def _location(item: Mapping[str, Any]) -> tuple[str, str, str]:
    """(text, note, title) of the region cell."""
    region = str(item.get("region") or "")
    parts = [item.get("city"), item.get("state"), item.get("country")]
    named = ", ".join(str(part) for part in parts if part)
    note = str(item.get("macro_region") or "")
    provider_region = str(item.get("provider_region") or region)
    if named:
        return named, note, f"Provider's region: {provider_region}"
    return region or "—", note, ""


def _made(key: str, text: str, **details: Any) -> Cell:
    # Label and alignment come from the column (offer_row fills them in).
    return Cell(key=key, label="", text=text, **details)


def _cell(key: str, item: Mapping[str, Any], now: datetime) -> Cell:
    price = _number(item.get("price_per_hour"))
    if key == "gpu":
        return _made(key, str(item.get("gpu") or item.get("name") or "—"), note=_form_factor(item))
    if key == "gpu_memory_gb":
        count = item.get("gpu_count") or 1
        memory = item.get("gpu_memory_gb")
        return _made(key, f"{count} {TIMES} {memory} GB", value=float(count * (memory or 0)))
    if key == "provider":
        return _made(key, str(item.get("provider") or "—"))
    if key == "region":
        text, note, title = _location(item)
        return _made(key, text, note=note, title=title)
    if key == "price_per_hour":
        spot = "spot" if item.get("spot") and "spot_price_per_hour" not in item else ""
        return _made(key, usd(price), value=price, note=spot)
    if key in ("price_per_gpu_hour", "spot_price_per_hour"):
        value = _number(item.get(key))
        return _made(key, usd(value), value=value, scales_with_price=key == "price_per_gpu_hour")
    if key == "cost_per_million_tokens":
        value = _number(item.get("cost_per_million_tokens"))
        if value is None and item.get("cost_per_token") is not None:
            value = float(item["cost_per_token"]) * TOKENS_PER_MILLION
        reason = str(item.get("cost_reason") or "")
        if value is None and not reason:
            reason = (
                "Unknown: the assumed model does not fit this GPU, or its throughput is unknown"
            )
        return _made(key, usd(value), value=value, scales_with_price=True, title=reason)
    if key == "cost_per_tflop_hour":
        per_gflop = _number(item.get("cost_per_gflop"))
        value = None if per_gflop is None else per_gflop * GFLOP_PER_TFLOP_HOUR
        return _made(key, usd(value), value=value, scales_with_price=True)
    if key == "availability":
        return _made(key, str(item.get("availability") or "—"))
    if key == "price_as_of":
        moment = item.get("price_as_of") or item.get("last_updated")
        moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return _made(
            key,
            ago(moment, now),
            note="stale" if item.get("stale") else "",
            title=moment.isoformat() if moment else "",
            datetime=moment.isoformat() if moment else "",
        )
    raise KeyError(key)


def offer_row(item: Mapping[str, Any], columns: list[ShownColumn], now: datetime) -> Row:
    """A listing item as a table row, cells in `columns` order."""
    return Row(
        offer_id=str(item["id"]),
        provider=str(item.get("provider") or ""),
        gpu=str(item.get("gpu") or ""),
        availability=str(item.get("availability") or ""),
        is_stale=bool(item.get("stale")),
        cells=[
            replace(_cell(column.key, item, now), label=column.label, numeric=column.numeric)
            for column in columns
        ],
    )


def cost_assumption(basis: CostBasis, *, source: str = "") -> str:
    """What $/M tokens assumes for a query's cost basis (`OfferQuery.cost_basis()`), as a phrase.

    `source` says where the model came from ("the fit's model"), shown in brackets when given.
    Independent of the page's rows, so an empty page says the same as a full one.
    """
    origin = f" ({source})" if source else ""
    return (
        f"{basis.model} at {basis.precision}{origin}, {basis.prompt_tokens}-token prompts and"
        f" {basis.output_tokens}-token outputs, at each offer's serving batch"
    )
