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
from pydantic import BeforeValidator, ConfigDict, StrictInt

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
MAX_TOKENS = 10_000_000  # tokens of one request (prompt, output, context)
MAX_RATE = 1e10  # requests/s, tokens/s, milliseconds: far above any deployment

FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Price = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_PRICE_PER_HOUR)]
Figure = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_FIGURE)]
Weight = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
Fraction = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
GpuCount = Annotated[StrictInt, Field(ge=1, le=MAX_GPU_COUNT)]
GpuName = Annotated[str, Field(min_length=1, max_length=200)]
PositiveRate = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_RATE)]
# Weight formats the serving model knows (precision.BYTES_PER_WEIGHT).
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

TokenCount = Annotated[StrictInt, Field(ge=0, le=MAX_TOKENS)]
OutputTokens = Annotated[StrictInt, Field(ge=1, le=MAX_TOKENS)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
KvPrecision = Annotated[Literal["fp32", "fp16", "bf16", "fp8"], BeforeValidator(_lower)]


class CalculatorIn(Schema):
    """A calculator's body: a key it does not know is a 422 naming it, never ignored.

    A typo (`gpu_cout` for `gpu_count`) was answered 200 with the default in its place, a
    wrong number with no word said.
    """

    model_config = ConfigDict(extra="forbid")


class CostPerTokenIn(CalculatorIn):
    """POST /math/cost-per-token: a price (USD/hour, whole instance), a GPU and a model.

    v1's body (`price_per_hour, gpu_type, model_size`) works as before; `model` names a model
    instead of a size.
    """

    price_per_hour: Price = Field(
        ..., description="Price of the whole instance (all gpu_count GPUs) per hour."
    )
    gpu_type: GpuName = Field(..., description="Canonical GPU name or a provider alias.")
    model_size: str = Field(
        "7b",
        min_length=1,
        max_length=32,
        description="Parameters: '7b', '70b', '405b', '8x7b' (a Llama-style shape is estimated).",
    )
    model: ModelName | None = Field(
        None, description="A model by name (llama-3.3-70b, Qwen/Qwen2.5-72B, ...); wins."
    )
    precision: WeightPrecision | None = Field(None, description="Weight format; fp16 when omitted.")
    kv_cache_precision: KvPrecision = "fp16"
    gpu_count: GpuCount = Field(
        1,
        description="GPUs in the instance; when omitted, the count gpu_type states"
        " ('8x H100', 'H100:8'), else 1.",
    )
    prompt_tokens: TokenCount = Field(500, description="Average prompt of a request.")
    output_tokens: OutputTokens = Field(200, description="Average output of a request.")
    context_tokens: OutputTokens | None = Field(
        None, description="Longest sequence to hold; prompt + output when omitted."
    )


class CostBasisOut(Schema):
    """What a cost per token assumes."""

    model: str
    precision: str
    batch: int | None = Field(description="Sequences per replica (the serving batch).")
    prompt_tokens: int
    output_tokens: int


class WorkingStepOut(Schema):
    """One figure of the working: where it comes from and its unit."""

    name: str
    value: float | str
    unit: str
    kind: Literal["input", "assumed", "spec", "measured", "estimate", "derived"]
    note: str


class CostPerTokenDetails(Schema):
    """How the figure was computed: v1's keys, then the serving model's inputs and figures.

    v1's keys: price_per_hour, gpu_type, model_size, tokens_per_hour, formula.
    """

    price_per_hour: float
    gpu_type: str
    model_size: str
    tokens_per_hour: float
    formula: str
    method: Literal["serving_model"]
    gpu_model: str
    gpu_resolved_from: str
    used_default_form_factor: bool
    model: str
    model_estimated: bool
    params_billion: float
    active_params_billion: float
    precision: str
    precision_assumed: bool
    kv_cache_precision: str
    compute_format: str
    compute_note: str
    gpu_count: int
    gpus_per_replica: int
    tensor_parallel: int
    replicas: int
    serving_batch: int
    batch_limit: str
    prompt_tokens: int
    output_tokens: int
    tokens_per_second_batch_1: float
    inter_token_latency_ms: float
    time_to_first_token_ms: float
    interconnect: str
    confidence_notes: list[str]


class CostPerTokenOut(Schema):
    """USD per output token and per million at the serving batch (and per million at batch 1)."""

    cost_per_token: float = Field(description="USD per output token, serving batch, full load.")
    cost_per_million_tokens: float = Field(description="The same per million output tokens.")
    cost_per_million_tokens_batch_1: float = Field(
        description="USD per million output tokens serving one request at a time (v1's figure)."
    )
    tokens_per_second: float = Field(description="Output tokens/s of all replicas.")
    confidence: float
    cost_basis: CostBasisOut
    calculation_details: CostPerTokenDetails
    warnings: list[str]
    working: list[WorkingStepOut]


# -- cost per GFLOP ---------------------------------------------------------------------------


class CostPerGflopIn(CalculatorIn):
    """POST /math/cost-per-gflop: a price (USD/hour, whole instance), a GPU and a precision."""

    price_per_hour: Price = Field(
        ..., description="Price of the whole instance (all gpu_count GPUs) per hour."
    )
    gpu_type: GpuName
    precision: ComputePrecision = "fp32"
    gpu_count: GpuCount = Field(
        1,
        description="GPUs in the instance; when omitted, the count gpu_type states"
        " ('8x H100', 'H100:8'), else 1.",
    )


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


class TopsisIn(CalculatorIn):
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


class EstimateWorkloadIn(CalculatorIn):
    """POST /math/estimate-workload: v1's body, plus the serving model's optional inputs.

    v1: `workload_type`, `quantity` (units per workload_type) within `duration_hours`, `quality`
    (low, medium, standard, high; v1's default standard = fp16 weights). For llm_inference the
    demand may instead be one of `requests_per_second`, `output_tokens_per_second` or
    `concurrency` (then `quantity` is left out and `duration_hours`, if given, is the window
    the cost range covers).
    """

    workload_type: str = Field(..., min_length=1, max_length=64)
    quantity: (
        Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_QUANTITY)] | None
    ) = Field(None, description="Units per workload_type (tokens, images, minutes, GB).")
    duration_hours: (
        Annotated[
            float,
            Field(strict=True, allow_inf_nan=False, ge=MIN_DURATION_HOURS, le=MAX_DURATION_HOURS),
        ]
        | None
    ) = None
    quality: str = Field("standard", min_length=1, max_length=16)
    model_name: ModelName | None = None
    precision: WeightPrecision | None = Field(
        None, description="LLM weight format; wins over quality."
    )
    kv_cache_precision: KvPrecision = "fp16"
    prompt_tokens: TokenCount = 500
    output_tokens: OutputTokens = 200
    context_tokens: OutputTokens | None = Field(
        None, description="Longest sequence to hold (prompt + output); e.g. 32768."
    )
    requests_per_second: PositiveRate | None = None
    output_tokens_per_second: PositiveRate | None = None
    concurrency: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None
    max_inter_token_latency_ms: PositiveRate | None = Field(
        None, description="Caps the serving batch so each user gets a token at least this often."
    )


