"""gpu_specs_load: the catalogue copied into gpu_benchmarks with the model estimates.

tokens_per_second_{7b,13b,70b} are the serving model's for Llama 2 7B/13B/70B on one GPU at its
serving batch (algorithms/tests/serving checks the model); whether a model fits is worked out by
hand: fp16 weights (2 bytes per parameter) plus one 700-token context within VRAM (GiB) x 1.0737
x 0.9 - 2 GB. SDXL = 30 steps x 5.4 TFLOPs at 20 % of fp16 peak, 9 GB on one GPU.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from algorithms.sizing import serving_plan
from apps.gpus.catalogue import all_gpus, gpu_by_model
from apps.gpus.models import GPUBenchmark
from apps.gpus.services import gpu_spec_throughput, gpu_specs_load

pytestmark = pytest.mark.django_db


def one_gpu(model: str, gpu_model: str) -> float:
    """The serving model's output tokens/s for `model` in fp16 on one `gpu_model`."""
    return serving_plan(
        model=model,
        gpu=gpu_by_model(gpu_model),
        prompt_tokens=500,
        output_tokens=200,
        precision="fp16",
        tensor_parallel=1,
    ).replica_output_tokens_per_second


def test_first_load_creates_one_row_per_catalogue_gpu():
    result = gpu_specs_load()

    assert (result.created, result.updated, result.unchanged) == (len(all_gpus()), 0, 0)
    assert GPUBenchmark.objects.count() == len(all_gpus())
    assert sorted(GPUBenchmark.objects.values_list("gpu_model", flat=True)) == sorted(
        gpu.gpu_model for gpu in all_gpus()
    )


def test_h100_sxm_row_copies_the_datasheet_and_computes_throughput():
    gpu_specs_load()
    row = GPUBenchmark.objects.get(gpu_model="H100 SXM")

    assert (row.vendor, row.architecture, row.family, row.variant) == (
        "nvidia",
        "Hopper",
        "H100",
        "SXM5",
    )
    assert (row.vram_gb, row.memory_bandwidth_gbps, row.tflops_fp32) == (80.0, 3350.0, 67.0)
    assert (row.tflops_fp16, row.tflops_bf16, row.tflops_fp8, row.tops_int8) == (
        989.4,
        989.4,
        1978.9,
        1978.9,
    )
    assert row.tdp_watts == 700.0
    assert row.aliases == [
        "H100 SXM",
        "H100 SXM5",
        "H100 SXM5 80GB",
        "H100 80GB HBM3",
        "H100-SXM5-80GB",
    ]
    assert row.source.startswith("NVIDIA H100 Tensor Core GPU datasheet")
    assert row.verified_at == date(2026, 11, 26)
    assert row.tokens_per_second_7b == pytest.approx(one_gpu("llama-2-7b", "H100 SXM"))
    assert row.tokens_per_second_13b == pytest.approx(one_gpu("llama-2-13b", "H100 SXM"))
    # A batched H100 makes far more than v1's one-request 0.6 x 3350 / 14 = 144 tokens/s.
    assert row.tokens_per_second_7b > 10 * 143.6
    # Llama 2 70B in fp16 = 138 GB > 75.3 GB usable: does not fit one GPU, so no number.
    assert row.tokens_per_second_70b is None
    # SDXL: 0.2 x 989.4 TFLOPS / (30 x 5.4 TFLOPs) images/s x 60.
    assert row.image_gen_per_minute == pytest.approx(0.2 * 989.4 / 162 * 60, rel=1e-12)
    assert row.image_gen_per_minute == pytest.approx(73.288888889, rel=1e-9)


def test_rtx_4090_fits_7b_only():
    gpu_specs_load()
    row = GPUBenchmark.objects.get(gpu_model="RTX 4090")

    assert row.tokens_per_second_7b == pytest.approx(one_gpu("llama-2-7b", "RTX 4090"))
    assert row.tokens_per_second_13b is None  # 26.0 GB > 21.2 GB usable
    assert row.tokens_per_second_70b is None
    assert row.image_gen_per_minute == pytest.approx(0.2 * 165.2 / 162 * 60, rel=1e-12)


def test_mi300x_fits_70b_on_one_gpu():
    gpu_specs_load()
    row = GPUBenchmark.objects.get(gpu_model="MI300X")

    # 138 GB of weights within 192 x 1.0737 x 0.9 - 2 = 183.5 GB usable.
    assert row.tokens_per_second_70b == pytest.approx(one_gpu("llama-2-70b", "MI300X"))


def test_small_gpu_gets_null_not_a_number_when_nothing_fits():
    gpu_specs_load()
    row = GPUBenchmark.objects.get(gpu_model="RTX 3080")  # 10 GiB: 7.66 GB usable

    assert row.tokens_per_second_7b is None  # 13.5 GB of weights
    assert row.image_gen_per_minute is None  # SDXL: 7 GB of weights + 2 GB of activations


def test_throughput_model_names_the_model_and_its_constants():
    gpu_specs_load()
    text = GPUBenchmark.objects.get(gpu_model="A10").throughput_model

    assert text.startswith("Model estimates, not measurements.")
    assert "algorithms.sizing.serving_plan" in text
    assert "7b = Llama 2 7B, 13b = Llama 2 13B, 70b = Llama 2 70B" in text
    assert "at the serving batch" in text
    assert "memory-bandwidth efficiency 0.5, compute efficiency 0.48" in text
    assert "SDXL at 1024x1024, 30 steps x 5.4 TFLOPs per step at 0.2 of dense fp16 peak" in text


def test_second_load_changes_nothing():
    gpu_specs_load()
    before = dict(GPUBenchmark.objects.values_list("gpu_model", "updated_at"))

    result = gpu_specs_load()

    assert (result.created, result.updated, result.unchanged) == (0, 0, len(all_gpus()))
    assert dict(GPUBenchmark.objects.values_list("gpu_model", "updated_at")) == before


def test_load_repairs_an_edited_row_and_leaves_unknown_rows():
    gpu_specs_load()
    GPUBenchmark.objects.filter(gpu_model="L4").update(tflops_fp16=1.0, tokens_per_second_7b=999.0)
    GPUBenchmark.objects.create(gpu_model="Retired X", vendor="nvidia", vram_gb=8, source="test")

    result = gpu_specs_load()

    assert (result.created, result.updated, result.unchanged) == (0, 1, len(all_gpus()) - 1)
    row = GPUBenchmark.objects.get(gpu_model="L4")
    assert row.tflops_fp16 == 121.0
    assert (
        row.tokens_per_second_7b
        == gpu_spec_throughput(gpu=gpu_by_model("L4"))["tokens_per_second_7b"]
    )
    assert GPUBenchmark.objects.filter(gpu_model="Retired X").exists()


def test_command_reports_counts():
    out = io.StringIO()
    call_command("load_gpu_specs", stdout=out)
    call_command("load_gpu_specs", stdout=out)

    count = len(all_gpus())
    assert out.getvalue().splitlines() == [
        f"GPU specs: {count} created, 0 updated, 0 unchanged",
        f"GPU specs: 0 created, 0 updated, {count} unchanged",
    ]
