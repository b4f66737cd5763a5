"""workload_estimate: every workload type sized over GPU kinds, with by-hand figures where the
rule is short (memory, training time, image and video rates) and the serving model's own plan
where it is not (LLM tiers must be exactly what sizing.serving_plan says)."""

import json
import math

import pytest

from algorithms.calibrate import REFERENCES_PATH
from algorithms.errors import AlgorithmInputError
from algorithms.sizing import Demand, serving_plan
from algorithms.workload import WorkloadRequest, workload_estimate

GIB = 2**30 / 1e9  # GB per GiB: VRAM is sold in binary units
DONE_WHEN = json.loads(REFERENCES_PATH.read_text(encoding="utf-8"))["done_when"]


def vram_for(memory_gb):
    """(memory + 2 GB reserve) / 0.9 utilisation, in GiB, rounded up to 0.1."""
    return math.ceil((memory_gb + 2) / 0.9 / GIB * 10 - 1e-9) / 10


def estimate(gpus, names, prices=None, **fields):
    return workload_estimate(
        request=WorkloadRequest(**fields),
        gpus=[gpus[name] for name in names],
        prices=prices or {},
    )


def test_llm_inference_tiers_are_the_serving_plans_cheapest_first(gpus):
    result = estimate(
        gpus,
        ["T4", "A10", "H100 SXM"],
        prices={"H100 SXM": (2.0, 3.0), "A10": (0.5, 0.8)},
        workload_type="llm_inference",
        quantity=3_600_000,  # 1000 output tokens/s for an hour
        duration_hours=1,
        quality="high",
        model_name="llama-3-8b",
    )

    demand = Demand(total_output_tokens=3_600_000, deadline_hours=1)
    by_gpu = {tier.gpu_model: tier for tier in result.recommended_gpu_tiers}
    for name, price in (("H100 SXM", 2.0), ("A10", 0.5), ("T4", None)):
        plan = serving_plan(
            model="llama-3-8b",
            gpu=gpus[name],
            prompt_tokens=500,
            output_tokens=200,
            quality="high",
            demand=demand,
            price_per_gpu_hour=price,
        )
        tier = by_gpu[name]
        assert (tier.gpus_needed, tier.replicas) == (plan.total_gpus, plan.replicas)
        assert tier.gpus_per_replica == plan.memory.gpus_per_replica
        assert tier.est_throughput == pytest.approx(
            plan.replicas * plan.replica_output_tokens_per_second
        )
        assert tier.serving.usd_per_million_output_tokens == plan.usd_per_million_output_tokens
    priced = [tier for tier in result.recommended_gpu_tiers if tier.est_cost_range]
    lows = [tier.est_cost_range[0] for tier in priced]
    assert lows == sorted(lows)
    assert result.recommended_gpu_tiers[-1].gpu_model == "T4"  # no price: last
    h100 = by_gpu["H100 SXM"]
    assert h100.deployment_usd_per_hour == (h100.gpus_needed * 2.0, h100.gpus_needed * 3.0)
    assert result.estimated_cost_range == (lows[0], max(t.est_cost_range[1] for t in priced))
    # fp16 weights 8.03 x 2 = 16.06 GB + one 700-token context at 131,072 B per token.
    assert result.min_vram_gb == vram_for(16.06 + 700 * 131_072 / 1e9)
    assert result.estimated_time_per_unit == pytest.approx(
        1 / result.recommended_gpu_tiers[0].est_throughput
    )
    assert result.confidence == 0.8
    assert result.reasoning[0].startswith("'llama-3-8b' resolves to Llama 3 8B")
    assert any("at batch 1 (one request at a time" in line for line in result.reasoning)
    # 32 layers x 2,048 KV elements x 2 bytes = 131,072 B per token.
    assert "the KV cache (fp16) takes 0.131 MB per token" in result.reasoning[1]


