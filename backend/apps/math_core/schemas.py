"""Request and response schemas of the math endpoints (SPEC.md, "/math/*").

Numbers are strict: a JSON string such as "1.5" or a boolean is a 422, not silently coerced, and
NaN/Infinity (Python's JSON parser accepts the tokens, and 1e309 overflows to inf) are rejected
by ``allow_inf_nan=False``. Range and type violations are 422 VALIDATION_ERROR; domain
rejections (unknown GPU or model, a model that does not fit, a bad TOPSIS matrix) are 400
BAD_REQUEST raised by the services. Both envelopes name the field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator, StrictInt

from algorithms.ensemble import MAX_TOP_K
from algorithms.kpi import MAX_GPU_COUNT


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# Upper bounds keep every derived figure finite (1e308 per hour would overflow the per-million
# cost to inf, which JSON cannot carry) while staying far above any real offer or workload.
MAX_PRICE_PER_HOUR = 1_000_000.0
MAX_FIGURE = 1e9  # GB, TFLOPS, GB/s totals of one offer
MAX_QUANTITY = 1e15
MIN_DURATION_HOURS = 0.001  # 3.6 s
MAX_DURATION_HOURS = 87_600.0  # ten years

FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Price = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_PRICE_PER_HOUR)]
Figure = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_FIGURE)]
Weight = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
Fraction = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
GpuCount = Annotated[StrictInt, Field(ge=1, le=MAX_GPU_COUNT)]
GpuName = Annotated[str, Field(min_length=1, max_length=200)]
# Weight formats the throughput model knows (kpi.PRECISION_BYTES).
WeightPrecision = Annotated[
    Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"], BeforeValidator(_lower)
]
# Formats with a datasheet compute rate (GpuModel.peak_tflops).
ComputePrecision = Annotated[
    Literal["fp32", "fp16", "bf16", "fp8", "int8"], BeforeValidator(_lower)
]

# Hard cap on candidates: each one is a row of the ensemble's TOPSIS and one database id.
MAX_CANDIDATE_OFFERS = 1_000


# -- cost per token ---------------------------------------------------------------------------


class CostPerTokenIn(Schema):
    """POST /math/cost-per-token: a price (USD/hour, whole instance), a GPU and a model size."""

    price_per_hour: Price = Field(
        ..., description="Price of the whole instance (all gpu_count GPUs) per hour."
    )
    gpu_type: GpuName = Field(..., description="Canonical GPU name or a provider alias.")
    model_size: str = Field(
        "7b", min_length=1, max_length=32, description="Parameters: '7b', '70b', '405b', '8x7b'."
    )
    precision: WeightPrecision | None = Field(None, description="Weight format; fp16 when omitted.")
    gpu_count: GpuCount = 1


class CostPerTokenDetails(Schema):
    """How the figure was computed: the throughput model's inputs, bounds and confidence notes."""

    method: Literal["throughput_model"]
    formula: str
    gpu_model: str
    gpu_resolved_from: str
    used_default_form_factor: bool
    model_size: str
    params_billion: float
    precision: str
    precision_assumed: bool
    bytes_per_param: float
    weights_gb: float
    gpu_count: int
    gpus_needed: int
    memory_bandwidth_gbps: float
    dense_tflops: float
    compute_precision: str
    efficiency: float
    batch_size: int
    memory_bound_tokens_per_second: float
    compute_bound_tokens_per_second: float
    limited_by: Literal["memory_bandwidth", "compute"]
    confidence_notes: list[str]


class CostPerTokenOut(Schema):
    """Cost per token (USD), per million tokens (USD), tokens/s and a 0..1 confidence."""

    cost_per_token: float
    cost_per_million_tokens: float
    tokens_per_second: float
    confidence: float
    calculation_details: CostPerTokenDetails


# -- cost per GFLOP ---------------------------------------------------------------------------


class CostPerGflopIn(Schema):
    """POST /math/cost-per-gflop: a price (USD/hour, whole instance), a GPU and a precision."""

    price_per_hour: Price = Field(
        ..., description="Price of the whole instance (all gpu_count GPUs) per hour."
    )
    gpu_type: GpuName
    precision: ComputePrecision = "fp32"
    gpu_count: GpuCount = 1


class CostPerGflopOut(Schema):
    """USD per GFLOP and per TFLOP-hour at the dense peak, with the TFLOPS used."""

    cost_per_gflop: float
    cost_per_tflop_hour: float
    gpu_tflops: float = Field(..., description="Dense peak of one GPU (TOPS for int8).")
    total_tflops: float = Field(..., description="gpu_tflops x gpu_count.")
    gpu_model: str
    precision: str
    gpu_count: int
    confidence: float


# -- TOPSIS -----------------------------------------------------------------------------------


class TopsisIn(Schema):
    """POST /math/topsis: a decision matrix, weights summing to 1 and a type per criterion."""

    decision_matrix: list[list[FiniteNumber]] = Field(
        ..., description="Rows are alternatives, columns criteria."
    )
    weights: list[FiniteNumber]
    criteria_types: list[str] = Field(..., description="'benefit' or 'cost' per column.")


class TopsisOut(Schema):
    """Rankings, closeness scores and the ideal / anti-ideal points."""

    rankings: list[int] = Field(..., description="Row indices, best first; ties: lower first.")
    scores: list[float] = Field(..., description="Closeness per row, in input order.")
    ideal_solution: list[float]
    anti_ideal_solution: list[float]


