"""POST /api/v2/math/cost-per-gflop: price / (TFLOPS x 1000 x 3600) and price / TFLOPS."""

from __future__ import annotations

import pytest

from apps.math_core.tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_a100_fp32_golden_uses_the_vector_rate_not_312(api):
    # A100 FP32 is 19.5 TFLOPS (312 is dense FP16 tensor): 1.95 / 19.5 = 0.1 per TFLOP-hour.
    response = api.post("/cost-per-gflop", {"price_per_hour": 1.95, "gpu_type": "A100 SXM 80GB"})

    assert response.status_code == 200
    assert response.json() == {
        "cost_per_gflop": pytest.approx(0.1 / 3.6e6, rel=1e-12),
        "cost_per_tflop_hour": pytest.approx(0.1, rel=1e-12),
        "gpu_tflops": 19.5,
        "total_tflops": 19.5,
        "gpu_model": "A100 SXM 80GB",
        "precision": "fp32",
        "gpu_count": 1,
        "confidence": 0.9,
    }


def test_eight_h100_int8_scales_by_gpu_count(api):
    response = api.post(
        "/cost-per-gflop",
        {"price_per_hour": 31.658, "gpu_type": "H100 SXM", "precision": "INT8", "gpu_count": 8},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["gpu_tflops"], body["total_tflops"]) == (1978.9, pytest.approx(15831.2))
    assert body["cost_per_tflop_hour"] == pytest.approx(31.658 / 15831.2, rel=1e-12)
    assert body["cost_per_gflop"] == pytest.approx(31.658 / (15831.2 * 1000 * 3600), rel=1e-12)


def test_assumed_form_factor_lowers_confidence(api):
    response = api.post(
        "/cost-per-gflop", {"price_per_hour": 2.0, "gpu_type": "H100", "precision": "fp16"}
    )

    assert response.status_code == 200
    assert (response.json()["gpu_model"], response.json()["confidence"]) == ("H100 SXM", 0.8)


def test_unsupported_precision_on_that_gpu_is_400(api):
    response = api.post(
        "/cost-per-gflop", {"price_per_hour": 2.0, "gpu_type": "A100 SXM 80GB", "precision": "fp8"}
    )

    assert_error(response, 400, "precision")


def test_unknown_precision_is_422(api):
    response = api.post(
        "/cost-per-gflop", {"price_per_hour": 2.0, "gpu_type": "H100 SXM", "precision": "int4"}
    )

    assert_error(response, 422, "precision")


def test_unknown_gpu_is_400(api):
    assert_error(
        api.post("/cost-per-gflop", {"price_per_hour": 2.0, "gpu_type": "GTX 480"}), 400, "gpu_type"
    )


@pytest.mark.parametrize("price", [0, -3, "2", False])
def test_bad_price_is_422(api, price):
    response = api.post("/cost-per-gflop", {"price_per_hour": price, "gpu_type": "H100 SXM"})

    assert_error(response, 422, "price_per_hour")


def test_overflow_is_422(api):
    response = api.post("/cost-per-gflop", '{"price_per_hour": 1e309, "gpu_type": "L4"}')

    assert_error(response, 422, "price_per_hour")
