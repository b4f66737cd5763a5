import math

import numpy as np
import pytest
from pymcdm.methods import TOPSIS
from pymcdm.normalizations import vector_normalization

from algorithms.errors import AlgorithmInputError
from algorithms.topsis import MAX_ALTERNATIVES, MAX_CRITERIA, topsis

# Columns chosen with integer norms (3, 7, 9) so every value below is exact by hand:
# weighted rows A1 [1/6, 1/14, 1/9], A2 [1/3, 3/28, 1/9], A3 [1/3, 3/14, 7/36].
MATRIX = [[1, 2, 4], [2, 3, 4], [2, 6, 7]]
WEIGHTS = [0.5, 0.25, 0.25]
TYPES = ["cost", "benefit", "benefit"]


def test_golden_3x3_scores_rankings_and_ideals():
    result = topsis(MATRIX, WEIGHTS, TYPES)

    root193, root326 = math.sqrt(193), math.sqrt(326)
    expected = [14 / (14 + root193), 3 / (3 + root326), root193 / (14 + root193)]
    assert result.scores.tolist() == pytest.approx(expected, abs=1e-12)
    assert result.rankings.tolist() == [0, 2, 1]
    assert result.ideal_solution.tolist() == pytest.approx([1 / 6, 3 / 14, 7 / 36], abs=1e-12)
    assert result.anti_ideal_solution.tolist() == pytest.approx([1 / 3, 1 / 14, 1 / 9], abs=1e-12)


def test_result_arrays_are_read_only():
    result = topsis(MATRIX, WEIGHTS, TYPES)

    with pytest.raises(ValueError, match="read-only"):
        result.scores[0] = 1.0


def test_criteria_types_are_case_insensitive():
    result = topsis(MATRIX, WEIGHTS, ["COST", " Benefit", "benefit"])

    assert result.rankings.tolist() == [0, 2, 1]


def test_equal_scores_keep_lower_index_first():
    result = topsis([[1, 5], [2, 3], [1, 5], [2, 3]], [0.5, 0.5], ["cost", "benefit"])

    assert result.scores[0] == result.scores[2]
    assert result.rankings.tolist() == [0, 2, 1, 3]


def test_ties_in_a_large_matrix_keep_lower_index_first():
    rng = np.random.default_rng(3)
    distinct = rng.uniform(1.0, 100.0, size=(500, 3))
    matrix = np.concatenate([distinct, distinct[::-1]])  # every row appears twice

    result = topsis(matrix, [0.2, 0.3, 0.5], ["cost", "benefit", "cost"])

    assert result.rankings.tolist() == np.argsort(-result.scores, kind="stable").tolist()
    first, second = result.rankings[0], result.rankings[1]
    assert result.scores[first] == result.scores[second]
    assert first < second


def test_rankings_without_ties_are_the_stable_order():
    rng = np.random.default_rng(11)
    matrix = rng.uniform(0.1, 1000.0, size=(10_000, 6))

    result = topsis(matrix, rng.dirichlet(np.ones(6)), ["cost", "benefit"] * 3)

    assert len(set(result.scores.tolist())) == 10_000
    assert result.rankings.tolist() == np.argsort(-result.scores, kind="stable").tolist()


@pytest.mark.parametrize("magnitude", [1e-300, 1e-160, 1e155, 1e300])
def test_extreme_magnitudes_rank_like_ordinary_ones(magnitude):
    # Squaring these overflows or underflows float64; the scaled path must give the same answer.
    rng = np.random.default_rng(5)
    matrix = rng.uniform(1.0, 9.0, size=(50, 3))
    weights, types = [0.3, 0.3, 0.4], ["cost", "benefit", "benefit"]
    mixed = matrix.copy()
    mixed[:, 1] *= magnitude

    ordinary = topsis(matrix, weights, types)
    extreme = topsis(mixed, weights, types)

    assert np.max(np.abs(extreme.scores - ordinary.scores)) <= 1e-12
    assert extreme.rankings.tolist() == ordinary.rankings.tolist()


def test_leaves_the_callers_array_unchanged():
    matrix = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 1.0]])
    for layout in (matrix, np.asfortranarray(matrix)):
        before = layout.copy()

        topsis(layout, [0.5, 0.5], ["cost", "benefit"])

        assert np.array_equal(layout, before)


def test_all_rows_identical_score_the_neutral_midpoint():
    result = topsis([[3, 4], [3, 4]], [0.5, 0.5], ["cost", "benefit"])

    assert result.scores.tolist() == [0.5, 0.5]
    assert result.rankings.tolist() == [0, 1]


def test_weights_within_tolerance_are_accepted():
    result = topsis(MATRIX, [0.5, 0.25, 0.2505], TYPES)

    assert result.rankings.tolist() == [0, 2, 1]


