"""Ninja schemas of the marketplace read API (SPEC.md "Offer listing" and the provider rows)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field, ValidationInfo, field_validator

from algorithms.errors import AlgorithmInputError
from apps.gpus.kpis import cost_basis_for
from apps.gpus.query import MAX_GPU_COUNT, GpuCountError, gpu_count_suffix
from apps.providers.selectors.offers import OfferQuery, OfferSort

PER_PAGE_CHOICES = (10, 20, 50, 100)
MAX_TEXT_FILTER = 100
# Prices are DECIMAL(8,4) and memory an INT: bounds keep every value comparable in SQL.
MAX_PRICE_FILTER = Decimal("99999999")
MAX_INT_FILTER = 1_000_000
MAX_PAGE = 10_000_000

PriceFilter = Annotated[Decimal, Field(ge=0, le=MAX_PRICE_FILTER, allow_inf_nan=False)]
IntFilter = Annotated[int, Field(ge=0, le=MAX_INT_FILTER)]
# No minLength: an empty query value (`?gpu=`) means "no filter" (Ninja drops it before
# validation, and v1 clients send them), so the schema admits "" as the API does.
TextFilter = Annotated[str, Field(max_length=MAX_TEXT_FILTER)]


class OfferFilterIn(Schema):
    """Query of GET /providers.

    Filters combine with AND; unknown parameters are ignored and named in the answer's
    `warnings`, bad values of known ones are a 422. Empty text parameters (`?gpu=`) mean "no
    filter". Aliases kept from v1: `gpu_type` is `gpu`; `price_min` and `max_price` bound the
    instance price, USD/hour.
    """

    gpu: TextFilter | None = Field(
        None,
        description=(
            "Any spelling of a GPU (`A100-80GB`, `RTX4090`, `h100 sxm`), read by the catalogue: "
            "a family (`H100`) means all its variants, a variant (`H100 SXM`) that variant. "
            "Text that names no catalogue GPU matches as a case-insensitive substring of the "
            "canonical or the provider's name. A count suffix `H100:8` also sets gpu_count_min=8 "
            f"(a whole number from 1 to {MAX_GPU_COUNT:,})."
        ),
    )
    gpu_type: TextFilter | None = Field(None, description="Same as `gpu` (v1 name).")
    region: TextFilter | None = Field(
        None,
        description=(
            "A place, case-insensitive: a country name or ISO code (`SI`, `Slovenia`), a "
            "macro-region (`Europe`, `North America`, `Asia-Pacific`, `Middle East`, ...), a "
            "state or city (`California`, `Los Angeles`), or the provider's own region id "
            "(`us-east-1`, `ord`, `FIN-01`)."
        ),
    )
    provider: TextFilter | None = Field(None, description="Provider name, e.g. `vastai`.")
    availability: Literal["available", "limited", "unavailable"] | None = None
    compliance_tag: TextFilter | None = Field(None, description="Offers carrying this tag.")
    gpu_memory_min: IntFilter | None = Field(None, description="GB per GPU, inclusive.")
    gpu_memory_max: IntFilter | None = Field(None, description="GB per GPU, inclusive.")
    price_min: PriceFilter | None = Field(None, description="Instance price per hour, inclusive.")
    max_price: PriceFilter | None = Field(None, description="Instance price per hour, inclusive.")
    price_per_gpu_min: PriceFilter | None = Field(
        None, description="Price per GPU-hour (instance price / gpu_count), inclusive."
    )
    price_per_gpu_max: PriceFilter | None = Field(
        None, description="Price per GPU-hour (instance price / gpu_count), inclusive."
    )
    gpu_count_min: Annotated[int, Field(ge=1, le=MAX_GPU_COUNT)] | None = None
    gpu_memory_total_min: IntFilter | None = Field(
        None, description="GB over all the instance's GPUs (gpu_memory_gb x gpu_count), inclusive."
    )
    spot: bool | None = Field(
        None,
        description=(
            "true: offers that can be rented as spot/interruptible capacity (a spot price, or "
            "spot-only); false: offers without a spot price."
        ),
    )
    model: TextFilter | None = Field(
        None,
        description=(
            "Price the tokens of this model: a registry name (llama-3.3-70b, Qwen/Qwen2.5-72B, "
            "deepseek-r1, ...) or any name carrying a size (my-finetune-13b). Default: "
            "llama-3.1-8b."
        ),
    )
    precision: TextFilter | None = Field(
        None, description="Weight precision for `model`: fp32, fp16, bf16, fp8, int8, int4."
    )
    sort: OfferSort = Field(
        "price",
        description=(
            "price (cheapest first), -price (dearest first), price_per_gpu / -price_per_gpu "
            "(by price per GPU-hour), spot_price / spot_price_per_gpu (cheapest spot first, "
            "offers without one last), gpu_memory (most memory first), "
            "cost_per_token or cost_per_million_tokens (cheapest first for the cost basis, "
            "unknown last), updated (most recent first); ties are broken by id ascending."
        ),
    )
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: int = Field(20, description="One of 10, 20, 50, 100.")

    @field_validator("compliance_tag", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("model", "precision", mode="before")
    @classmethod
    def _basis_spelling(cls, value: Any) -> Any:
        # Lower-cased so `model=Llama-3.3-70B` and `model=llama-3.3-70b` share one cache entry.
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cost_basis_for(model=value, precision=None)
            except AlgorithmInputError as error:
                raise ValueError(error.message) from error
        return value

    @field_validator("precision")
    @classmethod
    def _known_precision(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                return cost_basis_for(model=None, precision=value).precision
            except AlgorithmInputError as error:
                raise ValueError(error.message) from error
        return value

    @field_validator("gpu", "gpu_type", "region", "provider", "availability", mode="before")
    @classmethod
    def _case_insensitive(cls, value: Any) -> Any:
        # Lower-cased so `gpu=H100` and `gpu=h100` share one cache entry (and, as v1 did,
        # `availability=Available` is `available`).
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("gpu", "gpu_type")
    @classmethod
    def _count_suffix(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                gpu_count_suffix(value)
            except GpuCountError as error:
                raise ValueError(str(error)) from error
        return value

    @field_validator("per_page")
    @classmethod
    def _per_page_choice(cls, value: int) -> int:
        if value not in PER_PAGE_CHOICES:
            raise ValueError("must be one of 10, 20, 50, 100")
        return value

    @field_validator("gpu_memory_max", "max_price", "price_per_gpu_max")
    @classmethod
    def _not_below_minimum(cls, value: Any, info: ValidationInfo) -> Any:
        minimum_name = {
            "gpu_memory_max": "gpu_memory_min",
            "max_price": "price_min",
            "price_per_gpu_max": "price_per_gpu_min",
        }
        minimum = info.data.get(minimum_name[str(info.field_name)])
        if value is not None and minimum is not None and value < minimum:
            raise ValueError(f"must not be below {minimum_name[str(info.field_name)]}")
        return value

    def to_query(self) -> OfferQuery:
        """The validated query as the selectors take it."""
        return OfferQuery(**self.model_dump())


#: The listing's query parameters, in declaration order (the board's controls, unknown-name
#: warnings).
LISTING_PARAMS: tuple[str, ...] = tuple(OfferFilterIn.model_fields)


class CostBasisOut(Schema):
    """What an item's cost_per_token and cost_per_million_tokens assume."""

    model: str = Field(description="Registry id, or the name given for a size-estimated model.")
    precision: str = Field(description="Weight precision; the KV cache is fp16.")
    batch: int | None = Field(
        description=(
            "Sequences each replica decodes together: the serving batch (as many as the KV "
            "cache holds, at most vLLM's max_num_seqs); null when the offer cannot serve."
        )
    )
    prompt_tokens: int
    output_tokens: int