class PriceRangeOut(Schema):
    """A (low, high) amount in `currency`; `min`/`max` repeat them (v2's first names)."""

    low: float
    high: float
    min: float
    max: float
    currency: str


class ServingOut(Schema):
    """An LLM tier's serving figures; costs at the cheapest offer price per GPU-hour."""

    model: str
    precision: str
    kv_cache_precision: str
    tensor_parallel: int
    pipeline_parallel: int
    gpus_per_replica: int
    replicas: int | None
    serving_batch: int
    batch_limit: str
    knee_batch: int
    replica_output_tokens_per_second: float
    replica_requests_per_second: float
    inter_token_latency_ms: float
    single_stream_ms_per_token: float
    time_to_first_token_ms: float
    utilisation: float | None
    gpu_hours_per_million_output_tokens: float
    usd_per_million_output_tokens: float | None = Field(
        description="At the serving batch, replicas fully loaded."
    )
    usd_per_million_output_tokens_batch_1: float | None = Field(
        description="One request at a time (no batching): what v1 reported."
    )
    deployment_usd_per_hour: float | None


class GpuTierOut(Schema):
    """One way to run the workload: GPUs needed, throughput, cost and the layout."""

    gpu_model: str
    gpus_needed: int
    est_throughput: float
    throughput_unit: str
    est_cost_range: PriceRangeOut | None
    gpus_per_replica: int
    tensor_parallel: int
    replicas: int
    price_per_gpu_hour: PriceRangeOut | None
    deployment_usd_per_hour: PriceRangeOut | None
    interconnect: str | None
    interconnect_advice: str
    warnings: list[str]
    serving: ServingOut | None


class OfferChoiceOut(Schema):
    """A current offer that runs a tier, and how many of it the deployment takes."""

    offer_id: str
    provider: str
    gpu: str
    gpu_count: int
    region: str
    price_per_hour: float
    price_per_gpu_hour: float
    replicas_per_offer: int
    offers_needed: int
    deployment_usd_per_hour: float


class EstimateWorkloadOut(Schema):
    """v1's keys, then the serving figures, the working and the cheapest offers.

    v1's keys: VRAM in GB, tiers, cost range, time per unit, confidence, reasoning.
    """

    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: list[GpuTierOut]
    estimated_cost_range: PriceRangeOut | None
    estimated_time_per_unit: float | None = Field(
        description="Seconds per unit (token, image, ...) on the first tier."
    )
    confidence: float
    reasoning: list[str]
    throughput_unit: str
    window_hours: float = Field(description="Hours the cost ranges cover.")
    serving: ServingOut | None
    working: list[WorkingStepOut]
    cheapest_offers: list[OfferChoiceOut]


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
