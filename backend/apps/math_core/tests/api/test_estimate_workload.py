"""POST /api/v2/math/estimate-workload.

v1's body still works (quality "standard" included) and keeps v1's keys; LLM inference is sized
by the batched serving model (algorithms/tests/serving checks the model against published
measurements; here its answer is checked through HTTP, including the issue's done-when case).
"""

from __future__ import annotations

import json

import pytest

from algorithms.calibrate import REFERENCES_PATH
from algorithms.sizing import Demand, serving_plan
from apps.gpus.catalogue import gpu_by_model
from apps.math_core.tests.conftest import assert_error
from apps.providers.models import GPUOffer

pytestmark = pytest.mark.django_db

DONE_WHEN = json.loads(REFERENCES_PATH.read_text(encoding="utf-8"))["done_when"]
LLAMA_8B = {
    "workload_type": "llm_inference",
    "quantity": 100_000,
    "duration_hours": 1,
    "quality": "high",
    "model_name": "meta-llama/Meta-Llama-3-8B-Instruct",
}
V1_KEYS = {
    "min_vram_gb",
    "recommended_vram_gb",
    "recommended_gpu_tiers",
    "estimated_cost_range",
    "estimated_time_per_unit",
    "confidence",
    "reasoning",
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


@pytest.fixture
def h100_market(make_offer):
    make_offer("H100 SXM", "2.5000", gpu_memory_gb=80)
    make_offer("H100 SXM", "20.0000", gpu_count=8, gpu_memory_gb=80)  # 2.50 per GPU-hour
    make_offer("H100 SXM", "6.0000", gpu_count=2, gpu_memory_gb=80)  # 3.00 per GPU-hour


def test_v1_body_with_quality_standard_works_and_the_old_twenty_h100s_are_gone(api, db):
    # v1's default quality was a 400 before this model; the old answer for this body was
    # 20 x H100 SXM (one request at a time).
    response = api.post(
        "/estimate-workload",
        {
            "workload_type": "llm_inference",
            "quantity": 1_000_000,
            "duration_hours": 1,
            "quality": "standard",
            "model_name": "llama-3-70b",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= V1_KEYS
    h100 = next(t for t in body["recommended_gpu_tiers"] if t["gpu_model"] == "H100 SXM")
    assert h100["serving"]["precision"] == "fp16"  # standard = the published fp16 weights
    assert 1 <= h100["gpus_needed"] <= 4


def test_quality_defaults_to_v1s_standard(api, db):
    payload = {"workload_type": "llm_inference", "quantity": 10, "duration_hours": 1}

    response = api.post("/estimate-workload", payload)

    assert response.status_code == 200
    body = response.json()
    assert body["serving"]["precision"] == "fp16"
    assert any("Quality 'standard' serves the weights in fp16" in s for s in body["reasoning"])


def test_done_when_llama_3_70b_fp8_32k_context_20_requests_per_second(api, h100_market):
    response = api.post(
        "/estimate-workload",
        {
            "workload_type": "llm_inference",
            "model_name": "Llama 3 70B",
            "precision": "fp8",
            "context_tokens": 32_768,
            "requests_per_second": 20,
            "prompt_tokens": 500,
            "output_tokens": 200,
        },
    )

    assert response.status_code == 200
    body = response.json()
    h100 = next(t for t in body["recommended_gpu_tiers"] if t["gpu_model"] == "H100 SXM")
    low, high = DONE_WHEN["gpus_per_replica"]
    assert low <= h100["gpus_per_replica"] == h100["tensor_parallel"] <= high
    assert DONE_WHEN["replicas"][0] <= h100["replicas"] <= DONE_WHEN["replicas"][1]
    assert DONE_WHEN["total_gpus"][0] <= h100["gpus_needed"] <= DONE_WHEN["total_gpus"][1]
    serving = h100["serving"]
    low, high = DONE_WHEN["gpu_hours_per_million_output_tokens"]
    assert low <= serving["gpu_hours_per_million_output_tokens"] <= high
    # The cheapest H100 offers cost 2.50 per GPU-hour.
    assert low * 2.5 <= serving["usd_per_million_output_tokens"] <= high * 2.5
    assert (
        serving["usd_per_million_output_tokens_batch_1"]
        > 10 * (serving["usd_per_million_output_tokens"])
    )
    assert h100["deployment_usd_per_hour"]["low"] == h100["gpus_needed"] * 2.5
    assert "NVLink" in h100["interconnect_advice"]
    assert any("8,192-token context" in warning for warning in h100["warnings"])
    steps = {step["name"]: step for step in body["working"]}
    assert steps["precision"] == {
        "name": "precision",
        "value": "fp8",
        "unit": "",
        "kind": "input",
        "note": "",
    }
    assert steps["required_output_tokens_per_second"]["value"] == 4000.0
    assert steps["memory_bandwidth_efficiency"]["kind"] == "estimate"
    assert body["window_hours"] == 1.0


def test_cheapest_offers_hold_a_replica_and_are_cheapest_first(api, h100_market):
    response = api.post(
        "/estimate-workload",
        {
            "workload_type": "llm_inference",
            "model_name": "llama-3.3-70b",
            "precision": "fp8",
            "requests_per_second": 20,
        },
    )

    body = response.json()
    offers = body["cheapest_offers"]
    assert offers
    costs = [offer["deployment_usd_per_hour"] for offer in offers]
    assert costs == sorted(costs)
    tier = next(t for t in body["recommended_gpu_tiers"] if t["gpu_model"] == "H100 SXM")
    for offer in offers:
        assert offer["gpu_count"] >= tier["gpus_per_replica"]  # a 1-GPU offer cannot hold 70B
        assert offer["replicas_per_offer"] == offer["gpu_count"] // tier["gpus_per_replica"]
        assert offer["deployment_usd_per_hour"] == offer["offers_needed"] * offer["price_per_hour"]


def test_llama_8b_tiers_are_the_serving_model_priced_with_current_offers(api, market):
    response = api.post("/estimate-workload", LLAMA_8B)

    assert response.status_code == 200
    body = response.json()
    tiers = {tier["gpu_model"]: tier for tier in body["recommended_gpu_tiers"]}
    plan = serving_plan(
        model="llama-3-8b",
        gpu=gpu_by_model("RTX 4090"),
        prompt_tokens=500,
        output_tokens=200,
        quality="high",
        demand=Demand(total_output_tokens=100_000, deadline_hours=1),
        price_per_gpu_hour=0.5,
    )
    rtx = tiers["RTX 4090"]
    assert rtx["gpus_needed"] == plan.total_gpus
    assert rtx["est_throughput"] == pytest.approx(
        plan.replicas * plan.replica_output_tokens_per_second
    )
    assert rtx["throughput_unit"] == "output tokens per second"
    cost = plan.total_gpus * 1.0  # one hour
    assert rtx["est_cost_range"] == {
        "low": 0.5 * cost,
        "high": 0.8 * cost,
        "min": 0.5 * cost,
        "max": 0.8 * cost,
        "currency": "USD",
    }
    assert rtx["serving"]["usd_per_million_output_tokens"] == pytest.approx(
        plan.usd_per_million_output_tokens
    )
    assert tiers["H100 SXM"]["price_per_gpu_hour"]["low"] == 3.0
    assert tiers["L4"]["est_cost_range"] is None  # no offers
    # 16.06 GB of fp16 weights exceed two 10 GiB cards' 2 x 7.66 GB usable: four in TP.
    assert tiers["RTX 3080"]["gpus_per_replica"] == 4
    assert body["recommended_gpu_tiers"][0]["est_cost_range"] is not None  # priced first
    assert body["estimated_cost_range"]["currency"] == "USD"
    assert body["estimated_time_per_unit"] == pytest.approx(
        1 / body["recommended_gpu_tiers"][0]["est_throughput"]
    )
    assert body["confidence"] == 0.8
    assert any("Llama 3 8B" in sentence for sentence in body["reasoning"])
    assert (
        "Prices are per GPU-hour ranges of available, non-stale USD offers for 2 GPU models "
        "(instance price divided by its GPU count)."
    ) in body["reasoning"]


def test_no_offers_gives_no_cost_range(api, db):
    response = api.post("/estimate-workload", LLAMA_8B)

    assert response.status_code == 200
    body = response.json()
    assert body["estimated_cost_range"] is None
    assert body["cheapest_offers"] == []


@pytest.mark.parametrize(
    ("workload_type", "model_name", "quality"),
    [
        ("training", "llama-3-8b", "high"),
        ("fine_tuning", "Mistral 7B", "low"),
        ("image_generation", "SDXL", "medium"),
        ("image_generation", None, "low"),
        ("video_processing", None, "high"),
        ("data_processing", None, "standard"),
        ("llm_inference", "llama3.1:405b", "low"),
        ("llm_inference", "deepseek-r1", "standard"),
        ("llm_inference", "my-finetune-13b", "medium"),
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
    assert body["working"]


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
    [
        ({"workload_type": "mining"}, "workload_type"),
        ({"quality": "ultra"}, "quality"),
        ({"requests_per_second": 5}, "quantity"),  # a rate and a quantity: which one?
        ({"quantity": None, "requests_per_second": 5, "concurrency": 8}, "concurrency"),
        ({"quantity": None}, "quantity"),
        ({"duration_hours": None}, "duration_hours"),
        ({"workload_type": "training", "concurrency": 8}, "concurrency"),
        ({"context_tokens": 100}, "context_tokens"),
    ],
)
def test_domain_errors_are_400(api, db, change, field):
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
        ({"precision": "fp64"}, "precision"),
        ({"requests_per_second": 0}, "requests_per_second"),
        ({"concurrency": 1.5}, "concurrency"),
        ({"prompt_tokens": -1}, "prompt_tokens"),
    ],
)
def test_type_and_range_errors_are_422(api, db, change, field):
    assert_error(api.post("/estimate-workload", {**LLAMA_8B, **change}), 422, field)


def test_overflowing_quantity_is_422(api, db):
    raw = '{"workload_type": "llm_inference", "quantity": 1e309, "duration_hours": 1}'

    assert_error(api.post("/estimate-workload", raw), 422, "quantity")
