import math

import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.hardware import interconnect_for
from algorithms.model_registry import model_resolve
from algorithms.serving import (
    BYTES_PER_VRAM_GB,
    CALIBRATED_EFFICIENCY,
    GPU_MEMORY_UTILIZATION,
    RUNTIME_RESERVE_GB_PER_GPU,
    memory_plan,
    prefill_seconds,
    step_time,
    tensor_parallel_degrees,
    weight_bytes_read,
)


def plan_for(
    gpus, model, gpu, precision="fp16", kv="fp16", context=8192, per_sequence=None, tp=None
):
    return memory_plan(
        model=model_resolve(model),
        gpu=gpus[gpu],
        precision=precision,
        kv_precision=kv,
        context_tokens=context,
        tokens_per_sequence=per_sequence or context,
        tensor_parallel=tp,
    )


def test_70b_fp16_needs_two_h100s_and_its_kv_cache_is_split_over_kv_heads(gpus):
    plan = plan_for(gpus, "llama-3.1-70b", "H100 SXM")
    usable = 80 * BYTES_PER_VRAM_GB / 1e9 * GPU_MEMORY_UTILIZATION - RUNTIME_RESERVE_GB_PER_GPU
    assert plan.fits
    assert (plan.tensor_parallel, plan.pipeline_parallel) == (2, 1)
    assert plan.weights_gb == pytest.approx(141.1)
    assert plan.kv_gb_per_token_per_gpu == pytest.approx(2 * 80 * 8 * 128 * 2 / 2 / 1e9)
    assert plan.kv_budget_gb_per_gpu == pytest.approx(usable - 141.1 / 2)
    assert plan.max_cached_tokens == math.floor(
        plan.kv_budget_gb_per_gpu / plan.kv_gb_per_token_per_gpu
    )
    assert plan.interconnect.is_nvlink_class
    assert plan.warnings == ()
    assert {step.name for step in plan.working} >= {
        "weights_gb",
        "usable_gb_per_gpu",
        "max_sequences",
    }


def test_single_gpu_that_cannot_hold_weights_says_why(gpus):
    plan = plan_for(gpus, "llama-3.1-70b", "H100 SXM", tp=1)
    assert plan.fits is False
    assert "weights need 141.1 GB per GPU" in plan.reason


def test_405b_fp16_needs_two_nodes_of_h100(gpus):
    plan = plan_for(gpus, "llama-3.1-405b", "H100 SXM")
    assert (plan.tensor_parallel, plan.pipeline_parallel, plan.gpus_per_replica) == (8, 2, 16)
    assert any("pipeline stages" in warning for warning in plan.warnings)


def test_deepseek_r1_fp8_fits_eight_h200_but_not_eight_h100(gpus):
    assert plan_for(gpus, "deepseek-r1", "H200 SXM", precision="fp8").gpus_per_replica == 8
    assert plan_for(gpus, "deepseek-r1", "H100 SXM", precision="fp8").gpus_per_replica == 16


def test_mla_cache_is_not_divided_by_tensor_parallel(gpus):
    one = plan_for(gpus, "deepseek-r1", "H200 SXM", precision="fp8", tp=8)
    assert one.kv_gb_per_token_per_gpu == pytest.approx(61 * 576 * 2 / 1e9)


def test_tensor_parallel_degrees_respect_the_heads():
    assert tensor_parallel_degrees(model_resolve("llama-3.3-70b")) == (1, 2, 4, 8)
    assert tensor_parallel_degrees(model_resolve("phi-4")) == (1, 2)
    assert tensor_parallel_degrees(model_resolve("gemma-3-1b")) == (1, 2, 4)


def test_forcing_a_degree_the_heads_do_not_allow_is_an_error(gpus):
    with pytest.raises(AlgorithmInputError) as error:
        plan_for(gpus, "phi-4", "H100 SXM", tp=4)
    assert error.value.field == "tensor_parallel"


def test_interconnects(gpus):
    assert interconnect_for(gpus["H100 SXM"], 8).gbps_per_direction == 450
    assert interconnect_for(gpus["A100 SXM 80GB"], 4).gbps_per_direction == 300
    assert interconnect_for(gpus["H100 NVL"], 2).kind == "nvlink"
    assert interconnect_for(gpus["H100 NVL"], 4).kind == "pcie"
    assert interconnect_for(gpus["RTX 4090"], 2).gbps_per_direction == 32
    assert interconnect_for(gpus["H100 PCIe"], 2).gbps_per_direction == 64


def test_tensor_parallel_over_pcie_is_flagged(gpus):
    plan = plan_for(gpus, "llama-3.1-70b", "L40S", precision="fp8", tp=4, context=2000)
    assert plan.fits
    assert any("PCIe" in warning for warning in plan.warnings)


def test_single_stream_decode_reads_weights_at_the_calibrated_bandwidth(gpus):
    model = model_resolve("llama-3.1-70b")
    plan = plan_for(gpus, "llama-3.1-70b", "H100 SXM", precision="fp8", context=1000, tp=2)
    step = step_time(
        model=model,
        gpu=gpus["H100 SXM"],
        plan=plan,
        precision="fp8",
        kv_precision="fp16",
        prompt_tokens=500,
        output_tokens=500,
        batch=1,
        include_prefill=False,
    )
    kv = 750 * plan.kv_gb_per_token_per_gpu * 1e9
    expected = (70.55e9 / 2 + kv) / (3350e9 * CALIBRATED_EFFICIENCY.memory_bandwidth)
    assert step.memory_seconds == pytest.approx(expected)
    assert step.bound == "memory"
    assert step.seconds == pytest.approx(step.memory_seconds + step.communication_seconds)


def test_throughput_grows_with_batch_until_compute_bound(gpus):
    model = model_resolve("llama-3.1-8b")
    plan = plan_for(gpus, "llama-3.1-8b", "H100 SXM", precision="fp8", context=2000)
    rates = []
    for batch in (1, 8, 64, 256):
        step = step_time(
            model=model,
            gpu=gpus["H100 SXM"],
            plan=plan,
            precision="fp8",
            kv_precision="fp8",
            prompt_tokens=1000,
            output_tokens=1000,
            batch=batch,
        )
        rates.append(batch / step.seconds)
    assert rates == sorted(rates)
    assert rates[-1] > 20 * rates[0]


def test_moe_reads_active_experts_at_batch_one_and_nearly_all_at_large_batch():
    mixtral = model_resolve("mixtral-8x7b")
    assert weight_bytes_read(mixtral, "fp8", 1) == pytest.approx(12.9e9)
    assert weight_bytes_read(mixtral, "fp8", 1000) == pytest.approx(46.7e9)
    assert weight_bytes_read(model_resolve("llama-3.1-8b"), "fp16", 1) == pytest.approx(16.06e9)


def test_prefill_is_compute_bound_and_grows_with_the_prompt(gpus):
    model = model_resolve("llama-3.1-8b")
    plan = plan_for(gpus, "llama-3.1-8b", "H100 SXM", context=9000)
    short, long = (
        prefill_seconds(
            model=model, gpu=gpus["H100 SXM"], plan=plan, precision="fp16", prompt_tokens=tokens
        )
        for tokens in (2000, 8000)
    )
    assert 4 < long / short < 5  # linear in the weights, plus the quadratic attention term
