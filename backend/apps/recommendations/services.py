"""Recommendations: rank candidate offers for a workload, and train the ALS model behind them.

`offers_recommend` combines TOPSIS, collaborative (ALS, else popularity) and content-based
scores (`algorithms.ensemble`); `recommender_train` fits implicit ALS on the recorded
interactions. Both take plain values and dataclasses; the HTTP face is `/math/ensemble-recommend`
(apps.math_core). Every `AlgorithmInputError` becomes a 400 naming the request field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from uuid import UUID

from django.db import transaction

from algorithms.collaborative import (
    DEFAULT_ALPHA,
    DEFAULT_FACTORS,
    DEFAULT_ITERATIONS,
    DEFAULT_REGULARIZATION,
    AlsModel,
    popularity_scores,
    train_als,
)
from algorithms.content_based import OfferFeatures, WorkloadProfile
from algorithms.ensemble import DEFAULT_WEIGHTS, ScoreBreakdown, ensemble_recommend
from algorithms.errors import AlgorithmInputError
from apps.auth_app.models import User
from apps.gpus.catalogue import GpuModel, gpu_by_model
from apps.gpus.selectors import gpu_resolve_or_bad_request
from apps.providers.models import GPUOffer
from apps.providers.selectors.offers import offers_by_ids
from apps.recommendations.models import InteractionKind, RecommenderModel, UserOfferInteraction
from apps.recommendations.selectors import (
    INTERACTION_KIND_WEIGHTS,
    interaction_count_for_user,
    interaction_rows,
    interaction_totals_by_offer,
    recommender_model_artefact,
    recommender_model_latest_id,
)
from gpubroker.core.errors import Forbidden, algorithm_input_errors, field_error


@dataclass(frozen=True)
class InlineOffer:
    """A candidate offer not (or not yet) in gpu_offers; missing figures come from its GPU.

    Attributes:
        price_per_hour: The whole instance's price, USD/hour.
        offer_id: The caller's own label, echoed back.
        gpu_type: Any name of a catalogue GPU (needed when a figure below is missing).
        gpu_count: GPUs in the instance.
        vram_gb: Total VRAM over the GPUs, GB.
        tflops: Total dense fp16 TFLOPS.
        memory_bandwidth_gbps: Total memory bandwidth, GB/s.
        reliability: 0..1, None when unknown.
    """

    price_per_hour: float
    offer_id: str | None = None
    gpu_type: str | None = None
    gpu_count: int = 1
    vram_gb: float | None = None
    tflops: float | None = None
    memory_bandwidth_gbps: float | None = None
    reliability: float | None = None


@dataclass(frozen=True)
class _Candidate:
    offer_id: str | None
    gpu_model: str | None
    gpu_count: int
    features: OfferFeatures


@dataclass(frozen=True)
class RecommendedOffer:
    """One ranked candidate: its index in the request, GPU, price (USD/hour) and scores."""

    offer_id: str | None
    candidate_index: int
    gpu_model: str | None
    gpu_count: int
    price_per_hour: float
    ensemble_score: float
    score_breakdown: ScoreBreakdown


@dataclass(frozen=True)
class EnsembleRecommendation:
    """`offers_recommend`'s answer: ranked offers, contributions, confidence and fallback notes."""

    recommendations: list[RecommendedOffer]
    algorithm_contributions: dict[str, float]
    confidence: float
    collaborative_source: str | None
    fallback: str | None
    notes: list[str] = field(default_factory=list)


# Offers whose provider reports no reliability get the mean of the candidates that do; with no
# reliability at all every candidate gets this neutral midpoint (a constant column ranks nothing).
NEUTRAL_RELIABILITY = 0.5


def _spec_total(
    given: float | None,
    gpu: GpuModel | None,
    spec_value: float | None,
    count: int,
    field_name: str,
) -> float:
    if given is not None:
        return given
    if spec_value is not None:
        return spec_value * count
    if gpu is None:
        raise field_error(field_name, "is missing and no known gpu_type to take it from")
    raise field_error(field_name, f"is missing and {gpu.gpu_model} has no such figure")


