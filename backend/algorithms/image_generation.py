"""Image generation: images per hour per GPU and cost per image for diffusion models.

images/s = DIFFUSION_EFFICIENCY x dense fp16 TFLOPS / (steps x TFLOPs per step)

Per-step cost (denoiser with classifier-free guidance, i.e. two passes):
* Stable Diffusion 1.5 at 512x512: 339 GMACs per UNet pass (Kim et al. 2023, BK-SDM, table 1)
  x 2 FLOPs per MAC x 2 passes = 1.356 TFLOPs.
* SDXL at 1024x1024: 5.4 TFLOPs, estimated as 4 x SD 1.5 (four times the latent pixels); not a
  published figure, so results for SDXL are marked ``estimate``.
DIFFUSION_EFFICIENCY = 0.20: public SDXL step timings imply ~14 % (RTX A4000) to ~25 %
(RTX 4090) of dense fp16 peak (the figure the math core has used since v2's first release).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.working import Step, StepKind, Working

SECONDS_PER_HOUR = 3600.0
DIFFUSION_EFFICIENCY = 0.20


@dataclass(frozen=True, slots=True)
class DiffusionModel:
    """A diffusion pipeline: per-step cost at its native resolution, and where it comes from."""

    name: str
    native_resolution: int
    tflops_per_step: float
    default_steps: int
    is_estimate: bool
    source: str


DIFFUSION_MODELS = MappingProxyType(
    {
        "sd-1.5": DiffusionModel(
            "Stable Diffusion 1.5",
            512,
            1.356,
            30,
            False,
            "https://arxiv.org/abs/2305.15798 (BK-SDM: 339 GMACs per UNet pass at 512x512)",
        ),
        "sdxl": DiffusionModel(
            "SDXL",
            1024,
            5.4,
            30,
            True,
            "4 x SD 1.5 per step (4x the latent pixels); stabilityai/stable-diffusion-xl-base-1.0",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class ImageGenerationEstimate:
    """Throughput and cost of one diffusion model on one GPU.

    Attributes:
        model: The pipeline.
        steps: Sampling steps per image.
        images_per_hour: Per GPU.
        usd_per_thousand_images: ``None`` without a price.
        working: Every step with units.
    """

    model: DiffusionModel
    steps: int
    images_per_hour: float
    usd_per_thousand_images: float | None
    working: tuple[Step, ...]


def image_generation_estimate(
    *,
    model: str,
    gpu: GpuSpec,
    steps: int | None = None,
    price_per_gpu_hour: float | None = None,
) -> ImageGenerationEstimate:
    """Images per hour on one ``gpu`` and the cost of a thousand.

    Raises:
        AlgorithmInputError: For an unknown model (keys of DIFFUSION_MODELS), steps out of 1..1000
            or a bad price.
    """
    key = model.strip().lower() if isinstance(model, str) else ""
    if key not in DIFFUSION_MODELS:
        raise AlgorithmInputError("model", f"must be one of {', '.join(DIFFUSION_MODELS)}")
    pipeline = DIFFUSION_MODELS[key]
    work = Working()
    kind: StepKind = "estimate" if pipeline.is_estimate else "spec"
    work.number("tflops_per_step", pipeline.tflops_per_step, "TFLOP", kind, pipeline.source)
    chosen = (
        pipeline.default_steps
        if steps is None
        else int_in_range(steps, "steps", minimum=1, maximum=1000)
    )
    work.add("steps", chosen, "steps", "input" if steps is not None else "assumed")
    work.number("efficiency", DIFFUSION_EFFICIENCY, "", "estimate", "share of dense fp16 peak")
    work.number("tflops_fp16", gpu.tflops_fp16, "TFLOPS", "spec")
    per_second = DIFFUSION_EFFICIENCY * gpu.tflops_fp16 / (chosen * pipeline.tflops_per_step)
    per_hour = work.number("images_per_hour", per_second * SECONDS_PER_HOUR, "images/h", "derived")
    cost = None
    if price_per_gpu_hour is not None:
        price = positive_float(price_per_gpu_hour, "price_per_gpu_hour", maximum=1e6)
        work.number("price_per_gpu_hour", price, "USD/h", "input")
        cost = work.number("usd_per_thousand_images", 1000 * price / per_hour, "USD", "derived")
    return ImageGenerationEstimate(pipeline, chosen, per_hour, cost, work.freeze())
