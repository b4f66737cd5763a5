"""TOPSIS (Hwang & Yoon 1981) with vector normalisation.

Steps: r_ij = x_ij / ||x_j||; v_ij = w_j * r_ij; the ideal takes each column's best value (max for
"benefit", min for "cost") and the anti-ideal its worst; the closeness coefficient is
C_i = D_i^- / (D_i^+ + D_i^-) with Euclidean distances D to the ideal (+) and anti-ideal (-).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from algorithms._validation import (
    FloatArray,
    choice,
    float_array,
    read_only,
    weights_summing_to_one,
)
from algorithms.errors import AlgorithmInputError

CRITERIA_TYPES = frozenset({"benefit", "cost"})
MIN_ALTERNATIVES = 2  # a ranking of one alternative carries no information
# Caps keep one request bounded (100,000 x 1,000 float64 = 800 MB is already the worst case);
# real use is a few thousand offers and under ten criteria.
MAX_ALTERNATIVES = 100_000
MAX_CRITERIA = 1_000
# When every alternative sits at both the ideal and the anti-ideal (all weighted columns constant)
# the closeness is 0/0; all alternatives are equivalent, so each gets the neutral midpoint.
TIED_SCORE = 0.5


@dataclass(frozen=True, eq=False)
class TopsisResult:
    """Closeness per alternative (0..1, higher is better) in input order, and the ranking.

    ``rankings`` lists alternative indices from best to worst; equal scores keep the lower index
    first. ``ideal_solution`` / ``anti_ideal_solution`` are in the weighted normalised space.
    Arrays are read-only.
    """

    scores: FloatArray
    rankings: NDArray[np.intp]
    ideal_solution: FloatArray
    anti_ideal_solution: FloatArray


def topsis(
    decision_matrix: Sequence[Sequence[float]] | FloatArray,
    weights: Sequence[float] | FloatArray,
    criteria_types: Sequence[str],
) -> TopsisResult:
    """Rank alternatives (rows) over criteria (columns).

    Preconditions, each violation an AlgorithmInputError naming the field: a finite numeric
    matrix of 2..MAX_ALTERNATIVES rows and 1..MAX_CRITERIA columns with no all-zero column;
    one finite, non-negative weight per column summing to 1 within 1e-3; one
    criteria type ("benefit" or "cost", case-insensitive) per column.
    """
    matrix = float_array(decision_matrix, "decision_matrix", ndim=2)
    alternatives, criteria = matrix.shape
    if alternatives < MIN_ALTERNATIVES:
        raise AlgorithmInputError(
            "decision_matrix", f"needs at least {MIN_ALTERNATIVES} alternatives (rows)"
        )
    if alternatives > MAX_ALTERNATIVES:
        raise AlgorithmInputError(
            "decision_matrix", f"has {alternatives} rows; the limit is {MAX_ALTERNATIVES}"
        )
    if criteria > MAX_CRITERIA:
        raise AlgorithmInputError(
            "decision_matrix", f"has {criteria} columns; the limit is {MAX_CRITERIA}"
        )
    weight_vector = weights_summing_to_one(weights, "weights", count=criteria)
    is_benefit = _benefit_mask(criteria_types, criteria)

    # r_ij = x_ij / ||x_j|| computed on x_j / max|x_j|: the same ratio, but squaring values above
    # ~1e154 (or below ~1e-162) would overflow to inf (or underflow to 0) and silently flatten the
    # column.
    column_scale = np.abs(matrix).max(axis=0)
    zero_columns = np.flatnonzero(column_scale == 0)
    if zero_columns.size:
        raise AlgorithmInputError(
            "decision_matrix",
            f"column {int(zero_columns[0])} is all zeros and cannot be normalised",
        )
    scaled = matrix / column_scale
    norms = np.sqrt(np.einsum("ij,ij->j", scaled, scaled))
    weighted = scaled * (weight_vector / norms)

    column_max = weighted.max(axis=0)
    column_min = weighted.min(axis=0)
    ideal = np.where(is_benefit, column_max, column_min)
    anti_ideal = np.where(is_benefit, column_min, column_max)
    distance_ideal = np.sqrt(np.square(weighted - ideal).sum(axis=1))
    distance_anti = np.sqrt(np.square(weighted - anti_ideal).sum(axis=1))

    total = distance_ideal + distance_anti
    scores = np.full(alternatives, TIED_SCORE)
    np.divide(distance_anti, total, out=scores, where=total > 0)
    # Stable sort of the negated scores: best first, ties keep the lower index first.
    rankings = np.argsort(-scores, kind="stable")
    return TopsisResult(
        scores=read_only(scores),
        rankings=read_only(rankings),
        ideal_solution=read_only(ideal),
        anti_ideal_solution=read_only(anti_ideal),
    )


def _benefit_mask(criteria_types: Sequence[str], criteria: int) -> NDArray[np.bool_]:
    if isinstance(criteria_types, str) or not isinstance(criteria_types, Sequence):
        raise AlgorithmInputError("criteria_types", "must be a list of 'benefit' or 'cost'")
    if len(criteria_types) != criteria:
        raise AlgorithmInputError(
            "criteria_types",
            f"has {len(criteria_types)} values but the matrix has {criteria} criteria",
        )
    types = [choice(kind, "criteria_types", CRITERIA_TYPES) for kind in criteria_types]
    return np.array([kind == "benefit" for kind in types], dtype=bool)