class OfferOut(Schema):
    """A listing item: v1's keys, then v2's.

    `price_per_hour` and `spot_price_per_hour` are the whole instance's, USD/hour;
    `*_per_gpu_hour` the same divided by `gpu_count`. Both prices of an offer cover the same
    things (docs/kpi-formulas.md, per provider).
    """

    id: UUID
    provider: str | None
    name: str
    gpu: str | None
    gpu_memory_gb: int
    price_per_hour: float
    currency: str
    availability: str
    region: str
    tags: list[str]
    last_updated: datetime
    gpu_count: int | None
    cpu_cores: int | None
    ram_gb: int | None
    storage_gb: int | None
    spot: bool = Field(
        description="Rentable as spot/interruptible capacity (spot price or spot-only)."
    )
    price_per_gpu_hour: float = Field(description="price_per_hour / gpu_count, USD per GPU-hour.")
    spot_price_per_hour: float | None = Field(
        description="Spot/interruptible price of the same instance, USD/hour; null: none."
    )
    spot_price_per_gpu_hour: float | None = Field(
        description="spot_price_per_hour / gpu_count, USD per GPU-hour; null: no spot price."
    )
    price_as_of: datetime = Field(
        description=(
            "When the price was true: the provider's own timestamp, a manual price list's "
            "date, else the time it was fetched. Older than the provider's budget: `stale`."
        )
    )
    provider_region: str | None = Field(description="The provider's own region id (booking).")
    country: str | None = Field(description="ISO 3166-1 alpha-2 code; null when unknown.")
    macro_region: str | None = Field(
        description="North America, South America, Europe, Middle East, Africa, Asia-Pacific."
    )
    state: str | None = Field(description="State or province, where the provider says it.")
    city: str | None = Field(description="City, where the provider says it.")
    cost_per_token: float | None = Field(
        description=(
            "USD per output token of the model in cost_basis (default Llama 3.1 8B, fp16) at the "
            "serving batch, full load; null when unknown or the offer cannot hold the model."
        )
    )
    cost_per_gflop: float | None = Field(description="At the fp32 peak of all the GPUs.")
    stale: bool
    cost_per_million_tokens: float | None = Field(
        description="cost_per_token x 1e6: USD per million output tokens for cost_basis."
    )
    cost_reason: str | None = Field(
        description="Why the token costs are null (the offer cannot hold the model, no price)."
    )
    cost_basis: CostBasisOut


