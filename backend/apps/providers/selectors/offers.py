"""Reads of offers: which offers exist, the listing, one offer, and prices per GPU.

The one offer read model: `offers_listed()` (the REST listing, one offer, its history) and
`offers_in_market()` (the KPIs, the WebSocket snapshot, workload prices) define which offers
exist; `offer_filter` applies the listing's filters, with one reading of GPU text
(`gpu_text_match`, through `apps.gpus.query`), to either. Every function is keyword-only and
read-only. The listing costs
a bounded number of queries whatever the data size: providers (a handful of rows), the page,
and the count (skipped or cached when it can be). KPIs per offer come from
`apps.gpus.kpis.offer_kpis`, over a small per-process table of the canonical GPUs; the listing
may ask for the token costs of another model and precision (`OfferQuery.model`/`precision`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from apps.gpus.kpis import (
    DEFAULT_COST_BASIS,
    CostBasis,
    OfferKpis,
    cost_basis_for,
    offer_kpis,
)
from apps.gpus.query import gpu_query
from apps.providers.errors import OfferNotFound
from apps.providers.models import (
    LISTED,
    PROVIDER_DISABLED,
    Availability,
    GPUOffer,
    Provider,
    per_gpu,
)
from apps.providers.selectors.costs import cost_per_token_expression
from apps.providers.selectors.offer_count import OfferTotal, cached_total
from apps.providers.selectors.offer_groups import GROUPED_SORTS, group_kinds, grouped_page
from apps.providers.selectors.offer_terms import (
    HAS_SPOT,
    gpu_text_match,
    region_match,
)
from apps.providers.selectors.status import (
    ProviderFreshness,
    offer_is_stale,
    provider_freshness,
    provider_freshness_list,
)

OfferSort = Literal[
    "price",
    "-price",
    "price_per_gpu",
    "-price_per_gpu",
    "spot_price",
    "spot_price_per_gpu",
    "gpu_memory",
    "cost_per_token",
    "cost_per_million_tokens",
    "updated",
]

# Every KPI and the WebSocket snapshot count prices in this currency only.
MARKET_CURRENCY = "USD"


def offers_listed(*, disabled: Sequence[uuid.UUID] | None = None) -> QuerySet[GPUOffer]:
    """Offers whose GPU resolved to a canonical model (quarantined names are never listed).

    What the REST listing, one offer and its history show, stale and unavailable ones
    included (flagged). Offers of a provider an operator disabled are left out: by a subquery
    over the providers table (evaluated once per query), or, when the caller has read the
    providers already, by `disabled`, their ids as a literal list, which the planner can
    estimate (it guesses half the rows for a `NOT IN (subquery)`).
    """
    if disabled is not None:
        return GPUOffer.objects.filter(LISTED).exclude(provider_id__in=list(disabled))
    subquery = Provider.objects.filter(status=PROVIDER_DISABLED).values("pk")
    return GPUOffer.objects.filter(LISTED).exclude(provider_id__in=subquery)


def offers_in_market() -> QuerySet[GPUOffer]:
    """Listed offers a buyer could take now: what the KPIs and the WebSocket snapshot count.

    Not unavailable, seen in its provider's last successful sync (not `is_stale`), priced
    above zero in MARKET_CURRENCY.
    """
    return (
        offers_listed()
        .filter(is_stale=False, currency=MARKET_CURRENCY, price_per_hour__gt=0)
        .exclude(availability_status=Availability.UNAVAILABLE)
    )


def price_per_gpu_expression(offer_path: str = "") -> ExpressionWrapper:
    """SQL for an instance's price per GPU-hour: price_per_hour / gpu_count (NULL or 0: 1).

    `offer_path` prefixes the offer's gpu_count when the price is another row's (e.g.
    "offer__" for a price_history row). An offer's own is the column `price_per_gpu_hour`.
    """
    return per_gpu("price_per_hour", f"{offer_path}gpu_count")


def total_memory_expression() -> ExpressionWrapper:
    """SQL for an instance's VRAM in GB over all its GPUs: gpu_memory_gb x gpu_count (NULL/0: 1)."""
    return ExpressionWrapper(
        F("gpu_memory_gb") * Coalesce(NullIf(F("gpu_count"), Value(0)), Value(1)),
        output_field=IntegerField(),
    )


