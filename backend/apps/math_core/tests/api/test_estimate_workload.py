"""POST /api/v2/math/estimate-workload.

Golden case: Llama 3 8B, quality high (fp16). Weights 8.03 x 2 = 16.06 GB; KV cache
2 x 32 layers x 8 heads x 128 x 4096 tokens x 2 bytes = 0.536870912 GB; min VRAM
(16.596870912 x 1.1 + 1) = 19.2566 -> 19.3 GB; recommended 19.3 x 1.25 = 24.125 -> 24.2 GB.
"""

from __future__ import annotations

import pytest

from apps.math_core.tests.conftest import assert_error
from apps.providers.models import GPUOffer

pytestmark = pytest.mark.django_db

LLAMA_8B = {
    "workload_type": "llm_inference",
    "quantity": 100_000,
    "duration_hours": 1,
    "quality": "high",
    "model_name": "meta-llama/Meta-Llama-3-8B-Instruct",
}


@pytest.fixture
def market(make_offer):
    make_offer("RTX 4090", "0.5000")
    make_offer("RTX 4090", "1.6000", gpu_count=2)  # 0.80 per GPU-hour
    make_offer("RTX 4090", "0.1000", availability_status="unavailable")
    make_offer("RTX 4090", "0.2000", is_stale=True)
    make_offer("RTX 4090", "0.3000", currency="EUR")
    make_offer(None, "0.0500")  # quarantined: no canonical GPU
    make_offer("H100 SXM", "3.0000")


def test_llama_8b_golden(api, market):
    response = api.post("/estimate-workload", LLAMA_8B)

    assert response.status_code == 200
    body = response.json()
    assert (body["min_vram_gb"], body["recommended_vram_gb"]) == (19.3, 24.2)
    assert body["confidence"] == 0.8
    tiers = {tier["gpu_model"]: tier for tier in body["recommended_gpu_tiers"]}
    # 100,000 tokens in an hour = 27.8 tokens/s; one 4090 decodes 0.6 x 1008 / 16.06 = 37.66.
    assert tiers["RTX 4090"] == {
        "gpu_model": "RTX 4090",
        "gpus_needed": 1,
        "est_throughput": pytest.approx(0.6 * 1008 / 16.06, rel=1e-12),
        "throughput_unit": "output tokens per second",
        "est_cost_range": {"min": 0.5, "max": 0.8, "currency": "USD"},
    }
    assert tiers["H100 SXM"]["est_cost_range"] == {"min": 3.0, "max": 3.0, "currency": "USD"}
    assert tiers["L4"]["est_cost_range"] is None  # no offers
    # Sharded over 10 GB cards: 16.597 x 1.1 / 9 GB usable -> 3 GPUs.
    assert tiers["RTX 3080"]["gpus_needed"] == 3
    assert body["estimated_cost_range"] == {"min": 0.5, "max": 3.0, "currency": "USD"}
    assert any("Llama 3 8B" in sentence for sentence in body["reasoning"])
    assert body["reasoning"][-1] == (
        "Prices are per GPU-hour ranges of available, non-stale USD offers for 2 GPU models "
        "(instance price divided by its GPU count)."
    )


def test_no_offers_gives_no_cost_range(api, db):
    response = api.post("/estimate-workload", LLAMA_8B)

    assert response.status_code == 200
    assert response.json()["estimated_cost_range"] is None


@pytest.mark.parametrize(
    ("workload_type", "model_name", "quality"),
    [
        ("training", "llama-3-8b", "high"),
        ("fine_tuning", "Mistral 7B", "low"),
        ("image_generation", "SDXL", "medium"),
        ("image_generation", None, "low"),
        ("video_processing", None, "high"),
        ("data_processing", None, "medium"),
        ("llm_inference", "llama3.1:405b", "low"),
    ],
)
def test_every_workload_type(api, db, workload_type, model_name, quality):
    payload = {
        "workload_type": workload_type,
        "quantity": 1000,
        "duration_hours": 2,
        "quality": quality,
        "model_name": model_name,
    }

    response = api.post("/estimate-workload", payload)

    assert response.status_code == 200
    body = response.json()
    assert body["recommended_gpu_tiers"]
    assert body["min_vram_gb"] > 0
    assert body["reasoning"]


def test_quality_defaults_to_medium(api, db):
    payload = {"workload_type": "llm_inference", "quantity": 10, "duration_hours": 1}

    response = api.post("/estimate-workload", payload)

    assert response.status_code == 200
    assert any("int8" in sentence for sentence in response.json()["reasoning"])


def test_unknown_model_is_400_and_never_a_default(api, market):
    before = GPUOffer.objects.count()

    body = assert_error(
        api.post("/estimate-workload", {**LLAMA_8B, "model_name": "gpt-5-turbo"}), 400, "model_name"
    )

    assert "unknown model 'gpt-5-turbo'" in body["error"]["message"]
    assert GPUOffer.objects.count() == before


def test_model_of_the_wrong_kind_is_400(api, db):
    assert_error(
        api.post("/estimate-workload", {**LLAMA_8B, "model_name": "SDXL"}), 400, "model_name"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [({"workload_type": "mining"}, "workload_type"), ({"quality": "ultra"}, "quality")],
)
def test_unknown_choice_is_400(api, db, change, field):
    assert_error(api.post("/estimate-workload", {**LLAMA_8B, **change}), 400, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "100"}, "quantity"),
        ({"duration_hours": 0}, "duration_hours"),
        ({"duration_hours": True}, "duration_hours"),
        ({"workload_type": ""}, "workload_type"),
        ({"model_name": ""}, "model_name"),
        ({"model_name": 7}, "model_name"),
    ],
)
def test_type_and_range_errors_are_422(api, db, change, field):
    assert_error(api.post("/estimate-workload", {**LLAMA_8B, **change}), 422, field)


def test_overflowing_quantity_is_422(api, db):
    raw = '{"workload_type": "llm_inference", "quantity": 1e309, "duration_hours": 1}'

    assert_error(api.post("/estimate-workload", raw), 422, "quantity")
