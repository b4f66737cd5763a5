import math
from dataclasses import dataclass

import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.workload import (
    MODEL_PROFILES,
    GpuTier,
    estimate_llm_vram,
    estimate_workload,
    resolve_model,
)


@dataclass(frozen=True)
class Gpu:
    gpu_model: str
    vram_gb: float | None
    memory_bandwidth_gbps: float | None
    tflops_fp16: float | None


@dataclass(frozen=True)
class TrainingGpu(Gpu):
    tflops_bf16: float | None = None


H100 = Gpu("H100 SXM", 80.0, 3350.0, 989.4)
A10 = Gpu("A10", 24.0, 600.0, 125.0)
T4 = Gpu("T4", 16.0, 320.0, 65.0)
SMALL = Gpu("Tiny 8GB", 8.0, 300.0, 40.0)
UNKNOWN_BANDWIDTH = Gpu("Mystery", 48.0, None, 150.0)


def test_llm_vram_for_llama_3_70b_fp16_at_8k_context():
    vram = estimate_llm_vram(
        params_billion=70.55,
        precision="fp16",
        context_length=8192,
        concurrency=1,
        layers=80,
        kv_heads=8,
        head_dim=128,
    )

    # KV: 2 x 80 x 8 x 128 x 8192 x 2 bytes = 2.68435456 GB; overhead 10% of weights + KV.
    assert vram.weights_gb == pytest.approx(141.1, abs=1e-9)
    assert vram.kv_cache_gb == pytest.approx(2.68435456, abs=1e-12)
    assert vram.overhead_gb == pytest.approx(14.378435456, abs=1e-9)
    assert vram.runtime_gb == 1.0
    assert vram.total_gb == pytest.approx(159.162790016, abs=1e-9)


def test_llm_vram_scales_kv_cache_with_concurrency():
    vram = estimate_llm_vram(
        params_billion=8.03,
        precision="int4",
        context_length=4096,
        concurrency=8,
        layers=32,
        kv_heads=8,
        head_dim=128,
    )

    assert vram.weights_gb == pytest.approx(4.015, abs=1e-12)
    assert vram.kv_cache_gb == pytest.approx(8 * 0.536870912, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("llama-3-70b", "Llama 3 70B"),
        ("meta-llama/Meta-Llama-3-70B", "Llama 3 70B"),
        ("Meta-Llama-3-70B-Instruct", "Llama 3 70B"),
        ("LLAMA 3 8B", "Llama 3 8B"),
        ("llama3.1:405b", "Llama 3.1 405B"),
        ("Llama-2-13b-chat-hf", "Llama 2 13B"),
        ("mixtral_8x7b", "Mixtral 8x7B"),
        ("Qwen/Qwen2-72B", "Qwen2 72B"),
        ("sdxl", "SDXL"),
        ("stabilityai/stable-diffusion-xl-base-1.0", "SDXL"),
        ("SD 1.5", "Stable Diffusion 1.5"),
    ],
)
def test_resolve_model_accepts_aliases(name, canonical):
    assert resolve_model(name).name == canonical


@pytest.mark.parametrize("name", ["llama-4-9000b", "", "   ", "gpt"])
def test_resolve_model_rejects_unknown_names(name):
    with pytest.raises(AlgorithmInputError) as error:
        resolve_model(name)

    assert error.value.field == "model_name"


def test_every_profile_cites_a_source_and_has_one_architecture():
    for profile in MODEL_PROFILES.values():
        assert profile.source
        assert (profile.llm is None) != (profile.diffusion is None)