_SORT_ORDER: Mapping[str, tuple[Any, ...]] = {
    "price": (F("price_per_hour").asc(), F("id").asc()),
    "-price": (F("price_per_hour").desc(), F("id").asc()),
    "price_per_gpu": (F("price_per_gpu_hour").asc(), F("id").asc()),
    "-price_per_gpu": (F("price_per_gpu_hour").desc(), F("id").asc()),
    "spot_price": (F("spot_price_per_hour").asc(nulls_last=True), F("id").asc()),
    "spot_price_per_gpu": (F("spot_price_per_gpu_hour").asc(nulls_last=True), F("id").asc()),
    "gpu_memory": (F("gpu_memory_gb").desc(), F("id").asc()),
    "cost_per_token": (F("cost_per_token").asc(nulls_last=True), F("id").asc()),
    "cost_per_million_tokens": (F("cost_per_token").asc(nulls_last=True), F("id").asc()),
    "updated": (F("updated_at").desc(), F("id").asc()),
}
_ITEM_COLUMNS = (
    "id",
    "provider_id",
    "gpu_type",
    "gpu_model",
    "gpu_memory_gb",
    "price_per_hour",
    "currency",
    "availability_status",
    "region",
    "compliance_tags",
    "updated_at",
    "gpu_count",
    "cpu_cores",
    "ram_gb",
    "storage_gb",
    "spot_pricing",
    "is_stale",
    "price_per_gpu_hour",
    "spot_price_per_hour",
    "spot_price_per_gpu_hour",
    "price_as_of",
    "provider_region",
    "country",
    "state",
    "city",
    "macro_region",
)


# ---- listing -----------------------------------------------------------------------------------


_NOT_FILTERS = frozenset({"sort", "page", "per_page", "model", "precision"})


@dataclass(frozen=True)
class OfferQuery:
    """Validated listing parameters (see schemas.OfferFilterIn for their meaning)."""

    gpu: str | None = None
    gpu_type: str | None = None
    region: str | None = None
    provider: str | None = None
    availability: str | None = None
    compliance_tag: str | None = None
    gpu_memory_min: int | None = None
    gpu_memory_max: int | None = None
    price_min: Decimal | None = None
    max_price: Decimal | None = None
    price_per_gpu_min: Decimal | None = None
    price_per_gpu_max: Decimal | None = None
    gpu_count_min: int | None = None
    gpu_memory_total_min: int | None = None
    spot: bool | None = None
    model: str | None = None
    precision: str | None = None
    sort: OfferSort = "price"
    page: int = 1
    per_page: int = 20

    def filter_params(self) -> dict[str, Any]:
        """The set filters (no sort, paging or cost basis): what the count's cache key needs."""
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in _NOT_FILTERS and value is not None
        }

    def cost_basis(self) -> CostBasis:
        """What cost_per_token assumes for this query (`kpis.cost_basis_for`)."""
        return cost_basis_for(model=self.model, precision=self.precision)

    def cache_params(self) -> dict[str, Any]:
        """Every set parameter (filters, sort, paging and cost basis): a page's cache key.

        All of them, not a chosen few: a page's items depend on each (the cost basis prices
        `cost_per_token`), and a parameter left out here served one model's costs for another.
        """
        return {name: value for name, value in self.__dict__.items() if value is not None}


