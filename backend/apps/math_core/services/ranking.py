"""TOPSIS ranking of a decision matrix sent by the client (`/math/topsis`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from algorithms.topsis import MAX_ALTERNATIVES, MAX_CRITERIA, topsis
from gpubroker.core.errors import algorithm_input_errors, field_error


@dataclass(frozen=True)
class TopsisRanking:
    """Row indices best first, closeness per row, and the ideal / anti-ideal points."""

    rankings: list[int]
    scores: list[float]
    ideal_solution: list[float]
    anti_ideal_solution: list[float]


def topsis_rank(
    *,
    decision_matrix: Sequence[Sequence[float]],
    weights: Sequence[float],
    criteria_types: Sequence[str],
) -> TopsisRanking:
    """TOPSIS over the request's matrix.

    Sizes are checked on the lists before numpy sees them (MAX_ALTERNATIVES rows,
    MAX_CRITERIA columns).

    Raises:
        BadRequest: (400, naming the field) for any rejected input.
    """
    if len(decision_matrix) > MAX_ALTERNATIVES:
        raise field_error(
            "decision_matrix",
            f"has {len(decision_matrix)} rows; the limit is {MAX_ALTERNATIVES}",
        )
    widest = max((len(row) for row in decision_matrix), default=0)
    for name, size in (
        ("decision_matrix", widest),
        ("weights", len(weights)),
        ("criteria_types", len(criteria_types)),
    ):
        if size > MAX_CRITERIA:
            raise field_error(name, f"has {size} columns; the limit is {MAX_CRITERIA}")
    with algorithm_input_errors():
        result = topsis(decision_matrix, weights, criteria_types)
    return TopsisRanking(
        rankings=[int(index) for index in result.rankings],
        scores=[float(score) for score in result.scores],
        ideal_solution=[float(value) for value in result.ideal_solution],
        anti_ideal_solution=[float(value) for value in result.anti_ideal_solution],
    )
