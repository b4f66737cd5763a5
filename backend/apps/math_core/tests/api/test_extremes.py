"""Extreme but finite numbers on every math endpoint: a 4xx envelope or finite JSON, never a 500
and never `Infinity`/`NaN` in a response body."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

EXTREMES = [1e308, 1e15, 123456789.0, 1e-15, 1e-308, 5e-324]
WORKLOAD_TYPES = [
    "llm_inference",
    "training",
    "fine_tuning",
    "image_generation",
    "video_processing",
    "data_processing",
]


def requests_for(value):
    yield "/cost-per-token", {"price_per_hour": value, "gpu_type": "L4"}
    yield "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "L4", "model_size": "0.000001b"}
    yield "/cost-per-gflop", {"price_per_hour": value, "gpu_type": "L4", "precision": "int8"}
    yield (
        "/topsis",
        {
            "decision_matrix": [[value, 1], [1, value]],
            "weights": [0.5, 0.5],
            "criteria_types": ["cost", "benefit"],
        },
    )
    yield (
        "/topsis",
        {
            "decision_matrix": [[value, value], [value, value]],
            "weights": [0.5, 0.5],
            "criteria_types": ["cost", "benefit"],
        },
    )
    yield (
        "/ensemble-recommend",
        {
            "candidate_offers": [
                {"gpu_type": "L4", "price_per_hour": value},
                {"gpu_type": "L4", "price_per_hour": 1.0, "vram_gb": value},
            ],
            "workload_profile": {"vram_gb": value, "price_per_hour": value},
        },
    )
    for workload_type in WORKLOAD_TYPES:
        yield (
            "/estimate-workload",
            {"workload_type": workload_type, "quantity": value, "duration_hours": 1},
        )
        yield (
            "/estimate-workload",
            {"workload_type": workload_type, "quantity": 1, "duration_hours": value},
        )


@pytest.mark.parametrize("value", EXTREMES, ids=repr)
def test_no_500_and_no_infinity(api, value):
    for path, payload in requests_for(value):
        response = api.post(path, payload)

        assert response.status_code < 500, (path, payload, response.content)
        assert b"Infinity" not in response.content, (path, payload)
        assert b"NaN" not in response.content, (path, payload)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/cost-per-token", {"price_per_hour": 1e6 + 1, "gpu_type": "L4"}, "price_per_hour"),
        ("/cost-per-gflop", {"price_per_hour": 1e308, "gpu_type": "L4"}, "price_per_hour"),
        (
            "/estimate-workload",
            {"workload_type": "training", "quantity": 1e16, "duration_hours": 1},
            "quantity",
        ),
        (
            "/estimate-workload",
            {"workload_type": "training", "quantity": 1, "duration_hours": 1e-4},
            "duration_hours",
        ),
        (
            "/estimate-workload",
            {"workload_type": "training", "quantity": 1, "duration_hours": 87_601},
            "duration_hours",
        ),
    ],
)
def test_bounds_are_422_naming_the_field(api, path, payload, field):
    response = api.post(path, payload)

    assert response.status_code == 422
    assert field in response.json()["error"]["details"]["fields"]