@dataclass(frozen=True)
class OfferPage:
    """`items` are plain dicts with the response keys of schemas.OfferOut.

    `total` is exact unless `total_is_estimate` (more than PROVIDERS_LIST_EXACT_COUNT_MAX
    matches: PostgreSQL's estimate, `offer_count.offer_total`).
    """

    total: int
    items: list[dict[str, Any]]
    warnings: list[str]
    total_is_estimate: bool = False


def gpu_count_wanted(query: OfferQuery) -> int | None:
    """`gpu_count_min`, raised by a SkyPilot-style count in the GPU text (`gpu=H100:8` -> 8)."""
    counts = [query.gpu_count_min] + [
        gpu_query(needle).count for needle in (query.gpu, query.gpu_type) if needle
    ]
    present = [count for count in counts if count is not None]
    return max(present) if present else None


def offer_filter(
    *,
    query: OfferQuery,
    provider_ids: Sequence[uuid.UUID] | None = None,
    offers: QuerySet[GPUOffer] | None = None,
) -> QuerySet[GPUOffer]:
    """`offers` (default `offers_listed()`) matching every filter of `query`, AND-combined.

    `gpu` / `gpu_type` go through `gpu_text_match` (a `:N` suffix raises `gpu_count_min` to N,
    `gpu_count_wanted`); `region` is the region or the ISO country
    code, exact and case-insensitive; `provider` is the provider name, case-insensitive, unless
    `provider_ids` gives it already resolved. Prices are USD/hour for the whole instance,
    memory GB per GPU (`gpu_memory_total_min`: GB over all the instance's GPUs), bounds
    inclusive.
    """
    offers = offers_listed() if offers is None else offers
    for needle in (query.gpu, query.gpu_type):
        if needle:
            offers = offers.filter(gpu_text_match(needle))
    if query.region:
        offers = offers.filter(region_match(query.region))
    if provider_ids is not None:
        offers = offers.filter(provider_id__in=provider_ids)
    elif query.provider:
        offers = offers.filter(provider__name__iexact=query.provider)
    if query.availability:
        offers = offers.filter(availability_status=query.availability)
    if query.compliance_tag:
        offers = offers.filter(compliance_tags__contains=[query.compliance_tag])
    if query.gpu_memory_min is not None:
        offers = offers.filter(gpu_memory_gb__gte=query.gpu_memory_min)
    if query.gpu_memory_max is not None:
        offers = offers.filter(gpu_memory_gb__lte=query.gpu_memory_max)
    if query.price_min is not None:
        offers = offers.filter(price_per_hour__gte=query.price_min)
    if query.max_price is not None:
        offers = offers.filter(price_per_hour__lte=query.max_price)
    if query.price_per_gpu_min is not None:
        offers = offers.filter(price_per_gpu_hour__gte=query.price_per_gpu_min)
    if query.price_per_gpu_max is not None:
        offers = offers.filter(price_per_gpu_hour__lte=query.price_per_gpu_max)
    gpu_count_min = gpu_count_wanted(query)
    if gpu_count_min is not None:
        offers = offers.filter(gpu_count__gte=gpu_count_min)
    if query.gpu_memory_total_min is not None:
        offers = offers.alias(gpu_memory_total=total_memory_expression()).filter(
            gpu_memory_total__gte=query.gpu_memory_total_min
        )
    if query.spot is not None:
        offers = offers.filter(HAS_SPOT if query.spot else ~HAS_SPOT)
    return offers


