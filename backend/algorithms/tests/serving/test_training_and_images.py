import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.image_generation import image_generation_estimate
from algorithms.training import training_estimate


def test_full_fine_tune_flops_memory_and_time(gpus):
    job = training_estimate(
        model="llama-3.1-8b", gpu=gpus["H100 SXM"], training_tokens=1e9, price_per_gpu_hour=3.0
    )
    assert job.total_flops == pytest.approx(6 * 8.03e9 * 1e9)
    assert job.memory_gb == pytest.approx(8.03 * 16 * 1.2)
    assert job.gpus == 3  # 154 GB over 75.3 GB usable per H100
    assert job.hours == pytest.approx(6 * 8.03e18 / (3 * 989.4e12 * 0.40) / 3600)
    assert job.cost_usd == pytest.approx(job.gpu_hours * 3.0)


def test_lora_costs_four_flops_per_parameter_and_qlora_less_memory(gpus):
    lora = training_estimate(
        model="llama-3.1-70b", gpu=gpus["H100 SXM"], training_tokens=1e8, method="lora"
    )
    qlora = training_estimate(
        model="llama-3.1-70b", gpu=gpus["H100 SXM"], training_tokens=1e8, method="qlora"
    )
    assert lora.total_flops == pytest.approx(4 * 70.55e9 * 1e8)
    assert qlora.memory_gb < lora.memory_gb
    assert qlora.gpus == 1
    assert lora.gpus == 3


def test_training_rejects_too_few_gpus_and_unknown_methods(gpus):
    with pytest.raises(AlgorithmInputError) as error:
        training_estimate(model="llama-3.1-70b", gpu=gpus["H100 SXM"], training_tokens=1e8, gpus=1)
    assert error.value.field == "gpus"
    with pytest.raises(AlgorithmInputError):
        training_estimate(
            model="llama-3.1-8b", gpu=gpus["H100 SXM"], training_tokens=1e8, method="dpo"
        )


def test_image_generation_rates(gpus):
    sdxl = image_generation_estimate(model="sdxl", gpu=gpus["H100 SXM"], price_per_gpu_hour=2.0)
    assert sdxl.images_per_hour == pytest.approx(0.2 * 989.4 / (30 * 5.4) * 3600)
    assert sdxl.usd_per_thousand_images == pytest.approx(2000 / sdxl.images_per_hour)
    assert sdxl.working[0].kind == "estimate"
    assert (
        image_generation_estimate(model="sd-1.5", gpu=gpus["H100 SXM"], steps=20).working[0].kind
        == "spec"
    )
    with pytest.raises(AlgorithmInputError):
        image_generation_estimate(model="midjourney", gpu=gpus["H100 SXM"])