def test_done_when_case_by_request_rate_on_h100(gpus):
    result = estimate(
        gpus,
        ["H100 SXM"],
        prices={"H100 SXM": (2.5, 2.5)},
        workload_type="llm_inference",
        model_name="Llama 3 70B",
        precision="fp8",
        context_tokens=32_768,
        requests_per_second=20,
    )

    (tier,) = result.recommended_gpu_tiers
    assert DONE_WHEN["gpus_per_replica"][0] <= tier.gpus_per_replica
    assert tier.gpus_per_replica <= DONE_WHEN["gpus_per_replica"][1]
    assert DONE_WHEN["replicas"][0] <= tier.replicas <= DONE_WHEN["replicas"][1]
    low, high = DONE_WHEN["gpu_hours_per_million_output_tokens"]
    assert low * 2.5 <= tier.serving.usd_per_million_output_tokens <= high * 2.5
    assert result.window_hours == 1.0  # a rate without duration_hours: costs per hour
    assert tier.est_cost_range == tier.deployment_usd_per_hour
    assert "NVLink" in tier.interconnect_advice
    steps = {step.name: step for step in result.working}
    assert steps["window_hours"].kind == "assumed"
    assert steps["required_output_tokens_per_second"].value == 4000.0


def test_llm_without_model_name_states_the_assumption_and_an_estimated_model_costs_less(gpus):
    assumed = estimate(
        gpus, ["A10"], workload_type="llm_inference", quantity=1000, duration_hours=1
    )
    sized = estimate(
        gpus,
        ["A10"],
        workload_type="llm_inference",
        quantity=1000,
        duration_hours=1,
        model_name="my-finetune-3b",
    )

    assert assumed.reasoning[0] == "No model_name given, so Llama 3.1 8B is assumed."
    assert assumed.confidence == 0.6
    assert assumed.estimated_cost_range is None
    assert sized.confidence == 0.7
    assert "read as 3B parameters" in sized.reasoning[0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"requests_per_second": 1, "concurrency": 4}, "concurrency"),
        ({"requests_per_second": 1, "quantity": 10, "duration_hours": 1}, "quantity"),
        ({}, "quantity"),
        ({"quantity": 10}, "duration_hours"),
        ({"quantity": 10, "duration_hours": 1, "precision": "fp64"}, "precision"),
        ({"quantity": 10, "duration_hours": 1, "prompt_tokens": -1}, "prompt_tokens"),
        ({"concurrency": 1, "context_tokens": 100}, "context_tokens"),
    ],
)
def test_llm_demand_and_serving_inputs_are_checked(gpus, fields, field):
    with pytest.raises(AlgorithmInputError) as error:
        estimate(gpus, ["A10"], workload_type="llm_inference", **fields)

    assert error.value.field == field


def test_training_adds_gpus_until_the_deadline_is_met(gpus):
    result = estimate(
        gpus,
        ["H100 SXM"],
        prices={"H100 SXM": (2.0, 2.5)},
        workload_type="training",
        quantity=1e9,
        duration_hours=10,
        quality="medium",
        model_name="Llama 3 8B",
    )

    # 8.03B x 16 bytes x 1.2 = 154.176 GB -> 3 H100s (75.3 GB usable each) for memory;
    # 6 x 8.03e9 x 1e9 FLOPs at 40 % of 989.4 TFLOPS = 33.8 GPU-hours -> 4 GPUs for 10 hours.
    gpu_hours = 6 * 8.03e9 * 1e9 / (989.4e12 * 0.4) / 3600
    (tier,) = result.recommended_gpu_tiers
    assert (tier.gpus_per_replica, tier.gpus_needed) == (3, 4)
    assert tier.est_throughput == pytest.approx(1e9 / (gpu_hours / 4 * 3600))
    assert tier.est_cost_range == pytest.approx((gpu_hours * 2.0, gpu_hours * 2.5))
    assert result.min_vram_gb == vram_for(8.03 * 16 * 1.2)
    assert "NVLink" in tier.interconnect_advice
    assert result.confidence == 0.6


def test_fine_tuning_quality_selects_qlora_lora_or_full(gpus):
    minimums = {
        quality: estimate(
            gpus,
            ["H100 SXM"],
            workload_type="fine_tuning",
            quantity=1e6,
            duration_hours=1,
            quality=quality,
            model_name="llama-3-8b",
        ).min_vram_gb
        for quality in ("low", "medium", "standard", "high")
    }

    assert minimums == {
        "low": vram_for((8.03 * 0.5 + 0.0803 * 16) * 1.2),
        "medium": vram_for((8.03 * 2 + 0.0803 * 16) * 1.2),
        "standard": vram_for((8.03 * 2 + 0.0803 * 16) * 1.2),
        "high": vram_for(8.03 * 16 * 1.2),
    }


