"""Ensemble recommendation: TOPSIS + collaborative filtering + content-based similarity.

Each signal is brought to [0, 1] (TOPSIS closeness already is; collaborative scores are min-max
scaled over the candidates; cosine similarity of non-negative vectors already is) and combined
with the requested weights. A signal that is unavailable contributes nothing and its weight is
shared among the others in proportion to their weights; ``algorithm_contributions`` reports the
weights really used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from algorithms._validation import (
    FloatArray,
    choice,
    float_array,
    int_in_range,
    weights_summing_to_one,
)
from algorithms.content_based import (
    FEATURES,
    OfferFeatures,
    WorkloadProfile,
    content_similarity,
    offer_matrix,
)
from algorithms.errors import AlgorithmInputError
from algorithms.topsis import topsis

ALGORITHMS = ("topsis", "collaborative", "content_based")
DEFAULT_WEIGHTS = (0.4, 0.3, 0.3)
MAX_TOP_K = 100
COLLABORATIVE_SOURCES = frozenset({"als", "popularity"})
# TOPSIS criteria over FEATURES: price matters most to a renter, then capability, then reliability.
TOPSIS_CRITERIA = MappingProxyType(
    {
        "price_per_hour": ("cost", 0.35),
        "vram_gb": ("benefit", 0.20),
        "tflops": ("benefit", 0.20),
        "memory_bandwidth_gbps": ("benefit", 0.10),
        "reliability": ("benefit", 0.15),
    }
)
# Neutral value for collaborative scores that are all equal: they order nothing.
NEUTRAL_SCORE = 0.5
# confidence = BASE + SPAN * (share of the requested weight served by its own algorithm);
# popularity serves the collaborative share at half strength since it is not personal.
CONFIDENCE_BASE = 0.5
CONFIDENCE_SPAN = 0.4
POPULARITY_STRENGTH = 0.5


@dataclass(frozen=True)
class ScoreBreakdown:
    """Each signal in [0, 1]; None when the signal was unavailable."""

    topsis: float
    collaborative: float | None
    content_based: float | None


@dataclass(frozen=True)
class Recommendation:
    """``index`` points into the ``offers`` sequence given to ensemble_recommend."""

    index: int
    ensemble_score: float
    score_breakdown: ScoreBreakdown


@dataclass(frozen=True)
class EnsembleResult:
    """Best ``top_k`` offers (score descending, lower index first on ties).

    ``used_fallback``: None, "popularity" (collaborative scores came from popularity, not the
    user's history) or "collaborative_unavailable" (no collaborative scores; weight shared out).
    """

    recommendations: tuple[Recommendation, ...]
    algorithm_contributions: Mapping[str, float]
    confidence: float
    used_fallback: str | None


def ensemble_recommend(
    *,
    offers: Sequence[OfferFeatures],
    workload: WorkloadProfile,
    user_scores: FloatArray | Sequence[float] | None,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
    top_k: int = 10,
    collaborative_source: str = "als",
) -> EnsembleResult:
    """Rank ``offers`` for ``workload``.

    ``user_scores``: one collaborative score per offer (AlsModel.score or popularity_scores), or
    None; ``collaborative_source`` says which ("als" or "popularity"). ``weights`` are for
    (topsis, collaborative, content_based) and must sum to 1. Raises AlgorithmInputError for no
    offers, top_k outside 1..MAX_TOP_K, bad weights or user_scores of the wrong length.
    """
    limit = int_in_range(top_k, "top_k", minimum=1, maximum=MAX_TOP_K)
    requested = weights_summing_to_one(weights, "weights", count=len(ALGORITHMS))
    source = choice(collaborative_source, "collaborative_source", COLLABORATIVE_SOURCES)
    matrix = offer_matrix(offers)

    topsis_scores = _topsis_scores(matrix)
    signals: dict[str, FloatArray | None] = {
        "topsis": topsis_scores,
        "collaborative": _collaborative_scores(user_scores, len(offers)),
        "content_based": content_similarity(offers, workload),
    }
    available = np.array([signals[name] is not None for name in ALGORITHMS], dtype=bool)
    used = np.where(available, requested, 0.0)
    if used.sum() == 0:
        # Only unavailable signals were weighted; TOPSIS always exists, so it carries everything.
        used = np.array([1.0, 0.0, 0.0])
    used = used / used.sum()

    combined = np.zeros(len(offers))
    for name, weight in zip(ALGORITHMS, used, strict=True):
        signal = signals[name]
        if signal is not None:
            combined += weight * signal
    order = np.argsort(-combined, kind="stable")[:limit]
    recommendations = tuple(
        Recommendation(
            index=int(index),
            ensemble_score=float(combined[index]),
            score_breakdown=ScoreBreakdown(
                topsis=float(topsis_scores[index]),
                collaborative=_at(signals["collaborative"], index),
                content_based=_at(signals["content_based"], index),
            ),
        )
        for index in order
    )

    has_collaborative = signals["collaborative"] is not None
    fallback = None
    if not has_collaborative:
        fallback = "collaborative_unavailable"
    elif source == "popularity":
        fallback = "popularity"
    strength = np.where(available, 1.0, 0.0)
    if fallback == "popularity":
        strength[ALGORITHMS.index("collaborative")] = POPULARITY_STRENGTH
    served = float(np.dot(requested, strength))
    return EnsembleResult(
        recommendations=recommendations,
        algorithm_contributions=MappingProxyType(
            {name: float(weight) for name, weight in zip(ALGORITHMS, used, strict=True)}
        ),
        confidence=round(CONFIDENCE_BASE + CONFIDENCE_SPAN * served, 4),
        used_fallback=fallback,
    )


def _topsis_scores(matrix: FloatArray) -> FloatArray:
    """TOPSIS closeness over TOPSIS_CRITERIA; all-zero features are dropped (no information)."""
    if matrix.shape[0] == 1:
        return np.ones(1)  # a single candidate is trivially the best available
    keep = np.any(matrix != 0, axis=0)  # price is always > 0, so at least one column remains
    types = [TOPSIS_CRITERIA[name][0] for name in FEATURES]
    weights = np.array([TOPSIS_CRITERIA[name][1] for name in FEATURES])[keep]
    result = topsis(
        matrix[:, keep],
        weights / weights.sum(),
        [kind for kind, is_kept in zip(types, keep, strict=True) if is_kept],
    )
    return np.array(result.scores)


def _collaborative_scores(
    user_scores: FloatArray | Sequence[float] | None, count: int
) -> FloatArray | None:
    if user_scores is None:
        return None
    scores = float_array(user_scores, "user_scores", ndim=1)
    if scores.size != count:
        raise AlgorithmInputError(
            "user_scores", f"has {scores.size} values but there are {count} offers"
        )
    low, high = float(scores.min()), float(scores.max())
    if high == low:
        return np.full(count, NEUTRAL_SCORE)
    return (scores - low) / (high - low)


def _at(signal: FloatArray | None, index: int) -> float | None:
    return None if signal is None else float(signal[index])