class OfferListOut(Schema):
    """GET /providers: the total over all pages, one page of items, and freshness warnings."""

    total: int = Field(
        description="Offers matching the filters over all pages; exact unless"
        " total_is_estimate is true."
    )
    total_is_estimate: bool | None = Field(
        None,
        description="Present and true when more offers match than"
        " PROVIDERS_LIST_EXACT_COUNT_MAX (default 10,000): `total` is then PostgreSQL's"
        " estimate (never below the offers on the pages up to this one). Absent when exact.",
    )
    items: list[OfferOut]
    warnings: list[str] | None = Field(
        None,
        description="Present when some provider's data is stale or the provider is down, or"
        " when the query had parameters the listing does not know (ignored, named here).",
    )


class LastSyncOut(Schema):
    """What a provider's last successful sync read and skipped."""

    started_at: datetime
    offers_seen: int
    offers_skipped: int = Field(description="Records (and offers) that could not be used.")
    offers_quarantined: int = Field(description="Offers whose GPU the catalogue does not know.")
    elements_skipped: int = Field(
        description="Empty or malformed elements of lists inside records (a blank location)."
    )
    skip_reasons: dict[str, int] = Field(description="Every skip counted by its reason.")


class QuarantinedGpuOut(Schema):
    """A provider GPU string the catalogue does not resolve, and why (an operator's to-do)."""

    gpu_name_raw: str
    offer_count: int
    reason: str = Field(description="Stable code, e.g. no_match, unknown_token:ti.")
    explanation: str