def test_image_generation_keeps_each_image_on_one_gpu(gpus):
    result = estimate(
        gpus,
        ["RTX 3080", "A10"],
        prices={"A10": (0.6, 0.6)},
        workload_type="image_generation",
        quantity=1000,
        duration_hours=2,
        quality="medium",
        model_name="stable-diffusion-xl",
    )

    # SDXL: 7 GB fp16 weights + 2 GB activations = 9 GB > 7.7 GB usable on a 10 GiB RTX 3080.
    # A10: 0.2 x 125 TFLOPS / (30 steps x 5.4 TFLOPs) = 0.1543 images/s; 0.1389 needed.
    (tier,) = result.recommended_gpu_tiers
    assert (tier.gpu_model, tier.gpus_needed) == ("A10", 1)
    assert tier.est_throughput == pytest.approx(0.2 * 125 / 162)
    assert tier.est_cost_range == pytest.approx((1.2, 1.2))
    assert result.min_vram_gb == vram_for(9.0)
    assert result.recommended_vram_gb == math.ceil(vram_for(9.0) * 1.25 * 10 - 1e-9) / 10
    assert "Not suitable (not enough VRAM on one GPU): RTX 3080." in result.reasoning


def test_video_and_data_processing_use_their_rules(gpus):
    video = estimate(
        gpus,
        ["A10"],
        workload_type="video_processing",
        quantity=120,  # two hours of 30 fps video in one hour: 60 frames/s needed
        duration_hours=1,
        quality="high",
    )
    data = estimate(gpus, ["A10"], workload_type="data_processing", quantity=100, duration_hours=1)

    # Video: 4K frames 8.2944 MP x 150 GFLOPs/MP; A10 at 30 % of 125 TFLOPS = 30.14 frames/s.
    frames_per_second = 0.3 * 125e12 / (150e9 * 3840 * 2160 / 1e6)
    (tier,) = video.recommended_gpu_tiers
    assert tier.gpus_needed == 2
    assert tier.est_throughput == pytest.approx(2 * frames_per_second / 1800)
    assert video.min_vram_gb == vram_for(12.0)
    assert video.confidence == 0.35
    # Data, quality standard = 5 passes: min(0.5 x 600 / 5, 12) = 12 GB/s on 2 x 8 GB in memory.
    (tier,) = data.recommended_gpu_tiers
    assert (tier.gpus_needed, tier.est_throughput) == (1, 12.0)
    assert data.min_vram_gb == vram_for(16.0)


def test_no_suitable_gpu_halves_confidence(gpus):
    result = estimate(
        gpus,
        ["RTX 3080"],
        workload_type="image_generation",
        quantity=10,
        duration_hours=1,
        model_name="sdxl",
    )

    assert result.recommended_gpu_tiers == ()
    assert result.confidence == 0.25
    assert result.estimated_time_per_unit is None
    assert "No listed GPU model can run this workload as specified." in result.reasoning


@pytest.mark.parametrize(
    ("fields", "prices", "field"),
    [
        ({"workload_type": "mining"}, {}, "workload_type"),
        ({"quality": "ultra"}, {}, "quality"),
        ({"quantity": 0}, {}, "quantity"),
        ({"quantity": "10"}, {}, "quantity"),
        ({"duration_hours": -1}, {}, "duration_hours"),
        ({"model_name": "gpt-9"}, {}, "model_name"),
        ({"model_name": "sdxl"}, {}, "model_name"),
        ({"workload_type": "image_generation", "model_name": "llama-3-8b"}, {}, "model_name"),
        ({"workload_type": "training", "concurrency": 3}, {}, "concurrency"),
        ({}, {"A10": (0.0, 1.0)}, "prices"),
        ({}, {"A10": (2.0, 1.0)}, "prices"),
        ({}, {"A10": (1.0,)}, "prices"),
    ],
)
def test_bad_input_names_the_field(gpus, fields, prices, field):
    arguments = {
        "workload_type": "llm_inference",
        "quantity": 1000,
        "duration_hours": 1,
        "model_name": "llama-3-8b",
        **fields,
    }

    with pytest.raises(AlgorithmInputError) as error:
        estimate(gpus, ["A10"], prices=prices, **arguments)

    assert error.value.field == field
