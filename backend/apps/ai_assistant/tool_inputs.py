"""Input models of the assistant's tools: one Pydantic model per tool.

Its JSON Schema is the tool's `parameters` for LLM function calling, `GET /ai/tools` and MCP.

Arguments are validated as JSON in strict mode (a string "10" is not the number 10, a UUID is
a string) and unknown keys are refused, so a model that sends the wrong shape gets a precise
tool error back instead of a silent guess.
Units: prices in USD per hour for the whole instance, memory in GB, durations in hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
WeightFormat = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]

MAX_SEARCH_RESULTS = 20
MAX_COUNTRIES = 30
MAX_CANDIDATES = 100
MAX_PRICE_PER_HOUR = 100_000.0


@dataclass(frozen=True)
class ToolCaller:
    """Who runs a tool: a signed-in user (REST chat, MCP with a token) or anonymous (MCP)."""

    user_id: UUID | None = None
    is_staff: bool = False


class ToolInput(BaseModel):
    """Base of the tools' inputs: strict JSON types, unknown keys refused, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SearchOffersIn(ToolInput):
    """Filters of the offer listing (GET /api/v2/providers), combined with AND."""

    gpu: Text | None = Field(
        None, description="GPU name or part of it, any spelling: 'H100', 'A100 80GB', 'RTX 4090'."
    )
    region: Text | None = Field(
        None, description="A provider region or an ISO 3166 country code, exact: 'DE', 'us-east-1'."
    )
    countries: list[CountryCode] | None = Field(
        None,
        max_length=MAX_COUNTRIES,
        description="Any of these ISO 3166-1 alpha-2 country codes (e.g. the EU's members).",
    )
    provider: Text | None = Field(None, description="Provider name, e.g. 'runpod', 'vastai'.")
    availability: Literal["available", "limited", "unavailable"] | None = "available"
    gpu_memory_min: Annotated[int, Field(ge=0, le=10_000)] | None = Field(
        None, description="Minimum memory of each GPU, GB."
    )
    gpu_count_min: Annotated[int, Field(ge=1, le=1_024)] | None = Field(
        None, description="Minimum number of GPUs in the instance."
    )
    gpu_memory_total_min: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="Minimum GPU memory of the whole instance (per GPU x GPUs), GB."
    )
    max_price: Annotated[float, Field(gt=0, le=MAX_PRICE_PER_HOUR, allow_inf_nan=False)] | None = (
        Field(None, description="Maximum price of the whole instance, USD per hour.")
    )
    spot: bool | None = Field(
        None,
        description="true: offers that can also be rented as spot (interruptible); false: "
        "offers with no spot option. Leave out for on-demand: every offer can be rented "
        "on-demand and price_per_hour is always the on-demand price.",
    )
    sort: Literal["price", "-price", "gpu_memory", "cost_per_token", "updated"] = "price"
    limit: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS)] = 10


WorkloadKind = Literal[
    "inference",
    "batch",
    "training",
    "fine_tuning",
    "image_generation",
    "video_processing",
    "data_processing",
]


class EstimateWorkloadIn(ToolInput):
    """A workload to size: memory, GPUs per model and what it would cost."""

    workload_type: WorkloadKind = "inference"
    model_name: Text | None = Field(
        None, description="Model by name: 'Llama 3 70B', 'meta-llama/Llama-3.1-8B', 'SDXL'."
    )
    params_billion: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] | None = Field(
        None, description="Parameters in billions, for a model without a known name."
    )
    precision: WeightFormat | None = Field(None, description="Weight format; fp16 when omitted.")
    context_length: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        None, description="Tokens of prompt plus output per sequence."
    )
    tokens_per_second: PositiveNumber | None = Field(None, description="Output tokens per second.")
    requests_per_second: PositiveNumber | None = None
    output_tokens_per_request: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        256, description="Average output tokens per request (with requests_per_second)."
    )
    concurrency: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="Sequences served at the same time."
    )
    quantity: PositiveNumber | None = Field(
        None,
        description="Total work: output tokens (inference), training tokens (training, "
        "fine_tuning), images, minutes of video or GB of data.",
    )
    duration_hours: Annotated[float, Field(ge=0.001, le=87_600, allow_inf_nan=False)] | None = (
        Field(None, description="Deadline for `quantity`, hours.")
    )


class RecommendOffersIn(ToolInput):
    """Rank offers (from search_offers) for a workload: TOPSIS + collaborative + content-based."""

    offer_ids: list[UUID] = Field(..., min_length=1, max_length=MAX_CANDIDATES)
    min_vram_gb: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)] | None = Field(
        None, description="GPU memory the workload needs over the whole instance, GB."
    )
    max_price_per_hour: Annotated[float, Field(gt=0, le=MAX_PRICE_PER_HOUR)] | None = Field(
        None, description="Budget for the whole instance, USD per hour."
    )
    top_k: Annotated[int, Field(ge=1, le=10)] = 3


class GetGpuSpecsIn(ToolInput):
    """One GPU by any of its names."""

    gpu: Text = Field(..., description="GPU name or alias: 'H100', 'A100 SXM 80GB', 'RTX 4090'.")


class GetPriceHistoryIn(ToolInput):
    """One offer's price history over a window."""

    offer_id: UUID
    window: Literal["24h", "7d", "30d"] = "7d"


class CostPerTokenIn(ToolInput):
    """Cost of generated tokens on one offer (offer_id) or on a GPU at a price you give."""

    model_size: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        ..., description="Parameters: '7b', '70b', '8x7b'."
    )
    precision: WeightFormat | None = Field(None, description="Weight format; fp16 when omitted.")
    offer_id: UUID | None = Field(None, description="An offer from search_offers.")
    gpu_type: Text | None = Field(None, description="Without offer_id: the GPU.")
    price_per_hour: Annotated[float, Field(gt=0, le=MAX_PRICE_PER_HOUR)] | None = Field(
        None, description="Without offer_id: the instance price, USD per hour."
    )
    gpu_count: Annotated[int, Field(ge=1, le=1_024)] = 1

    @model_validator(mode="after")
    def _one_source(self) -> CostPerTokenIn:
        if self.offer_id is None and (self.gpu_type is None or self.price_per_hour is None):
            raise ValueError("give offer_id, or gpu_type and price_per_hour")
        return self
