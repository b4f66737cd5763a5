import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.image_generation import (
    DIFFUSION_MODELS,
    diffusion_model_resolve,
    image_generation_estimate,
)
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
    assert _step(sdxl, "tflops_per_step").kind == "estimate"
    sd15 = image_generation_estimate(model="sd-1.5", gpu=gpus["H100 SXM"], steps=20)
    assert _step(sd15, "tflops_per_step").kind == "spec"
    with pytest.raises(AlgorithmInputError) as error:
        image_generation_estimate(model="midjourney", gpu=gpus["H100 SXM"])
    assert error.value.field == "model"


def _step(result, name):
    return next(step for step in result.working if step.name == name)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("SDXL", "sdxl"),
        ("stabilityai/stable-diffusion-xl-base-1.0", "sdxl"),
        ("stable-diffusion-xl", "sdxl"),
        ("Stable Diffusion 1.5", "sd-1.5"),
        ("runwayml/stable-diffusion-v1-5", "sd-1.5"),
        ("sd15", "sd-1.5"),
    ],
)
def test_diffusion_models_resolve_by_their_old_profile_names(name, key):
    assert diffusion_model_resolve(name) is DIFFUSION_MODELS[key]


def test_image_pipeline_memory_and_fit(gpus):
    # SDXL: 3.5B x 2 bytes + 2 GB of activations at 1024x1024 = 9 GB.
    assert DIFFUSION_MODELS["sdxl"].memory_gb == pytest.approx(9.0)
    # SD 1.5: 1.07 x 2 + 2 x (512 / 1024)^2 = 2.64 GB.
    assert DIFFUSION_MODELS["sd-1.5"].memory_gb == pytest.approx(2.64)
    assert image_generation_estimate(model="sdxl", gpu=gpus["RTX 4090"]).fits
    # 10 GiB x 1.0737 x 0.9 - 2 GB = 7.7 GB usable < 9 GB.
    assert not image_generation_estimate(model="sdxl", gpu=gpus["RTX 3080"]).fits
    assert image_generation_estimate(model="sd-1.5", gpu=gpus["RTX 3080"]).fits


def test_training_deadline_adds_data_parallel_gpus(gpus):
    alone = training_estimate(model="llama-3.1-8b", gpu=gpus["H100 SXM"], training_tokens=1e10)
    rushed = training_estimate(
        model="llama-3.1-8b", gpu=gpus["H100 SXM"], training_tokens=1e10, deadline_hours=10
    )
    assert alone.gpus == alone.gpus_for_memory == 3
    assert rushed.gpus == -(-alone.gpu_hours // 10)  # ceil(GPU-hours / deadline)
    assert rushed.hours <= 10
    assert rushed.gpu_hours == pytest.approx(alone.gpu_hours)
    with pytest.raises(AlgorithmInputError) as error:
        training_estimate(
            model="llama-3.1-405b", gpu=gpus["T4"], training_tokens=1e15, deadline_hours=0.01
        )
    assert error.value.field == "deadline_hours"