def _inline_candidate(index: int, offer: InlineOffer) -> tuple[_Candidate, float | None]:
    prefix = f"candidate_offers[{index}]"
    gpu = None
    if offer.gpu_type is not None:
        gpu = gpu_resolve_or_bad_request(name=offer.gpu_type, field_name=f"{prefix}.gpu_type").gpu
    count = offer.gpu_count
    features = OfferFeatures(
        price_per_hour=offer.price_per_hour,
        vram_gb=_spec_total(
            offer.vram_gb,
            gpu,
            None if gpu is None else float(gpu.vram_gb),
            count,
            f"{prefix}.vram_gb",
        ),
        tflops=_spec_total(
            offer.tflops,
            gpu,
            None if gpu is None else gpu.tflops_fp16,
            count,
            f"{prefix}.tflops",
        ),
        memory_bandwidth_gbps=_spec_total(
            offer.memory_bandwidth_gbps,
            gpu,
            None if gpu is None else gpu.memory_bandwidth_gbps,
            count,
            f"{prefix}.memory_bandwidth_gbps",
        ),
        reliability=offer.reliability if offer.reliability is not None else NEUTRAL_RELIABILITY,
    )
    gpu_model = None if gpu is None else gpu.gpu_model
    return _Candidate(offer.offer_id, gpu_model, count, features), offer.reliability


def _stored_candidate(index: int, offer: GPUOffer) -> tuple[_Candidate, float | None]:
    prefix = f"candidate_offers[{index}]"
    gpu = gpu_by_model(offer.gpu_model) if offer.gpu_model else None
    if gpu is None:
        raise field_error(
            prefix,
            f"offer {offer.id} has no canonical GPU model (quarantined), so its TFLOPS and "
            "bandwidth are unknown; send it inline with those figures",
        )
    price = float(offer.price_per_hour)
    if not price > 0:
        raise field_error(f"{prefix}.price_per_hour", f"offer {offer.id} has no positive price")
    count = offer.gpu_count or 1
    reliability = offer.reliability
    if reliability is None and offer.provider.reliability_score is not None:
        reliability = offer.provider.reliability_score
    known = None if reliability is None else min(max(float(reliability), 0.0), 1.0)
    features = OfferFeatures(
        price_per_hour=price,
        vram_gb=float(gpu.vram_gb) * count,
        tflops=gpu.tflops_fp16 * count,
        memory_bandwidth_gbps=gpu.memory_bandwidth_gbps * count,
        reliability=known if known is not None else NEUTRAL_RELIABILITY,
    )
    return _Candidate(str(offer.id), gpu.gpu_model, count, features), known


def _candidates(candidate_offers: Sequence[UUID | InlineOffer]) -> list[_Candidate]:
    stored = offers_by_ids(offer_ids=[item for item in candidate_offers if isinstance(item, UUID)])
    built: list[tuple[_Candidate, float | None]] = []
    for index, item in enumerate(candidate_offers):
        if isinstance(item, UUID):
            offer = stored.get(item)
            if offer is None:
                raise field_error(f"candidate_offers[{index}]", f"unknown offer id {item}")
            built.append(_stored_candidate(index, offer))
        else:
            built.append(_inline_candidate(index, item))
    known = [reliability for _, reliability in built if reliability is not None]
    fill = sum(known) / len(known) if known else NEUTRAL_RELIABILITY
    return [
        candidate
        if reliability is not None
        else _Candidate(
            candidate.offer_id,
            candidate.gpu_model,
            candidate.gpu_count,
            OfferFeatures(
                price_per_hour=candidate.features.price_per_hour,
                vram_gb=candidate.features.vram_gb,
                tflops=candidate.features.tflops,
                memory_bandwidth_gbps=candidate.features.memory_bandwidth_gbps,
                reliability=fill,
            ),
        )
        for candidate, reliability in built
    ]


