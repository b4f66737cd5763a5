"""POST /api/v2/math/cost-per-token.

Golden values by hand: tokens/s = 0.6 x gpu_count x bandwidth / (params x bytes per param) when
memory bound; cost per token = price / (tokens/s x 3600).
"""

from __future__ import annotations

import pytest

from apps.gpus.models import GPUBenchmark
from apps.math_core.tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_rtx_4090_7b_golden(api):
    # 0.6 x 1008 / 14 = 43.2 tokens/s; 43.2 x 3600 = 155,520 tokens per hour.
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.5552, "gpu_type": "RTX 4090", "model_size": "7b"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["tokens_per_second"] == pytest.approx(43.2, rel=1e-12)
    assert body["cost_per_token"] == pytest.approx(1e-5, rel=1e-12)
    assert body["cost_per_million_tokens"] == pytest.approx(10.0, rel=1e-12)
    assert body["confidence"] == 0.7
    details = body["calculation_details"]
    assert details["method"] == "throughput_model"
    assert (details["gpu_model"], details["gpu_resolved_from"]) == ("RTX 4090", "canonical_name")
    assert (details["precision"], details["precision_assumed"], details["bytes_per_param"]) == (
        "fp16",
        True,
        2.0,
    )
    assert (details["params_billion"], details["weights_gb"]) == (7.0, 14.0)
    assert (details["gpu_count"], details["gpus_needed"], details["batch_size"]) == (1, 1, 1)
    assert (details["memory_bandwidth_gbps"], details["dense_tflops"]) == (1008.0, 165.2)
    assert details["efficiency"] == 0.6
    assert details["memory_bound_tokens_per_second"] == pytest.approx(43.2, rel=1e-12)
    # 0.6 x 165.2e12 / (2 x 7e9)
    assert details["compute_bound_tokens_per_second"] == pytest.approx(7080.0, rel=1e-12)
    assert details["limited_by"] == "memory_bandwidth"


def test_model_size_defaults_to_7b(api):
    response = api.post("/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "RTX 4090"})

    assert response.status_code == 200
    assert response.json()["calculation_details"]["model_size"] == "7b"


def test_8b_label(api):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "RTX 4090", "model_size": "8B"}
    )

    assert response.status_code == 200
    assert response.json()["tokens_per_second"] == pytest.approx(0.6 * 1008 / 16, rel=1e-12)


def test_70b_on_two_h100_scales_with_gpu_count(api):
    # 140 GB of fp16 weights: 154 / 79 -> 2 GPUs; 0.6 x 2 x 3350 / 140 tokens/s.
    response = api.post(
        "/cost-per-token",
        {"price_per_hour": 6.0, "gpu_type": "H100 SXM", "model_size": "70b", "gpu_count": 2},
    )

    assert response.status_code == 200
    body = response.json()
    tokens_per_second = 0.6 * 2 * 3350 / 140
    assert body["tokens_per_second"] == pytest.approx(tokens_per_second, rel=1e-12)
    assert body["cost_per_token"] == pytest.approx(6.0 / (tokens_per_second * 3600), rel=1e-12)
    assert body["confidence"] == 0.6  # 0.7 - 0.1 for linear multi-GPU scaling
    assert body["calculation_details"]["gpus_needed"] == 2