class ProviderStatusOut(Schema):
    """One provider in GET /providers/status."""

    name: str
    display_name: str
    status: str
    last_sync_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    breaker_state: str
    breaker_open_until: datetime | None
    sync_interval_seconds: int
    next_sync_at: datetime | None = Field(
        None,
        description="When ingestion syncs it next (not before an open breaker's half-open time;"
        " in the past: due or overdue); null while disabled.",
    )
    freshness_seconds: float | None = Field(description="Age of the last successful sync.")
    stale: bool
    down: bool
    price_source: str
    offer_count: int
    listed_offer_count: int
    quarantined_offer_count: int
    quarantined_names: list[str]
    quarantined_gpus: list[QuarantinedGpuOut] = Field(
        description="Each unknown GPU string with its offer count and why it is not listed."
    )
    sync_attempts_7d: int
    uptime_pct: float | None = Field(description="Successful sync attempts, last 7 days.")
    avg_fetch_latency_ms: float | None = Field(description="Mean fetch latency, last 7 days.")
    price_max_age_seconds: int = Field(
        description="How old a price may be (now - price_as_of) before its offer is stale."
    )
    oldest_price_as_of: datetime | None = Field(
        description="The oldest price_as_of of the provider's listed offers."
    )
    newest_price_as_of: datetime | None = Field(
        description="The newest price_as_of of the provider's listed offers."
    )
    last_sync: LastSyncOut | None = Field(
        description="What the last successful sync skipped (null before the first one)."
    )


class ProviderFreshnessOut(Schema):
    """How current a provider's data is (seconds since its last successful sync)."""

    name: str
    display_name: str
    status: str
    breaker_state: str
    last_sync_at: datetime | None
    last_success_at: datetime | None
    freshness_seconds: float | None
    stale: bool
    down: bool
    price_max_age_seconds: int = Field(
        description="How old a price may be (now - price_as_of) before its offer is stale."
    )


class OfferKpisOut(Schema):
    """An offer's cost KPIs: USD per token / million tokens / GFLOP / TFLOP-hour."""

    tokens_per_second: float | None = Field(
        description="Output tokens/s of all replicas for cost_basis, at the serving batch."
    )
    cost_per_token: float | None
    cost_per_million_tokens: float | None
    cost_per_gflop: float | None
    cost_per_tflop_hour: float | None


class OfferDetailOut(OfferOut):
    """GET /providers/offers/{id}: the listing's keys, every stored column, KPIs, freshness."""

    external_id: str
    gpu_name_raw: str | None
    storage_type: str | None
    network_speed_gbps: float | None
    interconnect: str | None
    reliability: float | None
    created_at: datetime
    last_seen_at: datetime | None
    kpis: OfferKpisOut
    provider_freshness: ProviderFreshnessOut


class HistoryQueryIn(Schema):
    """Query of the history endpoint: the window."""

    window: Literal["24h", "7d", "30d"] = "24h"


class PricePointOut(Schema):
    """One observation: when, the prices (USD/hour) and availability then."""

    timestamp: datetime
    price_per_hour: float
    availability: str | None
    spot_price_per_hour: float | None = Field(
        None, description="The spot price then; null when none was offered."
    )


class PriceStatisticsOut(Schema):
    """Statistics over the window's prices (USD/hour)."""

    count: int
    min: float | None
    max: float | None
    mean: float | None
    p50: float | None
    p95: float | None
    stdev: float | None
    volatility: float | None = Field(description="stdev / mean (coefficient of variation).")


class OfferHistoryOut(Schema):
    """GET /providers/offers/{id}/history: points and statistics (also flat, as v1 had them)."""

    offer_id: UUID
    window: str
    start: datetime
    end: datetime
    points: list[PricePointOut]
    min: float | None
    max: float | None
    mean: float | None
    p50: float | None
    p95: float | None
    volatility: float | None
    statistics: PriceStatisticsOut
    spot_statistics: PriceStatisticsOut = Field(
        description="The same statistics over the spot prices of the window."
    )