# -- ensemble recommendation ------------------------------------------------------------------


class WorkloadProfileIn(Schema):
    """What the workload wants; omitted features are ignored by the content-based signal."""

    price_per_hour: Price | None = None
    vram_gb: Figure | None = None
    tflops: Figure | None = None
    memory_bandwidth_gbps: Figure | None = None
    reliability: Fraction | None = None


class InlineOfferIn(Schema):
    """An offer not (or not yet) in gpu_offers. Missing figures come from the GPU's specs."""

    offer_id: str | None = Field(None, max_length=100)
    gpu_type: GpuName | None = None
    gpu_count: GpuCount = 1
    price_per_hour: Price = Field(..., description="Whole instance, per hour.")
    vram_gb: Figure | None = Field(None, description="Total over the offer's GPUs.")
    tflops: Figure | None = Field(None, description="Total dense fp16 TFLOPS.")
    memory_bandwidth_gbps: Figure | None = Field(None, description="Total GB/s.")
    reliability: Fraction | None = None


class EnsembleWeightsIn(Schema):
    """Shares of the three signals in the ensemble score; they must sum to 1."""

    topsis: Weight
    collaborative: Weight
    content_based: Weight


class EnsembleRecommendIn(Schema):
    """POST /math/ensemble-recommend: candidates (offer ids or inline offers), a profile, top_k."""

    user_id: UUID | None = None
    workload_profile: WorkloadProfileIn = Field(default_factory=WorkloadProfileIn)
    candidate_offers: list[UUID | InlineOfferIn] = Field(
        ..., min_length=1, max_length=MAX_CANDIDATE_OFFERS
    )
    top_k: Annotated[StrictInt, Field(ge=1, le=MAX_TOP_K)] = 10
    weights: EnsembleWeightsIn | None = None


class ScoreBreakdownOut(Schema):
    """Each signal's 0..1 score for one offer (None when the signal was not used)."""

    topsis: float
    collaborative: float | None
    content_based: float | None


class RecommendationOut(Schema):
    """One ranked offer: its index in the request, GPU, price (USD/hour) and scores."""

    offer_id: str | None
    candidate_index: int
    gpu_model: str | None
    gpu_count: int
    price_per_hour: float
    ensemble_score: float
    score_breakdown: ScoreBreakdownOut


class AlgorithmContributionsOut(Schema):
    """The weight each signal actually had (a missing signal's share is redistributed)."""

    topsis: float
    collaborative: float
    content_based: float


class EnsembleRecommendOut(Schema):
    """The ranked offers, the contributions, a 0..1 confidence and notes on the fallbacks taken."""

    recommendations: list[RecommendationOut]
    algorithm_contributions: AlgorithmContributionsOut
    confidence: float
    collaborative_source: Literal["als", "popularity"] | None
    fallback: Literal["popularity", "collaborative_unavailable"] | None
    notes: list[str]


# -- workload estimation ----------------------------------------------------------------------


class EstimateWorkloadIn(Schema):
    """POST /math/estimate-workload: a workload type, quantity, duration (hours) and quality."""

    workload_type: str = Field(..., min_length=1, max_length=64)
    quantity: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_QUANTITY)] = (
        Field(..., description="Units per workload_type (tokens, images, minutes, GB).")
    )
    duration_hours: Annotated[
        float,
        Field(strict=True, allow_inf_nan=False, ge=MIN_DURATION_HOURS, le=MAX_DURATION_HOURS),
    ]
    quality: str = Field("medium", min_length=1, max_length=16)
    model_name: str | None = Field(None, min_length=1, max_length=200)


class PriceRangeOut(Schema):
    """A (min, max) cost in `currency`."""

    min: float
    max: float
    currency: str


class GpuTierOut(Schema):
    """One way to run the workload: GPUs needed, throughput and cost over the duration."""

    gpu_model: str
    gpus_needed: int
    est_throughput: float
    throughput_unit: str
    est_cost_range: PriceRangeOut | None


class EstimateWorkloadOut(Schema):
    """VRAM (GB) needed, GPU tiers, cost range, a 0..1 confidence and the reasoning."""

    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: list[GpuTierOut]
    estimated_cost_range: PriceRangeOut | None
    confidence: float
    reasoning: list[str]


# -- benchmarks -------------------------------------------------------------------------------


class GpuBenchmarkOut(Schema):
    """One gpu_benchmarks row: datasheet figures (dense), derived throughput and its source."""

    gpu_model: str
    family: str
    variant: str | None
    vendor: str
    architecture: str
    vram_gb: float
    memory_bandwidth_gbps: float | None
    tflops_fp32: float | None
    tflops_fp16: float | None
    tflops_bf16: float | None
    tflops_fp8: float | None
    tops_int8: float | None
    tdp_watts: float | None
    tokens_per_second_7b: float | None
    tokens_per_second_13b: float | None
    tokens_per_second_70b: float | None
    image_gen_per_minute: float | None
    aliases: list[str]
    throughput_model: str
    source: str
    verified_at: date | None


class GpuBenchmarkListOut(Schema):
    """Every loaded spec."""

    total: int
    items: list[GpuBenchmarkOut]