@lru_cache(maxsize=2)
def _als_model(model_id: int) -> AlsModel | None:
    """The deserialised model (cached per id: models are immutable once stored)."""
    artefact = recommender_model_artefact(model_id=model_id)
    if artefact is None:
        return None
    try:
        return AlsModel.from_bytes(artefact)
    except AlgorithmInputError:
        return None


def _collaborative(
    user_id: UUID | None, item_keys: list[str | None], notes: list[str]
) -> tuple[list[float] | None, str]:
    """(scores per candidate or None, source) with the reason appended to ``notes``."""
    keys = [key or "" for key in item_keys]
    if user_id is not None:
        model_id = recommender_model_latest_id()
        model = None if model_id is None else _als_model(model_id)
        scores = None if model is None else model.score(str(user_id), keys)
        if scores is not None:
            notes.append(f"Collaborative scores from ALS model #{model_id} for this user.")
            return [float(score) for score in scores], "als"
        history = interaction_count_for_user(user_id=user_id)
        if model is None:
            notes.append("No trained recommender model (run train_recommender); using popularity.")
        elif history:
            notes.append(
                f"The user has {history} interactions newer than the latest model; using "
                "popularity until train_recommender runs again."
            )
        else:
            notes.append("The user has no interaction history; using popularity.")
    else:
        notes.append("No user_id; collaborative scores use popularity.")
    offer_ids = []
    for key in item_keys:
        try:
            offer_ids.append(UUID(key or ""))
        except ValueError:
            continue
    totals = interaction_totals_by_offer(offer_ids=offer_ids)
    if not any(totals.get(key, 0.0) > 0 for key in keys):
        notes.append("No candidate has recorded interactions, so popularity is unavailable.")
        return None, "popularity"
    interactions = [("all", key, total) for key, total in totals.items()]
    return [float(score) for score in popularity_scores(interactions, keys)], "popularity"


def offers_recommend(
    *,
    candidate_offers: Sequence[UUID | InlineOffer],
    workload_profile: WorkloadProfile,
    top_k: int,
    user_id: UUID | None = None,
    weights: tuple[float, float, float] | None = None,
    requester_id: UUID | None = None,
    requester_is_staff: bool = False,
) -> EnsembleRecommendation:
    """Rank candidate offers by TOPSIS + collaborative + content-based scores.

    `candidate_offers` are stored offer ids or `InlineOffer`s; `weights` are the (topsis,
    collaborative, content_based) shares (DEFAULT_WEIGHTS when None). Stored offers take their
    GPU figures from the catalogue x gpu_count; inline offers fill missing figures the same
    way. Collaborative scores come from the latest ALS model when the user is in it, else from
    popularity, else the signal is dropped; the response says which.

    Raises:
        Forbidden: an authenticated caller (`requester_id`) asks for another user_id without
            staff rights.
        BadRequest: naming the field, for an unknown offer id or GPU, a quarantined stored
            offer, a missing figure that no GPU spec supplies, or bad weights.
    """
    if requester_id is not None:
        if user_id is not None and user_id != requester_id and not requester_is_staff:
            raise Forbidden(
                "user_id: recommendations for another user need staff rights",
                details={"field": "user_id"},
            )
        user_id = user_id or requester_id
    requested = DEFAULT_WEIGHTS if weights is None else weights
    candidates = _candidates(candidate_offers)
    notes: list[str] = []
    user_scores, source = _collaborative(user_id, [c.offer_id for c in candidates], notes)
    with algorithm_input_errors({"offers": "candidate_offers"}):
        result = ensemble_recommend(
            offers=[candidate.features for candidate in candidates],
            workload=workload_profile,
            user_scores=user_scores,
            weights=requested,
            top_k=top_k,
            collaborative_source=source,
        )
    if result.algorithm_contributions["content_based"] == 0 and requested[2] > 0:
        notes.append("workload_profile names no feature, so content-based similarity is unused.")
    recommendations = [
        RecommendedOffer(
            offer_id=candidates[item.index].offer_id,
            candidate_index=item.index,
            gpu_model=candidates[item.index].gpu_model,
            gpu_count=candidates[item.index].gpu_count,
            price_per_hour=candidates[item.index].features.price_per_hour,
            ensemble_score=item.ensemble_score,
            score_breakdown=item.score_breakdown,
        )
        for item in result.recommendations
    ]
    return EnsembleRecommendation(
        recommendations=recommendations,
        algorithm_contributions=dict(result.algorithm_contributions),
        confidence=result.confidence,
        collaborative_source=None if user_scores is None else source,
        fallback=result.used_fallback,
        notes=notes,
    )


