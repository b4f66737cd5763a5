"""Content-based similarity between a workload profile and offers.

Each offer and the workload are points in FEATURES space. Every feature the workload specifies is
min-max scaled over the offers and the workload together (so the workload lands in [0, 1] too),
cost features are flipped (1 - x) so larger always means better, and the similarity is the cosine
between the workload's vector and each offer's. Cosine compares the profile's *shape* (e.g. "lots
of VRAM, cheap") rather than exact values, which is the intent of this signal; TOPSIS covers
absolute quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

import numpy as np

from algorithms._validation import FloatArray, non_negative_float, positive_float
from algorithms.errors import AlgorithmInputError


@dataclass(frozen=True)
class OfferFeatures:
    """One offer's figures, in FEATURES order.

    Missing figures must be filled by the caller from the GPU specs before scoring (zero
    would read as "terrible", not "unknown").
    ``reliability`` is a 0..1 score (e.g. provider uptime fraction); ``vram_gb``, ``tflops`` and
    ``memory_bandwidth_gbps`` are totals over the offer's GPUs.
    """

    price_per_hour: float
    vram_gb: float
    tflops: float
    memory_bandwidth_gbps: float
    reliability: float


@dataclass(frozen=True)
class WorkloadProfile:
    """What the workload wants, per feature; None = no preference (the feature is ignored)."""

    price_per_hour: float | None = None
    vram_gb: float | None = None
    tflops: float | None = None
    memory_bandwidth_gbps: float | None = None
    reliability: float | None = None


FEATURES = tuple(field.name for field in fields(OfferFeatures))
COST_FEATURES = frozenset({"price_per_hour"})


def offer_matrix(offers: Sequence[OfferFeatures]) -> FloatArray:
    """Validated (offers x FEATURES) matrix: price > 0, other figures >= 0, reliability <= 1."""
    if len(offers) == 0:
        raise AlgorithmInputError("offers", "must contain at least one offer")
    rows = [_checked(astuple(offer), "offers") for offer in offers]
    return np.array(rows, dtype=np.float64)


def content_similarity(
    offers: Sequence[OfferFeatures], workload: WorkloadProfile
) -> FloatArray | None:
    """Cosine similarity in [0, 1] per offer, or None when the workload specifies no feature.

    Features constant across offers and workload carry no information and scale to 0; an offer
    whose scaled vector is all zeros scores 0.
    """
    matrix = offer_matrix(offers)
    wanted = astuple(workload)
    mask = np.array([value is not None for value in wanted], dtype=bool)
    if not mask.any():
        return None
    profile = np.array(_checked(wanted, "workload_profile"), dtype=np.float64)
    points = np.vstack([matrix, profile])[:, mask]
    low, high = points.min(axis=0), points.max(axis=0)
    span = high - low
    scaled = np.divide(points - low, span, out=np.zeros_like(points), where=span > 0)
    is_cost = np.array([name in COST_FEATURES for name in FEATURES], dtype=bool)[mask]
    scaled[:, is_cost] = np.where(span[is_cost] > 0, 1.0 - scaled[:, is_cost], 0.0)

    offer_vectors, target = scaled[:-1], scaled[-1]
    norms = np.linalg.norm(offer_vectors, axis=1) * np.linalg.norm(target)
    similarity = np.zeros(len(offers))
    np.divide(offer_vectors @ target, norms, out=similarity, where=norms > 0)
    return similarity


def _checked(values: tuple[float | None, ...], field: str) -> list[float]:
    """Validate one row in FEATURES order; None (workload only) becomes 0 and is masked out."""
    checked: list[float] = []
    for name, value in zip(FEATURES, values, strict=True):
        if value is None:
            checked.append(0.0)
            continue
        label = f"{field}.{name}"
        number = (
            positive_float(value, label)
            if name in COST_FEATURES
            else non_negative_float(value, label)
        )
        if name == "reliability" and number > 1:
            raise AlgorithmInputError(label, "must be a fraction between 0 and 1")
        checked.append(number)
    return checked