def test_llm_inference_sizes_each_gpu_and_prices_the_range():
    estimate = estimate_workload(
        workload_type="llm_inference",
        quantity=3_600_000,  # 1000 tokens/s over one hour
        duration_hours=1,
        quality="high",
        model_name="llama-3-8b",
        gpus=[T4, A10, H100, UNKNOWN_BANDWIDTH],
        offers_price_range={"H100 SXM": (2.0, 3.0), "A10": (0.5, 0.8)},
    )

    # Weights 8.03 x 2 = 16.06 GB; KV 2 x 32 x 8 x 128 x 4096 x 2 = 0.536870912 GB.
    model_memory = 16.06 + 0.536870912
    assert estimate.min_vram_gb == 19.3  # ceil((model_memory x 1.1 + 1) to 0.1 GB)
    assert estimate.recommended_vram_gb == 24.2  # ceil(19.3 x 1.25 to 0.1 GB)
    h100_rate = 0.6 * 3350 / 16.06  # memory-bound decode per H100
    a10_rate = 0.6 * 600 / 16.06
    t4_pair_rate = 0.6 * 2 * 320 / 16.06  # the model needs two 16 GB T4s
    assert math.ceil(model_memory * 1.1 / 15) == 2
    assert estimate.recommended_gpu_tiers == (
        GpuTier("H100 SXM", 8, pytest.approx(8 * h100_rate, rel=1e-12), (16.0, 24.0)),
        GpuTier("A10", 45, pytest.approx(45 * a10_rate, rel=1e-12), (22.5, 36.0)),
        GpuTier("T4", 84, pytest.approx(42 * t4_pair_rate, rel=1e-12), None),
    )
    assert estimate.estimated_cost_range == (16.0, 36.0)
    assert estimate.throughput_unit == "output tokens per second"
    assert estimate.confidence == 0.8
    assert estimate.reasoning[0].startswith("'llama-3-8b' resolves to Llama 3 8B")
    assert "Not recommended (missing bandwidth or TFLOPS figures): Mystery." in estimate.reasoning


def test_llm_inference_without_model_name_states_the_assumption():
    estimate = estimate_workload(
        workload_type="llm_inference",
        quantity=1000,
        duration_hours=1,
        quality="low",
        gpus=[A10],
        offers_price_range=None,
    )

    assert (
        estimate.reasoning[0] == "No model_name given, so Llama 3 8B is assumed for llm_inference."
    )
    assert estimate.confidence == 0.6
    assert estimate.estimated_cost_range is None
    assert estimate.recommended_gpu_tiers[0].gpus_needed == 1


def test_training_uses_sixteen_bytes_per_parameter_and_prefers_bf16():
    h100 = TrainingGpu("H100 SXM", 80.0, 3350.0, 500.0, tflops_bf16=989.4)

    estimate = estimate_workload(
        workload_type="training",
        quantity=1e9,
        duration_hours=10,
        quality="medium",
        model_name="Llama 3 8B",
        gpus=[h100],
        offers_price_range={"H100 SXM": (2.0, 2.5)},
    )

    # 8.03 x 16 x 1.2 = 154.176 GB -> ceil(154.176 x 1.1 / 79) = 3 GPUs per replica.
    # Replica rate 3 x 0.4 x 989.4e12 / (6 x 8.03e9) = 24,642 tokens/s < 27,778 needed -> 2.
    assert estimate.min_vram_gb == 170.6
    replica_rate = 3 * 0.4 * 989.4e12 / (6 * 8.03e9)
    assert estimate.recommended_gpu_tiers == (
        GpuTier("H100 SXM", 6, pytest.approx(2 * replica_rate, rel=1e-12), (120.0, 150.0)),
    )
    assert estimate.confidence == 0.6


def test_fine_tuning_quality_selects_qlora_lora_or_full():
    minimums = {
        quality: estimate_workload(
            workload_type="fine_tuning",
            quantity=1e6,
            duration_hours=1,
            quality=quality,
            model_name="llama-3-8b",
            gpus=[H100],
        ).min_vram_gb
        for quality in ("low", "medium", "high")
    }

    # low: (8.03 x 0.5 + 0.0803 x 16) x 1.2 = 6.35976 GB -> x 1.1 + 1 = 7.995736 -> 8.0
    # medium: (8.03 x 2 + 0.0803 x 16) x 1.2 = 20.81376 -> 23.895136 -> 23.9
    # high: 8.03 x 16 x 1.2 = 154.176 -> 170.5936 -> 170.6
    assert minimums == {"low": 8.0, "medium": 23.9, "high": 170.6}


