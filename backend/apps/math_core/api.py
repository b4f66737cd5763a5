"""Ninja router of the math_core app, mounted at /api/v2/math (SPEC.md "/math/*").

Every route takes an optional access token. Errors: 422 VALIDATION_ERROR for schema violations
(types, ranges, list sizes; strings and booleans are not numbers, NaN/inf are rejected), 400
BAD_REQUEST for domain rejections, 404 NOT_FOUND for an unknown GPU in a path; every envelope
names the field.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router

from algorithms.content_based import WorkloadProfile
from apps.auth_app.auth import OptionalJWTAuth
from apps.gpus import selectors as gpu_selectors
from apps.gpus.query import gpu_query
from apps.math_core import schemas
from apps.math_core.services import costs, ranking, workload
from apps.recommendations.services import EnsembleRecommendation, InlineOffer, offers_recommend
from gpubroker.core.schemas import responses

router = Router(tags=["math"], auth=OptionalJWTAuth())


@router.post(
    "/cost-per-token",
    response=responses(schemas.CostPerTokenOut, 400, 401, 422),
    summary="Cost per generated token on a GPU",
)
def calculate_cost_per_token(
    request: HttpRequest, payload: schemas.CostPerTokenIn
) -> costs.CostPerTokenResult:
    """Cost per output token of a model on GPUs at a price, at the serving batch and at batch 1.

    400 naming gpu_type, model / model_size (unknown, or does not fit) or a token count.
    """
    return costs.cost_per_token_calculate(
        price_per_hour=payload.price_per_hour,
        gpu_type=payload.gpu_type,
        model_size=payload.model_size,
        model=payload.model,
        precision=payload.precision,
        kv_cache_precision=payload.kv_cache_precision,
        gpu_count=_gpu_count(payload),
        prompt_tokens=payload.prompt_tokens,
        output_tokens=payload.output_tokens,
        context_tokens=payload.context_tokens,
    )


@router.post(
    "/cost-per-gflop",
    response=responses(schemas.CostPerGflopOut, 400, 401, 422),
    summary="Cost per GFLOP and per TFLOP-hour at a precision",
)
def calculate_cost_per_gflop(
    request: HttpRequest, payload: schemas.CostPerGflopIn
) -> costs.CostPerGflopResult:
    """Cost per GFLOP and per TFLOP-hour at a GPU's peak; 400 for an unknown GPU or precision."""
    return costs.cost_per_gflop_calculate(
        price_per_hour=payload.price_per_hour,
        gpu_type=payload.gpu_type,
        precision=payload.precision,
        gpu_count=_gpu_count(payload),
    )


def _gpu_count(payload: schemas.CostPerTokenIn | schemas.CostPerGflopIn) -> int:
    """`gpu_count` when sent, else the count `gpu_type` states ("8x H100", "H100:8"), else 1.

    A newcomer's "8x H100" priced the 8-GPU instance as one GPU, with no word said.
    """
    if "gpu_count" in payload.model_fields_set:
        return payload.gpu_count
    return gpu_query(payload.gpu_type).count or 1


@router.post(
    "/topsis",
    response=responses(schemas.TopsisOut, 400, 401, 422),
    summary="Rank alternatives with TOPSIS",
)
def rank_topsis(request: HttpRequest, payload: schemas.TopsisIn) -> ranking.TopsisRanking:
    """TOPSIS ranking of the alternatives; 400 naming the field for bad weights, shapes or types."""
    return ranking.topsis_rank(
        decision_matrix=payload.decision_matrix,
        weights=payload.weights,
        criteria_types=payload.criteria_types,
    )


@router.post(
    "/ensemble-recommend",
    response=responses(schemas.EnsembleRecommendOut, 400, 401, 403, 422),
    summary="Recommend offers: TOPSIS + collaborative filtering + content similarity",
)
def recommend_offers(
    request: HttpRequest, payload: schemas.EnsembleRecommendIn
) -> EnsembleRecommendation:
    """Rank candidate offers for a workload; 403 for another user's id without staff rights."""
    user = request.user
    weights = payload.weights
    return offers_recommend(
        candidate_offers=[
            item if isinstance(item, UUID) else InlineOffer(**item.model_dump())
            for item in payload.candidate_offers
        ],
        workload_profile=WorkloadProfile(**payload.workload_profile.model_dump()),
        top_k=payload.top_k,
        user_id=payload.user_id,
        weights=None
        if weights is None
        else (weights.topsis, weights.collaborative, weights.content_based),
        requester_id=user.pk if user.is_authenticated else None,
        requester_is_staff=bool(user.is_authenticated and user.is_staff),
    )


@router.post(
    "/estimate-workload",
    response=responses(schemas.EstimateWorkloadOut, 400, 401, 422),
    summary="Size a workload: GPUs, replicas, throughput, cost, working, cheapest offers",
)
def estimate_workload(
    request: HttpRequest, payload: schemas.EstimateWorkloadIn
) -> workload.WorkloadEstimateResult:
    """Size a workload over the catalogue GPUs, priced with current offers; 400 naming a field."""
    return workload.workload_estimate(request=workload.WorkloadRequest(**payload.model_dump()))


@router.get(
    "/benchmarks",
    response=responses(schemas.GpuBenchmarkListOut, 401),
    summary="All GPU specifications",
)
def list_benchmarks(request: HttpRequest) -> dict[str, Any]:
    """Every loaded GPU spec (gpu_benchmarks), by gpu_model."""
    items = list(gpu_selectors.gpu_benchmark_list())
    return {"total": len(items), "items": items}


@router.get(
    "/benchmarks/{path:gpu_type}",
    response=responses(schemas.GpuBenchmarkOut, 401, 404),
    summary="One GPU specification by canonical name or alias",
)
def get_benchmark(request: HttpRequest, gpu_type: str) -> Any:
    """One GPU spec by canonical name or alias; 404 when it resolves to none."""
    return gpu_selectors.gpu_benchmark_get(gpu_type=gpu_type)