def test_405b_int4_on_eight_h100(api):
    # 405 x 0.5 = 202.5 GB; 202.5 x 1.1 / 79 -> 3 GPUs <= 8.
    response = api.post(
        "/cost-per-token",
        {
            "price_per_hour": 24.0,
            "gpu_type": "H100 SXM",
            "model_size": "405b",
            "precision": "INT4",
            "gpu_count": 8,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["tokens_per_second"] == pytest.approx(0.6 * 8 * 3350 / 202.5, rel=1e-12)
    details = body["calculation_details"]
    assert (details["precision"], details["precision_assumed"]) == ("int4", False)
    assert (details["compute_precision"], details["gpus_needed"]) == ("fp16", 3)


def test_fp32_weights_use_the_fp32_rate(api):
    response = api.post(
        "/cost-per-token",
        {
            "price_per_hour": 1.0,
            "gpu_type": "A100 SXM 80GB",
            "model_size": "1b",
            "precision": "fp32",
        },
    )

    assert response.status_code == 200
    details = response.json()["calculation_details"]
    assert (details["compute_precision"], details["dense_tflops"]) == ("fp32", 19.5)
    assert response.json()["tokens_per_second"] == pytest.approx(0.6 * 2039 / 4, rel=1e-12)


def test_alias_with_assumed_form_factor_lowers_confidence(api):
    response = api.post("/cost-per-token", {"price_per_hour": 2.0, "gpu_type": "nvidia h100"})

    assert response.status_code == 200
    body = response.json()
    assert body["calculation_details"]["gpu_model"] == "H100 SXM"
    assert body["calculation_details"]["gpu_resolved_from"] == "alias"
    assert body["calculation_details"]["used_default_form_factor"] is True
    assert body["confidence"] == 0.6


def test_mixture_of_experts_size_is_a_lower_bound_with_low_confidence(api):
    # Mixtral 8x7B = 46.7B total: 93.4 GB -> 2 x A100 80GB.
    response = api.post(
        "/cost-per-token",
        {"price_per_hour": 4.0, "gpu_type": "A100-SXM4-80GB", "model_size": "8x7b", "gpu_count": 2},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["tokens_per_second"] == pytest.approx(0.6 * 2 * 2039 / 93.4, rel=1e-12)
    assert body["confidence"] == 0.4  # 0.7 - 0.1 multi-GPU - 0.2 mixture of experts


def test_model_that_does_not_fit_is_400_naming_model_size(api):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "RTX 4090", "model_size": "70b"}
    )

    body = assert_error(response, 400, "model_size")
    assert body["error"]["details"]["gpus_needed"] == 7  # 154 / 23 -> 7


def test_405b_fp16_on_eight_h100_does_not_fit(api):
    response = api.post(
        "/cost-per-token",
        {"price_per_hour": 24.0, "gpu_type": "H100 SXM", "model_size": "405b", "gpu_count": 8},
    )

    body = assert_error(response, 400, "model_size")
    assert body["error"]["details"]["gpus_needed"] == 12  # 810 x 1.1 / 79 -> 12


def test_unknown_gpu_is_400_naming_gpu_type(api):
    assert_error(
        api.post("/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "Voodoo 5"}),
        400,
        "gpu_type",
    )


def test_ambiguous_gpu_is_400_naming_gpu_type(api):
    # "A100" alone could be 40 or 80 GB: never guessed.
    assert_error(
        api.post("/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "A100"}), 400, "gpu_type"
    )


def test_precision_the_gpu_lacks_is_400(api):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "T4", "precision": "bf16"}
    )

    assert_error(response, 400, "precision")


@pytest.mark.parametrize(
    ("model_size", "status"),
    [("abc", 400), ("0b", 400), ("5000b", 400), ("7", 400), ("", 422), ("7" * 40, 422)],
)
def test_bad_model_size(api, model_size, status):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "H100 SXM", "model_size": model_size}
    )

    assert_error(response, status, "model_size")


@pytest.mark.parametrize("price", [0, -1, -0.01, "1.5", True, None, [1], {"amount": 1}], ids=repr)
def test_bad_price_is_422_naming_price_per_hour(api, price):
    response = api.post("/cost-per-token", {"price_per_hour": price, "gpu_type": "H100 SXM"})

    assert_error(response, 422, "price_per_hour")


@pytest.mark.parametrize("token", ["1e309", "-1e309", "NaN", "Infinity"])
def test_overflowing_or_nan_price_is_422(api, token):
    body = '{"price_per_hour": ' + token + ', "gpu_type": "H100 SXM"}'

    assert_error(api.post("/cost-per-token", body), 422, "price_per_hour")


@pytest.mark.parametrize("gpu_count", [0, -1, 1025, 2.0, "2", True])
def test_bad_gpu_count_is_422(api, gpu_count):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "H100 SXM", "gpu_count": gpu_count}
    )

    assert_error(response, 422, "gpu_count")


def test_unknown_precision_is_422(api):
    response = api.post(
        "/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "H100 SXM", "precision": "fp64"}
    )

    assert_error(response, 422, "precision")


def test_missing_gpu_type_is_422(api):
    assert_error(api.post("/cost-per-token", {"price_per_hour": 1.0}), 422, "gpu_type")


def test_malformed_json_is_a_client_error(api):
    response = api.post("/cost-per-token", '{"price_per_hour": 1.0,')

    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_calculation_writes_nothing(api):
    api.post("/cost-per-token", {"price_per_hour": 1.0, "gpu_type": "RTX 4090"})

    assert GPUBenchmark.objects.count() == 0