# pymcdm warns about dominated alternatives in random data; the warning is about its own methods.
@pytest.mark.filterwarnings("ignore:Alternatives with indices:UserWarning")
def test_agrees_with_pymcdm_on_random_matrices():
    rng = np.random.default_rng(20240601)
    for _ in range(50):
        rows, columns = int(rng.integers(2, 40)), int(rng.integers(1, 9))
        matrix = rng.uniform(0.1, 1000.0, size=(rows, columns))
        weights = rng.dirichlet(np.ones(columns))
        is_cost = rng.random(columns) < 0.5
        types = ["cost" if cost else "benefit" for cost in is_cost]

        ours = topsis(matrix, weights, types)
        reference = TOPSIS(normalization_function=vector_normalization)
        theirs = reference(matrix, weights, np.where(is_cost, -1, 1))

        assert np.max(np.abs(ours.scores - theirs)) <= 1e-9


def test_ideal_matches_pymcdm_for_benefit_and_mirrors_it_for_cost():
    # pymcdm normalises cost columns as 1 - x/||x||, so its ideal there is w - (our ideal).
    rng = np.random.default_rng(7)
    matrix = rng.uniform(1.0, 50.0, size=(6, 4))
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    is_cost = np.array([True, False, True, False])
    ours = topsis(matrix, weights, ["cost", "benefit", "cost", "benefit"])

    nmatrix = matrix / np.linalg.norm(matrix, axis=0)
    pymcdm_weighted = np.where(is_cost, 1 - nmatrix, nmatrix) * weights
    pymcdm_pis = pymcdm_weighted.max(axis=0)
    mirrored = np.where(is_cost, weights - ours.ideal_solution, ours.ideal_solution)
    assert np.max(np.abs(mirrored - pymcdm_pis)) <= 1e-12


def test_ten_thousand_by_six_runs():
    rng = np.random.default_rng(1)
    matrix = rng.uniform(1.0, 100.0, size=(10_000, 6))

    result = topsis(matrix, [1 / 6] * 6, ["benefit", "cost"] * 3)

    assert result.scores.shape == (10_000,)
    assert sorted(result.rankings.tolist()) == list(range(10_000))


@pytest.mark.parametrize(
    ("matrix", "weights", "types", "field", "message"),
    [
        ([[1, 2], [3, 4]], [0.6, 0.6], ["cost", "benefit"], "weights", "must sum to 1"),
        ([[1, 2], [3, 4]], [0.5, 0.5, 0.0], ["cost", "benefit"], "weights", "has 3 values"),
        ([[1, 2], [3, 4]], [1.5, -0.5], ["cost", "benefit"], "weights", "negative"),
        ([[1, 2], [3, 4]], [0.5, float("nan")], ["cost", "benefit"], "weights", "NaN"),
        ([[1, 2], [3, 4]], [0.5, 0.5], ["cost"], "criteria_types", "has 1 values"),
        ([[1, 2], [3, 4]], [0.5, 0.5], ["cost", "profit"], "criteria_types", "unknown value"),
        ([[1, 2], [3, 4]], [0.5, 0.5], "cb", "criteria_types", "must be a list"),
        ([[1, 2], [3, 4]], [0.5, 0.5], ["cost", 1], "criteria_types", "must be a string"),
        ([[1, 2]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "at least 2"),
        ([], [1.0], ["cost"], "decision_matrix", "must not be empty"),
        ([[], []], [1.0], ["cost"], "decision_matrix", "must not be empty"),
        ([[1, 2], [3]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "rectangular"),
        ([1, 2], [1.0], ["cost"], "decision_matrix", "2-dimensional"),
        ([[1, "a"], [3, 4]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "only numbers"),
        ([[1, None], [3, 4]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "only numbers"),
        ([[1, 2], [3, float("inf")]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "NaN"),
        ([[1, 0], [3, 0]], [0.5, 0.5], ["cost", "benefit"], "decision_matrix", "column 1 is all"),
    ],
)
def test_rejects_bad_input(matrix, weights, types, field, message):
    with pytest.raises(AlgorithmInputError, match=message) as error:
        topsis(matrix, weights, types)

    assert error.value.field == field


def test_rejects_too_many_criteria():
    columns = MAX_CRITERIA + 1
    matrix = np.ones((2, columns))

    with pytest.raises(AlgorithmInputError, match="1001 columns; the limit is 1000") as error:
        topsis(matrix, np.full(columns, 1 / columns), ["benefit"] * columns)

    assert error.value.field == "decision_matrix"


def test_rejects_too_many_alternatives():
    matrix = np.ones((MAX_ALTERNATIVES + 1, 1))

    with pytest.raises(AlgorithmInputError, match="100001 rows; the limit is 100000") as error:
        topsis(matrix, [1.0], ["benefit"])

    assert error.value.field == "decision_matrix"
