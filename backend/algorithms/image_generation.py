"""Image generation: images per hour per GPU and cost per image for diffusion models.

images/s = DIFFUSION_EFFICIENCY x dense fp16 TFLOPS / (steps x TFLOPs per step)

Per-step cost (denoiser with classifier-free guidance, i.e. two passes):
* Stable Diffusion 1.5 at 512x512: 339 GMACs per UNet pass (Kim et al. 2023, BK-SDM, table 1)
  x 2 FLOPs per MAC x 2 passes = 1.356 TFLOPs.
* SDXL at 1024x1024: 5.4 TFLOPs, estimated as 4 x SD 1.5 (four times the latent pixels); not a
  published figure, so results for SDXL are marked ``estimate``.
DIFFUSION_EFFICIENCY = 0.20: public SDXL step timings imply ~14 % (RTX A4000) to ~25 %
(RTX 4090) of dense fp16 peak (the figure the math core has used since v2's first release).

Memory: the pipeline runs on one GPU per image: fp16 weights (2 bytes x parameters of UNet,
text encoders and VAE) + activations (latents, attention maps, VAE decode), 2 GB at 1024x1024
scaled by the pixel count (an estimate); it must fit ``serving.usable_gb_per_gpu``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.model_registry import name_key
from algorithms.serving import usable_gb_per_gpu
from algorithms.working import Step, StepKind, Working

SECONDS_PER_HOUR = 3600.0
DIFFUSION_EFFICIENCY = 0.20
FP16_BYTES = 2.0
ACTIVATION_GB_AT_1024 = 2.0
# v1's quality as sampling steps at the model's native resolution ("standard" = the default 30).
STEPS_BY_QUALITY = MappingProxyType({"low": 20, "medium": 30, "standard": 30, "high": 50})


@dataclass(frozen=True, slots=True)
class DiffusionModel:
    """A diffusion pipeline: size, per-step cost at its native resolution, and sources.

    Attributes:
        name: Display name.
        params_billion: Parameters of the whole pipeline (denoiser, text encoders, VAE).
        native_resolution: Side of the square image it generates, pixels.
        tflops_per_step: Denoiser TFLOPs per step with classifier-free guidance.
        default_steps: Sampling steps when none are given.
        is_estimate: Whether ``tflops_per_step`` is an estimate rather than a published figure.
        source: Where the figures come from.
        aliases: Other spellings (Hugging Face ids, short names).
    """

    name: str
    params_billion: float
    native_resolution: int
    tflops_per_step: float
    default_steps: int
    is_estimate: bool
    source: str
    aliases: tuple[str, ...] = ()

    @property
    def memory_gb(self) -> float:
        """fp16 weights plus activations at the native resolution, GB."""
        activations = ACTIVATION_GB_AT_1024 * (self.native_resolution / 1024) ** 2
        return self.params_billion * FP16_BYTES + activations


DIFFUSION_MODELS = MappingProxyType(
    {
        "sd-1.5": DiffusionModel(
            "Stable Diffusion 1.5",
            1.07,
            512,
            1.356,
            30,
            False,
            "https://arxiv.org/abs/2305.15798 (BK-SDM: 339 GMACs per UNet pass at 512x512); "
            "0.86B UNet + 0.12B CLIP ViT-L + 0.08B VAE (runwayml/stable-diffusion-v1-5 card)",
            (
                "sd1.5",
                "sd15",
                "stable-diffusion-1.5",
                "stable-diffusion-v1-5",
                "Stable Diffusion 1.5",
                "runwayml/stable-diffusion-v1-5",
            ),
        ),
        "sdxl": DiffusionModel(
            "SDXL",
            3.5,
            1024,
            5.4,
            30,
            True,
            "4 x SD 1.5 per step (4x the latent pixels); 3.5B base pipeline "
            "(stabilityai/stable-diffusion-xl-base-1.0 card, Podell et al. 2023)",
            (
                "sdxl-1.0",
                "stable-diffusion-xl",
                "stable-diffusion-xl-base-1.0",
                "stabilityai/stable-diffusion-xl-base-1.0",
            ),
        ),
    }
)
_BY_KEY = {
    name_key(spelling): model
    for key, model in DIFFUSION_MODELS.items()
    for spelling in (key, model.name, *model.aliases)
}


def diffusion_model_resolve(name: str, field: str = "model") -> DiffusionModel:
    """The pipeline ``name`` means (key, display name or alias; case and separators ignored).

    Raises:
        AlgorithmInputError: For any other name, naming ``field``.
    """
    model = _BY_KEY.get(name_key(name)) if isinstance(name, str) and name.strip() else None
    if model is None:
        known = ", ".join(DIFFUSION_MODELS)
        raise AlgorithmInputError(field, f"unknown image model {name!r}; known: {known}")
    return model


@dataclass(frozen=True, slots=True)
class ImageGenerationEstimate:
    """Throughput and cost of one diffusion model on one GPU.

    Attributes:
        model: The pipeline.
        steps: Sampling steps per image.
        memory_gb: What one GPU must hold, GB.
        fits: Whether it fits the GPU's usable memory (no figure is made up when it does not).
        images_per_hour: Per GPU.
        usd_per_thousand_images: ``None`` without a price.
        working: Every step with units.
    """

    model: DiffusionModel
    steps: int
    memory_gb: float
    fits: bool
    images_per_hour: float
    usd_per_thousand_images: float | None
    working: tuple[Step, ...]


def image_generation_estimate(
    *,
    model: str | DiffusionModel,
    gpu: GpuSpec,
    steps: int | None = None,
    price_per_gpu_hour: float | None = None,
) -> ImageGenerationEstimate:
    """Images per hour on one ``gpu`` and the cost of a thousand.

    Raises:
        AlgorithmInputError: For an unknown model, steps out of 1..1000 or a bad price.
    """
    pipeline = model if isinstance(model, DiffusionModel) else diffusion_model_resolve(model)
    work = Working()
    kind: StepKind = "estimate" if pipeline.is_estimate else "spec"
    work.add("model", pipeline.name, "", "spec", pipeline.source)
    memory = work.number(
        "memory_gb",
        pipeline.memory_gb,
        "GB",
        "estimate",
        f"fp16 weights {pipeline.params_billion:g}B x 2 bytes + activations at "
        f"{pipeline.native_resolution}x{pipeline.native_resolution}",
    )
    usable = work.number("usable_gb_per_gpu", usable_gb_per_gpu(gpu.vram_gb), "GB", "estimate")
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
    return ImageGenerationEstimate(
        model=pipeline,
        steps=chosen,
        memory_gb=memory,
        fits=memory <= usable,
        images_per_hour=per_hour,
        usd_per_thousand_images=cost,
        working=work.freeze(),
    )