def test_image_generation_keeps_each_image_on_one_gpu():
    estimate = estimate_workload(
        workload_type="image_generation",
        quantity=1000,
        duration_hours=2,
        quality="medium",
        model_name="sdxl",
        gpus=[SMALL, A10],
        offers_price_range={"A10": (0.6, 0.6)},
    )

    # SDXL fp16 7.0 GB + 2.0 GB activations = 9.0 GB -> 9.0 x 1.1 + 1 = 10.9 GB.
    # A10: 0.2 x 125 TFLOP/s / (30 steps x 5.4 TFLOPs) = 0.1543 images/s; 0.1389 needed -> 1 GPU.
    assert estimate.min_vram_gb == 10.9
    assert estimate.recommended_gpu_tiers == (
        GpuTier("A10", 1, pytest.approx(0.2 * 125 / 162, rel=1e-12), (1.2, 1.2)),
    )
    assert "Not recommended (not enough VRAM on one GPU): Tiny 8GB." in estimate.reasoning


def test_video_and_data_processing_use_their_rules():
    video = estimate_workload(
        workload_type="video_processing",
        quantity=120,  # two hours of 30 fps video in one hour: 60 frames/s needed
        duration_hours=1,
        quality="high",
        gpus=[A10],
    )
    data = estimate_workload(
        workload_type="data_processing",
        quantity=100,
        duration_hours=1,
        quality="low",
        gpus=[A10],
    )

    # Video: 4K frames 8.2944 MP x 150 GFLOPs/MP; A10 at 30% of 125 TFLOP/s.
    frames_per_second = 0.3 * 125e12 / (150e9 * 3840 * 2160 / 1e6)
    assert video.min_vram_gb == 14.2  # 12 GB x 1.1 + 1
    assert frames_per_second == pytest.approx(30.140817901234566, rel=1e-12)
    assert video.recommended_gpu_tiers == (
        GpuTier("A10", 2, pytest.approx(2 * frames_per_second / 1800, rel=1e-12), None),
    )
    assert video.confidence == 0.35
    # Data: 2 x 8 GB chunk = 16 GB -> 18.6 GB; rate min(0.5 x 600 / 2, 12) = 12 GB/s.
    assert data.min_vram_gb == 18.6
    assert data.recommended_gpu_tiers == (GpuTier("A10", 1, 12.0, None),)


def test_no_suitable_gpu_halves_confidence():
    estimate = estimate_workload(
        workload_type="image_generation",
        quantity=10,
        duration_hours=1,
        quality="low",
        model_name="sdxl",
        gpus=[SMALL],
    )

    assert estimate.recommended_gpu_tiers == ()
    assert estimate.confidence == 0.25
    assert "No listed GPU model can run this workload as specified." in estimate.reasoning


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"workload_type": "mining"}, "workload_type"),
        ({"quality": "ultra"}, "quality"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "10"}, "quantity"),
        ({"duration_hours": -1}, "duration_hours"),
        ({"model_name": "gpt-9"}, "model_name"),
        ({"model_name": "sdxl"}, "model_name"),
        ({"workload_type": "image_generation", "model_name": "llama-3-8b"}, "model_name"),
        ({"offers_price_range": {"A10": (0.0, 1.0)}}, "offers_price_range"),
        ({"offers_price_range": {"A10": (2.0, 1.0)}}, "offers_price_range"),
        ({"offers_price_range": {"A10": (1.0,)}}, "offers_price_range"),
    ],
)
def test_estimate_workload_rejects_bad_input(overrides, field):
    arguments = {
        "workload_type": "llm_inference",
        "quantity": 1000,
        "duration_hours": 1,
        "quality": "medium",
        "model_name": "llama-3-8b",
        "gpus": [A10],
        **overrides,
    }

    with pytest.raises(AlgorithmInputError) as error:
        estimate_workload(**arguments)

    assert error.value.field == field
