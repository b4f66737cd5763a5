"""The tools on the demo market, called the way a model calls them (JSON arguments)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.ai_assistant.tool_inputs import ToolCaller
from apps.ai_assistant.tool_results import gpu_is_consumer
from apps.ai_assistant.toolbox import MAX_RESULT_CHARS, ToolOutcome, run_tool
from apps.math_core.services.workload import WorkloadRequest, workload_estimate
from apps.providers.models import GPUOffer

pytestmark = pytest.mark.usefixtures("market")
CALLER = ToolCaller()


def _ok(name: str, arguments: Any) -> dict[str, Any]:
    outcome = run_tool(name, arguments, caller=CALLER)
    assert outcome.ok, outcome.error
    assert outcome.result is not None
    return outcome.result


def _error(name: str, arguments: Any) -> str:
    outcome = run_tool(name, arguments, caller=CALLER)
    assert not outcome.ok
    assert outcome.result is None
    return str(outcome.error)


def test_search_across_countries_is_one_list_cheapest_first() -> None:
    result = _ok("search_offers", {"countries": ["DE", "fi", "SE"], "limit": 20})
    prices = [offer["price_per_hour"] for offer in result["offers"]]
    assert prices == sorted(prices)
    assert len(result["offers"]) == 20
    listed = GPUOffer.objects.filter(
        gpu_model__isnull=False, availability_status="available", country__in=["DE", "FI", "SE"]
    )
    assert result["total"] == listed.count()
    cheapest = listed.order_by("price_per_hour", "id").first()
    assert cheapest is not None
    assert result["offers"][0]["price_per_hour"] == float(cheapest.price_per_hour)


def test_search_results_carry_ids_and_total_memory() -> None:
    [offer] = _ok("search_offers", {"gpu": "H200 SXM", "gpu_count_min": 8, "limit": 1})["offers"]
    stored = GPUOffer.objects.get(id=offer["id"])
    assert offer["gpu_count"] == stored.gpu_count == 8
    assert offer["total_vram_gb"] == stored.gpu_memory_gb * 8
    assert offer["price_per_gpu_hour"] == round(float(stored.price_per_hour) / 8, 4)


def test_estimate_passes_the_serving_inputs_and_says_which_demand_it_used() -> None:
    arguments = {
        "model_name": "Llama 3 8B",
        "precision": "bf16",
        "requests_per_second": 2,
        "output_tokens_per_request": 100,
        "concurrency": 8,
        "context_length": 16384,
    }
    result = _ok("estimate_workload", arguments)
    estimate = workload_estimate(
        request=WorkloadRequest(
            workload_type="llm_inference",
            model_name="Llama 3 8B",
            precision="bf16",
            requests_per_second=2,
            output_tokens=100,
            context_tokens=16384,
        )
    )
    assert "requests_per_second sets the demand; concurrency left out" in " ".join(result["notes"])
    assert (result["min_vram_gb"], result["recommended_vram_gb"]) == (
        estimate.min_vram_gb,
        estimate.recommended_vram_gb,
    )
    assert result["serving"]["precision"] == "bf16"
    assert result["precision"] == "bf16"
    assert all(tier["price_per_hour"]["min"] > 0 for tier in result["tiers"])
    h100 = next(tier for tier in result["tiers"] if tier["gpu_model"] == "H100 SXM")
    assert (h100["vendor"], h100["is_consumer"], h100["gpu_vram_gb"]) == ("nvidia", False, 80.0)
    assert h100["usd_per_million_output_tokens"] > 0


def test_a_long_context_is_sized_and_the_cheapest_offers_exist() -> None:
    long = _ok(
        "estimate_workload",
        {"model_name": "Llama 3 70B", "precision": "fp8", "context_length": 32768},
    )
    short = _ok(
        "estimate_workload",
        {"model_name": "Llama 3 70B", "precision": "fp8", "context_length": 4096},
    )
    estimate = workload_estimate(
        request=WorkloadRequest(
            workload_type="llm_inference",
            model_name="Llama 3 70B",
            precision="fp8",
            context_tokens=32768,
            concurrency=1,
        )
    )
    assert long["min_vram_gb"] == estimate.min_vram_gb
    assert long["min_vram_gb"] > short["min_vram_gb"]  # the 32k KV cache is held
    counts = {tier.gpu_model: tier.gpus_needed for tier in estimate.recommended_gpu_tiers}
    assert {tier["gpu_model"]: tier["gpus_needed"] for tier in long["tiers"]}.items() <= (
        counts.items()
    )
    for tier in long["tiers"]:
        assert tier["total_vram_gb"] >= long["min_vram_gb"] - 0.1  # min_vram is rounded up
    assert "sized for one request in flight" in " ".join(long["notes"])
    assert long["cheapest_offers"]
    for choice in long["cheapest_offers"]:
        stored = GPUOffer.objects.get(id=choice["offer_id"])
        assert stored.gpu_count == choice["gpu_count"]
        assert choice["deployment_usd_per_hour"] == pytest.approx(
            choice["offers_needed"] * float(stored.price_per_hour)
        )


def test_fp32_and_an_unnamed_size_are_sized() -> None:
    fp32 = _ok("estimate_workload", {"model_name": "Llama 3 8B", "precision": "fp32"})
    fp16 = _ok("estimate_workload", {"model_name": "Llama 3 8B", "precision": "fp16"})
    assert fp32["min_vram_gb"] > fp16["min_vram_gb"]
    by_size = _ok("estimate_workload", {"params_billion": 13})
    named = _ok("estimate_workload", {"model_name": "my-model", "params_billion": 13})
    assert by_size["min_vram_gb"] == named["min_vram_gb"]
    assert (
        "'my-model' is not in the model registry: sized as a 13B dense model." in (named["notes"])
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"workload_type": "fine_tuning", "model_name": "Llama 3 8B"}, "quantity (training"),
        ({"model_name": "GPT-5"}, "unknown model 'GPT-5'"),
        ({"workload_type": "image_generation", "model_name": "Llama 3 8B"}, "unknown image model"),
    ],
)
def test_estimates_it_cannot_make_are_tool_errors(arguments: Any, message: str) -> None:
    assert message in _error("estimate_workload", arguments)


def test_training_names_only_what_it_still_needs() -> None:
    arguments = {"workload_type": "training", "params_billion": 7.0, "duration_hours": 72.0}
    assert _error("estimate_workload", arguments) == (
        "quantity (training tokens, dataset tokens x epochs) is required to size training"
    )
    arguments = {"workload_type": "training", "params_billion": 7.0}
    assert _error("estimate_workload", arguments) == (
        "quantity (training tokens, dataset tokens x epochs) and duration_hours are required to "
        "size training"
    )


def test_search_by_the_memory_of_the_whole_instance() -> None:
    result = _ok("search_offers", {"gpu_memory_total_min": 150, "limit": 20})
    assert len(result["offers"]) == 20
    assert all(offer["total_vram_gb"] >= 150 for offer in result["offers"])
    holding = [
        offer
        for offer in GPUOffer.objects.filter(
            gpu_model__isnull=False, availability_status="available"
        )
        if offer.gpu_memory_gb * offer.gpu_count >= 150
    ]
    assert result["total"] == len(holding)
    cheapest = min(float(offer.price_per_hour) for offer in holding)
    assert result["offers"][0]["price_per_hour"] == cheapest


def test_recommend_drops_offers_without_the_memory() -> None:
    small = GPUOffer.objects.filter(gpu_model="RTX 3060", gpu_count=1).first()
    large = GPUOffer.objects.filter(gpu_model="H200 SXM", gpu_count=1).first()
    assert small is not None
    assert large is not None
    ids = [str(small.id), str(large.id)]
    result = _ok("recommend_offers", {"offer_ids": ids, "min_vram_gb": 80, "top_k": 2})
    assert [offer["id"] for offer in result["offers"]] == [str(large.id)]
    assert result["offers"][0]["rank"] == 1
    assert result["dropped_for_memory"] == 1
    assert "has 500 GB" in _error("recommend_offers", {"offer_ids": ids, "min_vram_gb": 500})
    unknown = "5b0a4f8e-8f0e-4c3e-9c53-1d3c0f9f1a11"
    assert _error("recommend_offers", {"offer_ids": [unknown]}) == (
        f"offer_ids: unknown offers {unknown}"
    )


def test_cost_per_token_on_an_offer_or_a_priced_gpu() -> None:
    offer = GPUOffer.objects.filter(gpu_model="H100 SXM", gpu_count=1).first()
    assert offer is not None
    on_offer = _ok("cost_per_token", {"offer_id": str(offer.id), "model_size": "8b"})
    by_hand = _ok(
        "cost_per_token",
        {"gpu_type": "H100 SXM", "price_per_hour": float(offer.price_per_hour), "model_size": "8b"},
    )
    assert on_offer["cost_per_million_tokens"] == by_hand["cost_per_million_tokens"] > 0
    assert on_offer["basis"].startswith("batched serving model")
    assert on_offer["cost_per_million_tokens_batch_1"] > on_offer["cost_per_million_tokens"]
    assert on_offer["serving_batch"] > 1
    assert "give offer_id, or gpu_type and price_per_hour" in _error(
        "cost_per_token", {"model_size": "8b"}
    )
    assert "70b (fp16) does not fit" in _error(
        "cost_per_token", {"offer_id": str(offer.id), "model_size": "70b"}
    )


def test_specs_history_and_unknown_ids() -> None:
    specs = _ok("get_gpu_specs", {"gpu": "rtx 4090"})
    assert (specs["gpu_model"], specs["vram_gb"], specs["is_consumer"]) == ("RTX 4090", 24, True)
    assert "unknown or ambiguous GPU 'Voodoo 5'" in _error("get_gpu_specs", {"gpu": "Voodoo 5"})
    offer = GPUOffer.objects.filter(gpu_model__isnull=False).first()
    assert offer is not None
    history = _ok("get_price_history", {"offer_id": str(offer.id), "window": "24h"})
    assert history["points"][-1]["price_per_hour"] == float(offer.price_per_hour)
    missing = "5b0a4f8e-8f0e-4c3e-9c53-1d3c0f9f1a11"
    assert _error("get_price_history", {"offer_id": missing}) == "Offer not found"
    assert "window: Input should be" in _error(
        "get_price_history", {"offer_id": missing, "window": "1y"}
    )


def test_extra_keys_and_oversized_results_are_handled() -> None:
    assert "gpus: Extra inputs are not permitted" in _error("search_offers", {"gpus": "H100"})
    oversized = json.dumps({"gpu": "x" * 30_000})
    assert _error("search_offers", oversized) == "arguments longer than 20000 characters"
    big = ToolOutcome("search_offers", {}, ok=True, result={"blob": "x" * (MAX_RESULT_CHARS * 2)})
    sent = json.loads(big.for_model())
    assert sent["truncated"] is True
    assert len(sent["result_prefix"]) == MAX_RESULT_CHARS


def test_consumer_cards_are_the_geforce_names() -> None:
    assert [
        gpu_is_consumer(name) for name in ("RTX 4090", "RTX A6000", "RTX 6000 Ada", "H100")
    ] == [
        True,
        False,
        False,
        False,
    ]
