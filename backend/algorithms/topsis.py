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
# Columns whose largest magnitude lies in this range can be squared and summed directly: 1e150^2
# times 100,000 rows stays far below float64's ~1.8e308, and 1e-150^2 is still a normal number.
_SAFE_SQUARE_MIN = 1e-150
_SAFE_SQUARE_MAX = 1e150


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
    matrix = float_array(decision_matrix, "decision_matrix", ndim=2, order="F")
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

    # Work on the transpose of our own Fortran-ordered copy: one contiguous row per criterion, so
    # every per-criterion reduction runs along contiguous memory (reducing the columns of a
    # 10,000 x 6 C-ordered array is ~30x slower).
    columns = matrix.T
    column_max = columns.max(axis=1)
    column_min = columns.min(axis=1)
    column_scale = np.maximum(column_max, -column_min)
    zero_columns = np.flatnonzero(column_scale == 0)
    if zero_columns.size:
        raise AlgorithmInputError(
            "decision_matrix",
            f"column {int(zero_columns[0])} is all zeros and cannot be normalised",
        )
    if not np.all((column_scale > _SAFE_SQUARE_MIN) & (column_scale < _SAFE_SQUARE_MAX)):
        # r_ij = x_ij / ||x_j|| computed on x_j / max|x_j|: the same ratio, but squaring values
        # above ~1e154 (or below ~1e-162) would overflow to inf (or underflow to 0) and silently
        # flatten the column.
        columns /= column_scale[:, np.newaxis]
        column_max /= column_scale
        column_min /= column_scale
    # v_ij = x_ij * w_j / ||x_j||; the factor is non-negative, so each column's extremes are the
    # raw extremes times the factor.
    factor = weight_vector / np.sqrt(np.einsum("ij,ij->i", columns, columns))
    column_max *= factor
    column_min *= factor
    ideal = np.where(is_benefit, column_max, column_min)
    anti_ideal = np.where(is_benefit, column_min, column_max)
    columns *= factor[:, np.newaxis]
    distance_ideal = _distances(columns, ideal)
    distance_anti = _distances(columns, anti_ideal)

    total = distance_ideal + distance_anti
    scores = np.full(alternatives, TIED_SCORE)
    np.divide(distance_anti, total, out=scores, where=total > 0)
    rankings = _best_first(scores)
    return TopsisResult(
        scores=read_only(scores),
        rankings=read_only(rankings),
        ideal_solution=read_only(ideal),
        anti_ideal_solution=read_only(anti_ideal),
    )


def _distances(weighted_columns: FloatArray, target: FloatArray) -> FloatArray:
    """Euclidean distance of each alternative (column of ``weighted_columns``) to ``target``."""
    difference = weighted_columns - target[:, np.newaxis]
    np.multiply(difference, difference, out=difference)
    distances: FloatArray = np.sqrt(difference.sum(axis=0))
    return distances


def _best_first(scores: FloatArray) -> NDArray[np.intp]:
    """Indices from the highest score to the lowest; equal scores keep the lower index first.

    numpy's default (introsort) argsort is ~3x faster than its stable one; without equal scores
    every correct sort gives the same order, so the stable sort only runs when there are ties.
    """
    negated = -scores
    order = np.argsort(negated)
    ordered = negated[order]
    if np.any(ordered[1:] == ordered[:-1]):
        order = np.argsort(negated, kind="stable")
    return order


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