RECOMMENDER_MODELS_KEPT = 5  # older artefacts are deleted so nightly training stays bounded


@dataclass(frozen=True)
class RecommenderTrainResult:
    """The stored model's id (None when nothing was trained) and what it was trained on."""

    model_id: int | None
    interaction_count: int
    skipped_count: int
    user_count: int
    item_count: int


def recommender_train(
    *,
    factors: int = DEFAULT_FACTORS,
    iterations: int = DEFAULT_ITERATIONS,
    regularization: float = DEFAULT_REGULARIZATION,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> RecommenderTrainResult:
    """Train implicit ALS on every user-offer interaction and store it as a RecommenderModel.

    Effective weight = INTERACTION_KIND_WEIGHTS[kind] x the row's stored weight (1 by default).
    Rows with an unknown kind or a negative/non-finite weight are skipped and counted. With no
    usable interaction nothing is stored (model_id None). Keeps the newest
    RECOMMENDER_MODELS_KEPT models.
    """
    interactions: list[tuple[str, str, float]] = []
    skipped = 0
    for user_key, offer_key, kind, stored_weight in interaction_rows():
        kind_weight = INTERACTION_KIND_WEIGHTS.get(kind)
        weight = 1.0 if stored_weight is None else float(stored_weight)
        if kind_weight is None or not math.isfinite(weight) or weight <= 0:
            skipped += 1
            continue
        interactions.append((user_key, offer_key, kind_weight * weight))
    if not interactions:
        return RecommenderTrainResult(None, 0, skipped, 0, 0)
    parameters = {
        "factors": factors,
        "iterations": iterations,
        "regularization": regularization,
        "alpha": alpha,
        "seed": seed,
        "kind_weights": dict(INTERACTION_KIND_WEIGHTS),
    }
    model = train_als(
        interactions,
        factors=factors,
        iterations=iterations,
        regularization=regularization,
        alpha=alpha,
        seed=seed,
    )
    with transaction.atomic():
        row = RecommenderModel.objects.create(
            algorithm="implicit_als",
            parameters=parameters,
            user_count=len(model.user_keys),
            item_count=len(model.item_keys),
            interaction_count=len(interactions),
            artefact=model.to_bytes(),
        )
        keep = RecommenderModel.objects.order_by("-trained_at", "-id").values_list("id", flat=True)[
            :RECOMMENDER_MODELS_KEPT
        ]
        RecommenderModel.objects.exclude(id__in=list(keep)).delete()
    return RecommenderTrainResult(
        model_id=row.id,
        interaction_count=len(interactions),
        skipped_count=skipped,
        user_count=len(model.user_keys),
        item_count=len(model.item_keys),
    )


# Implicit-feedback weight stored for a booking (views 1, selections 3); the kind's own weight
# in INTERACTION_KIND_WEIGHTS multiplies it at training time.
BOOKING_INTERACTION_WEIGHT = 10.0


def interaction_record_booking(*, user: User, offer: GPUOffer, **_signal: object) -> None:
    """Record a booking as a `book` interaction; the receiver of `providers.signals.offer_booked`.

    Runs inside the booking's transaction, so the row exists exactly when the booking does.
    """
    UserOfferInteraction.objects.create(
        user=user, offer=offer, kind=InteractionKind.BOOK, weight=BOOKING_INTERACTION_WEIGHT
    )