def offer_list(*, query: OfferQuery) -> OfferPage:
    """One page of the listing, its total and the providers' freshness.

    Queries: providers (1), the page (1), the count (skipped when a non-empty page is not full,
    else cached per filter set for the listing TTL: a count bounded by
    PROVIDERS_LIST_EXACT_COUNT_MAX, plus an EXPLAIN for the estimate when more match), plus the
    GPU KPI map once per process TTL. A page past the end is empty with the total. A
    `provider` no provider is called gives no offers and a warning naming the providers.
    """
    freshness = provider_freshness_list()
    by_id = {p.id: p for p in freshness}
    provider_ids = None
    relevant = freshness
    if query.provider is not None:
        wanted = query.provider.lower()
        relevant = [p for p in freshness if p.name.lower() == wanted]
        provider_ids = [p.id for p in relevant]
    warnings = [w for w in (p.warning() for p in relevant) if w]
    if provider_ids == []:
        known = ", ".join(sorted(p.name for p in freshness))
        warnings.append(f"No provider is called {query.provider!r}; the providers: {known}")
        return OfferPage(total=0, items=[], warnings=warnings)

    basis = query.cost_basis()
    disabled = [p.id for p in freshness if p.status == PROVIDER_DISABLED]
    matching = offer_filter(
        query=query, provider_ids=provider_ids, offers=offers_listed(disabled=disabled)
    )
    offset = (query.page - 1) * query.per_page
    rows = _page_rows(matching, query, basis=basis, offset=offset)
    if 0 < len(rows) < query.per_page or (query.page == 1 and not rows):
        total = OfferTotal(offset + len(rows))
    else:
        total = cached_total(matching, query)
        if total.is_estimate:
            # Never below what the pages up to this one hold, nor beyond an empty page.
            bounded = max(total.count, offset + len(rows)) if rows else min(total.count, offset)
            total = OfferTotal(bounded, is_estimate=True)
    items = [offer_item(row, by_id.get(row["provider_id"]), basis=basis) for row in rows]
    return OfferPage(
        total=total.count,
        items=items,
        warnings=warnings,
        total_is_estimate=total.is_estimate,
    )


def _page_rows(
    offers: QuerySet[GPUOffer], query: OfferQuery, *, basis: CostBasis, offset: int
) -> list[dict[str, Any]]:
    """The page's rows: group by group (`offer_groups`) where that reads less, else one query.

    Grouped: the price sorts with a GPU filter that names catalogue models, and the cost
    sorts (offers that have a cost per token; when those do not fill the page, the rest,
    NULL costs last, need the plain query). The plain query gives the same rows otherwise.
    """
    kinds = group_kinds(query, basis)
    if kinds is not None:
        inner_order, outer_order = GROUPED_SORTS[query.sort]
        costed = "cost_per_token" in outer_order
        rows = grouped_page(
            offers=offers.filter(price_per_hour__gt=0) if costed else offers,
            kinds=kinds,
            inner_order=inner_order,
            outer_order=outer_order,
            columns=_ITEM_COLUMNS,
            offset=offset,
            limit=query.per_page,
        )
        if len(rows) == query.per_page or not costed:
            return rows
    if query.sort in ("cost_per_token", "cost_per_million_tokens"):
        offers = offers.annotate(cost_per_token=cost_per_token_expression(basis))
    return list(
        offers.order_by(*_sort_order(query)).values(*_ITEM_COLUMNS)[
            offset : offset + query.per_page
        ]
    )


def _sort_order(query: OfferQuery) -> tuple[Any, ...]:
    """ORDER BY for the page query.

    With a GPU filter the matching rows are found through the gpu_model / gpu_name_raw indexes
    and then sorted; walking the price index instead (what the planner picks for a LIMIT when it
    underestimates how far the cheapest match lies, e.g. H100s among cheaper cards) scanned
    tens of thousands of rows. `price_per_hour + 0` keeps the same order without offering the
    planner that index.
    """
    if (query.gpu or query.gpu_type) and query.sort in ("price", "-price"):
        price = ExpressionWrapper(F("price_per_hour") + 0, output_field=DecimalField())
        first = price.asc() if query.sort == "price" else price.desc()
        return (first, F("id").asc())
    return _SORT_ORDER[query.sort]


