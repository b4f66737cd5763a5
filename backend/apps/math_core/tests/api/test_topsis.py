"""POST /api/v2/math/topsis.

Golden 2 x 2 case: [[1, 2], [3, 4]], weights 0.5/0.5, (cost, benefit). Column norms sqrt(10) and
sqrt(20); weighted rows [1/(2 sqrt 10), 1/sqrt 20] and [3/(2 sqrt 10), 2/sqrt 20]. Row 0 is the
ideal on column 0 and row 1 on column 1, so D+_0 = 1/sqrt 20, D-_0 = 1/sqrt 10 and
C_0 = 1 / (1 + 1/sqrt 2) = 2 - sqrt 2; by symmetry C_1 = sqrt 2 - 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymcdm.methods import TOPSIS
from pymcdm.normalizations import vector_normalization

from apps.math_core.tests.conftest import assert_error

MATRIX = [[1, 2], [3, 4]]
WEIGHTS = [0.5, 0.5]
TYPES = ["cost", "benefit"]


def body(matrix=MATRIX, weights=WEIGHTS, types=TYPES):
    return {"decision_matrix": matrix, "weights": weights, "criteria_types": types}


def test_golden_2x2(api):
    response = api.post("/topsis", body())

    assert response.status_code == 200
    result = response.json()
    assert result["rankings"] == [0, 1]
    assert result["scores"] == [
        pytest.approx(2 - math.sqrt(2), abs=1e-12),
        pytest.approx(math.sqrt(2) - 1, abs=1e-12),
    ]
    assert result["ideal_solution"] == [
        pytest.approx(0.5 / math.sqrt(10), abs=1e-12),
        pytest.approx(1 / math.sqrt(5), abs=1e-12),
    ]
    assert result["anti_ideal_solution"] == [
        pytest.approx(1.5 / math.sqrt(10), abs=1e-12),
        pytest.approx(0.5 / math.sqrt(5), abs=1e-12),
    ]


def test_ties_keep_the_lower_index_first(api):
    response = api.post(
        "/topsis", body([[1, 1], [2, 2], [1, 1]], [0.5, 0.5], ["benefit", "benefit"])
    )

    assert response.status_code == 200
    assert response.json()["rankings"] == [1, 0, 2]


def test_criteria_types_are_case_insensitive_and_weights_allow_rounding(api):
    response = api.post("/topsis", body(weights=[0.3333, 0.6672], types=["COST", " Benefit "]))

    assert response.status_code == 200


@pytest.mark.filterwarnings("ignore:Alternatives with indices:UserWarning")
def test_agrees_with_pymcdm_on_a_random_matrix(api):
    rng = np.random.default_rng(5)
    matrix = rng.uniform(0.5, 900.0, size=(25, 6))
    weights = rng.dirichlet(np.ones(6))
    is_cost = np.array([True, False, False, True, False, True])

    response = api.post(
        "/topsis",
        body(matrix.tolist(), weights.tolist(), ["cost" if c else "benefit" for c in is_cost]),
    )

    assert response.status_code == 200
    theirs = TOPSIS(normalization_function=vector_normalization)(
        matrix, weights, np.where(is_cost, -1, 1)
    )
    np.testing.assert_allclose(response.json()["scores"], theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(weights=[0.5, 0.4]), "weights"),  # sums to 0.9
        (body(weights=[0.5, 0.25, 0.25]), "weights"),  # length differs from the columns
        (body(weights=[1.5, -0.5]), "weights"),
        (body(types=["cost"]), "criteria_types"),
        (body(types=["cost", "gain"]), "criteria_types"),
        (body(matrix=[[1, 2]]), "decision_matrix"),  # one alternative
        (body(matrix=[]), "decision_matrix"),
        (body(matrix=[[], []]), "decision_matrix"),
        (body(matrix=[[1, 2], [3]]), "decision_matrix"),  # ragged
        (body(matrix=[[0, 2], [0, 4]]), "decision_matrix"),  # zero column
    ],
    ids=[
        "weights-sum",
        "weights-length",
        "weights-negative",
        "types-length",
        "types-unknown",
        "one-row",
        "empty",
        "empty-rows",
        "ragged",
        "zero-column",
    ],
)
def test_domain_errors_are_400_naming_the_field(api, payload, field):
    assert_error(api.post("/topsis", payload), 400, field)


def test_ten_thousand_columns_is_400(api):
    payload = body([[1.0] * 10_000, [2.0] * 10_000], [1e-4] * 10_000, ["benefit"] * 10_000)

    body_ = assert_error(api.post("/topsis", payload), 400, "decision_matrix")
    assert body_["error"]["message"] == "decision_matrix: has 10000 columns; the limit is 1000"


def test_too_many_rows_is_400_before_numpy(api):
    payload = body([[1]] * 100_001, [1.0], ["benefit"])

    assert_error(api.post("/topsis", payload), 400, "decision_matrix")


def test_too_many_weights_is_400(api):
    assert_error(api.post("/topsis", body(weights=[0.0] * 1_001)), 400, "weights")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(matrix=[["1", 2], [3, 4]]), "decision_matrix.0.0"),
        (body(matrix=[[True, 2], [3, 4]]), "decision_matrix.0.0"),
        (body(matrix=[[None, 2], [3, 4]]), "decision_matrix.0.0"),
        (body(matrix=[1, 2]), "decision_matrix.0"),
        (body(matrix="[[1,2],[3,4]]"), "decision_matrix"),
        (body(weights=["0.5", 0.5]), "weights.0"),
        (body(types=["cost", 1]), "criteria_types.1"),
        ({"weights": WEIGHTS, "criteria_types": TYPES}, "decision_matrix"),
    ],
    ids=[
        "string",
        "bool",
        "null",
        "flat",
        "string-matrix",
        "string-weight",
        "number-type",
        "missing",
    ],
)
def test_type_errors_are_422_naming_the_field(api, payload, field):
    assert_error(api.post("/topsis", payload), 422, field)


@pytest.mark.parametrize("token", ["1e309", "NaN", "-Infinity"])
def test_inf_and_nan_are_422(api, token):
    raw = '{"decision_matrix": [[' + token + ', 2], [3, 4]], "weights": [0.5, 0.5], '
    raw += '"criteria_types": ["cost", "benefit"]}'

    assert_error(api.post("/topsis", raw), 422, "decision_matrix.0.0")


def test_overflowing_weight_is_422(api):
    raw = '{"decision_matrix": [[1, 2], [3, 4]], "weights": [1e309, 0.5], '
    raw += '"criteria_types": ["cost", "benefit"]}'

    assert_error(api.post("/topsis", raw), 422, "weights.0")


def test_huge_values_do_not_overflow_the_normalisation(api):
    # ||(1e200, 1)|| squared overflows float64; scaling by the column maximum keeps the ratios.
    # Row 1 has the best cost (1) and the best benefit (1e200): the ideal, closeness 1.
    response = api.post("/topsis", body([[1e200, 1], [1, 1e200]]))

    assert response.status_code == 200
    assert response.json()["rankings"] == [1, 0]
    assert response.json()["scores"] == [0.0, 1.0]


def test_tiny_values_are_not_a_zero_column(api):
    # Squares of 1e-200 underflow to 0; the column is not zero. Row 0 is cheaper but offers
    # less, by the same proportions: a tie.
    response = api.post("/topsis", body([[1e-200, 1], [2e-200, 2]]))

    assert response.status_code == 200
    assert response.json()["scores"] == [0.5, 0.5]