def offer_item(
    row: Mapping[str, Any],
    provider: ProviderFreshness | None,
    *,
    kpis: OfferKpis | None = None,
    basis: CostBasis = DEFAULT_COST_BASIS,
) -> dict[str, Any]:
    """One offer as the API shows it: v1's keys first, then v2's (schemas.OfferOut).

    The one mapping from gpu_offers columns to response keys, for listing items and the
    detail alike. `row` holds _ITEM_COLUMNS; `kpis` defaults to `offer_kpis` of the row for
    `basis`.
    """
    if kpis is None:
        kpis = offer_kpis(
            price_per_hour=row["price_per_hour"],
            gpu_model=row["gpu_model"],
            gpu_count=row["gpu_count"],
            basis=basis,
        )
    count = row["gpu_count"] or 1
    return {
        "id": row["id"],
        "provider": provider.name if provider else None,
        "name": f"{count}x {row['gpu_type']}" if count > 1 else row["gpu_type"],
        "gpu": row["gpu_model"],
        "gpu_memory_gb": row["gpu_memory_gb"],
        "price_per_hour": row["price_per_hour"],
        "currency": row["currency"],
        "availability": row["availability_status"],
        "region": row["region"],
        "tags": row["compliance_tags"],
        "last_updated": row["updated_at"],
        "gpu_count": row["gpu_count"],
        "cpu_cores": row["cpu_cores"],
        "ram_gb": row["ram_gb"],
        "storage_gb": row["storage_gb"],
        "spot": bool(row["spot_pricing"] or row["spot_price_per_hour"] is not None),
        "price_per_gpu_hour": row["price_per_gpu_hour"],
        "spot_price_per_hour": row["spot_price_per_hour"],
        "spot_price_per_gpu_hour": row["spot_price_per_gpu_hour"],
        "price_as_of": row["price_as_of"] or row["updated_at"],
        "provider_region": row["provider_region"],
        "country": row["country"],
        "macro_region": row["macro_region"],
        "state": row["state"],
        "city": row["city"],
        "cost_per_token": kpis.cost_per_token,
        "cost_per_gflop": kpis.cost_per_gflop,
        "cost_per_million_tokens": kpis.cost_per_million_tokens,
        "cost_reason": kpis.cost_reason,
        "cost_basis": kpis.cost_basis,
        "stale": offer_is_stale(
            is_stale=row["is_stale"],
            provider=provider,
            price_as_of=row["price_as_of"] or row["updated_at"],
        ),
    }


# ---- one offer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferDetail:
    """A listed offer with what its detail page shows beyond the model's columns.

    Attributes:
        offer: The row, with its provider loaded.
        provider: The provider's freshness.
        kpis: `offer_kpis` of the offer.
        item: `offer_item` of the offer (the listing's keys).
    """

    offer: GPUOffer
    provider: ProviderFreshness
    kpis: OfferKpis
    item: dict[str, Any]


def offer_get(*, offer_id: uuid.UUID) -> OfferDetail:
    """A listed offer with its KPIs and its provider's freshness.

    Raises:
        OfferNotFound: the id is unknown or the offer is not listed (quarantined GPU).
    """
    offer = offers_listed().select_related("provider").filter(id=offer_id).first()
    if offer is None:
        raise OfferNotFound(details={"offer_id": str(offer_id)})
    provider = provider_freshness(offer.provider, timezone.now())
    kpis = offer_kpis(
        price_per_hour=offer.price_per_hour, gpu_model=offer.gpu_model, gpu_count=offer.gpu_count
    )
    row = {column: getattr(offer, column) for column in _ITEM_COLUMNS}
    return OfferDetail(
        offer=offer, provider=provider, kpis=kpis, item=offer_item(row, provider, kpis=kpis)
    )


def offers_by_ids(*, offer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, GPUOffer]:
    """Offers (with their provider) for the given ids; missing ids are simply absent."""
    wanted = set(offer_ids)
    if not wanted:
        return {}
    return {
        offer.id: offer
        for offer in GPUOffer.objects.select_related("provider").filter(id__in=wanted)
    }
