"""Published architecture figures for models the workload estimator knows by name.

Every profile cites where its numbers come from. Parameter counts are the checkpoint totals
(embeddings included). ``resolve_model`` accepts the canonical name, Hugging Face repository ids and
common spellings; an unknown name is an error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from algorithms.errors import AlgorithmInputError


@dataclass(frozen=True)
class LlmArchitecture:
    """Transformer shape needed for the KV cache.

    From the model's config.json: num_hidden_layers, num_key_value_heads, hidden_size /
    num_attention_heads, max_position_embeddings.
    """

    layers: int
    kv_heads: int
    head_dim: int
    max_context: int


@dataclass(frozen=True)
class DiffusionArchitecture:
    """Cost of a diffusion model's sampling steps.

    ``tflops_per_step``: denoiser cost (TFLOPs) of one sampling step with classifier-free
    guidance at ``native_resolution`` x ``native_resolution`` pixels.
    """

    native_resolution: int
    tflops_per_step: float


@dataclass(frozen=True)
class ModelProfile:
    """A known model: exactly one of ``llm`` / ``diffusion`` is set."""

    name: str
    params_billion: float
    source: str
    aliases: tuple[str, ...] = ()
    llm: LlmArchitecture | None = None
    diffusion: DiffusionArchitecture | None = None

    @property
    def kind(self) -> str:
        """The profile's kind: "llm" when it has `llm`, else "diffusion"."""
        return "llm" if self.llm is not None else "diffusion"


def _llm(
    name: str,
    params_billion: float,
    layers: int,
    kv_heads: int,
    max_context: int,
    source: str,
    aliases: tuple[str, ...],
) -> ModelProfile:
    # Every model below uses 128-dimensional attention heads (hidden_size / num_attention_heads).
    return ModelProfile(
        name=name,
        params_billion=params_billion,
        source=source,
        aliases=aliases,
        llm=LlmArchitecture(layers, kv_heads, head_dim=128, max_context=max_context),
    )


_PROFILES = (
    _llm(
        "Llama 2 7B",
        6.74,
        32,
        32,
        4096,
        "meta-llama/Llama-2-7b-hf config.json (32 layers, 32 heads, no GQA); 6.74B from the "
        "Llama 2 paper (Touvron et al. 2023)",
        ("llama-2-7b", "llama2-7b", "meta-llama/Llama-2-7b-hf", "Llama-2-7b-chat-hf"),
    ),
    _llm(
        "Llama 2 13B",
        13.02,
        40,
        40,
        4096,
        "meta-llama/Llama-2-13b-hf config.json (40 layers, 40 heads, no GQA); 13.02B checkpoint "
        "total",
        ("llama-2-13b", "llama2-13b", "meta-llama/Llama-2-13b-hf", "Llama-2-13b-chat-hf"),
    ),
    _llm(
        "Llama 3 8B",
        8.03,
        32,
        8,
        8192,
        "meta-llama/Meta-Llama-3-8B config.json (32 layers, 8 KV heads, 8192 context); 8.03B "
        "checkpoint total",
        (
            "llama-3-8b",
            "llama3-8b",
            "llama3:8b",
            "meta-llama/Meta-Llama-3-8B",
            "Meta-Llama-3-8B-Instruct",
        ),
    ),
    _llm(
        "Llama 3 70B",
        70.55,
        80,
        8,
        8192,
        "meta-llama/Meta-Llama-3-70B config.json (80 layers, 8 KV heads, 8192 context); 70.55B "
        "checkpoint total",
        (
            "llama-3-70b",
            "llama3-70b",
            "llama3:70b",
            "meta-llama/Meta-Llama-3-70B",
            "Meta-Llama-3-70B-Instruct",
        ),
    ),
    _llm(
        "Llama 3.1 8B",
        8.03,
        32,
        8,
        131072,
        "meta-llama/Llama-3.1-8B config.json (Llama 3 8B architecture, 131072 context)",
        (
            "llama-3.1-8b",
            "llama3.1-8b",
            "llama3.1:8b",
            "meta-llama/Llama-3.1-8B",
            "meta-llama/Meta-Llama-3.1-8B",
        ),
    ),
    _llm(
        "Llama 3.1 70B",
        70.55,
        80,
        8,
        131072,
        "meta-llama/Llama-3.1-70B config.json (Llama 3 70B architecture, 131072 context)",
        (
            "llama-3.1-70b",
            "llama3.1-70b",
            "llama3.1:70b",
            "meta-llama/Llama-3.1-70B",
            "meta-llama/Meta-Llama-3.1-70B",
        ),
    ),
    _llm(
        "Llama 3.1 405B",
        405.85,
        126,
        8,
        131072,
        "meta-llama/Llama-3.1-405B config.json (126 layers, hidden 16384, 8 KV heads, 131072 "
        "context); 405.85B checkpoint total",
        (
            "llama-3.1-405b",
            "llama3.1-405b",
            "llama-3-405b",
            "llama3.1:405b",
            "meta-llama/Llama-3.1-405B",
            "meta-llama/Meta-Llama-3.1-405B",
        ),
    ),
    _llm(
        "Mistral 7B",
        7.24,
        32,
        8,
        32768,
        "mistralai/Mistral-7B-v0.1 config.json (32 layers, 8 KV heads, 32768 positions); 7.24B "
        "checkpoint total",
        (
            "mistral-7b",
            "mistral:7b",
            "mistralai/Mistral-7B-v0.1",
            "Mistral-7B-Instruct-v0.2",
            "mistralai/Mistral-7B-Instruct-v0.3",
        ),
    ),
    _llm(
        "Mixtral 8x7B",
        46.7,
        32,
        8,
        32768,
        "mistralai/Mixtral-8x7B-v0.1 config.json (32 layers, 8 KV heads, 8 experts, 2 active); "
        "46.7B total / 12.9B active per Mistral's model card",
        (
            "mixtral-8x7b",
            "mixtral:8x7b",
            "mistralai/Mixtral-8x7B-v0.1",
            "Mixtral-8x7B-Instruct-v0.1",
        ),
    ),
    _llm(
        "Qwen2 72B",
        72.71,
        80,
        8,
        32768,
        "Qwen/Qwen2-72B config.json (80 layers, 8 KV heads, 32768 positions); 72.71B "
        "checkpoint total",
        ("qwen2-72b", "qwen2:72b", "Qwen/Qwen2-72B", "Qwen2-72B-Instruct"),
    ),
    ModelProfile(
        name="SDXL",
        params_billion=3.5,
        source=(
            "stabilityai/stable-diffusion-xl-base-1.0 model card and Podell et al. 2023 (3.5B "
            "base pipeline: 2.6B UNet + two text encoders + VAE); tflops_per_step estimated as 4x "
            "SD 1.5 (4x the latent pixels at 1024x1024), not a published figure"
        ),
        aliases=(
            "sdxl",
            "sdxl-1.0",
            "stable-diffusion-xl",
            "stable-diffusion-xl-base-1.0",
            "stabilityai/stable-diffusion-xl-base-1.0",
        ),
        diffusion=DiffusionArchitecture(native_resolution=1024, tflops_per_step=5.4),
    ),
    ModelProfile(
        name="Stable Diffusion 1.5",
        params_billion=1.07,
        source=(
            "runwayml/stable-diffusion-v1-5 model card (0.86B UNet + 0.12B CLIP ViT-L text encoder "
            "+ 0.08B VAE); UNet 339 GMACs per forward at 512x512 (Kim et al. 2023, BK-SDM), x2 "
            "FLOPs per MAC, x2 for classifier-free guidance = 1.356 TFLOPs per step"
        ),
        aliases=(
            "sd-1.5",
            "sd1.5",
            "sd15",
            "stable-diffusion-1.5",
            "stable-diffusion-v1-5",
            "runwayml/stable-diffusion-v1-5",
        ),
        diffusion=DiffusionArchitecture(native_resolution=512, tflops_per_step=1.356),
    ),
)

# Words that name a variant of the same weights-sized model, not a different model.
_IGNORED_NAME_WORDS = frozenset({"meta", "hf", "instruct", "chat", "it"})


def normalise_model_name(name: str) -> str:
    """Lookup key: organisation prefix dropped, lower case, variant words and separators removed.

    "meta-llama/Meta-Llama-3-70B-Instruct", "Llama 3 70B" and "llama-3-70b" all give "llama370b".
    """
    base = name.strip().lower().rsplit("/", 1)[-1]
    words = [word for word in re.split(r"[\s_\-:]+", base) if word not in _IGNORED_NAME_WORDS]
    return re.sub(r"[^a-z0-9]", "", "".join(words))


def _index(profiles: tuple[ModelProfile, ...]) -> dict[str, ModelProfile]:
    index: dict[str, ModelProfile] = {}
    for profile in profiles:
        for spelling in (profile.name, *profile.aliases):
            key = normalise_model_name(spelling)
            if index.setdefault(key, profile) is not profile:
                raise ValueError(f"model alias {spelling!r} is claimed by two profiles")
    return index


MODEL_PROFILES = MappingProxyType({profile.name: profile for profile in _PROFILES})
_BY_KEY = _index(_PROFILES)


def resolve_model(name: str) -> ModelProfile:
    """The profile for ``name`` (canonical name or alias, case/space/dash-insensitive).

    Raises AlgorithmInputError(field="model_name") for anything unknown.
    """
    if not isinstance(name, str) or not name.strip():
        raise AlgorithmInputError("model_name", "must be a non-empty model name")
    profile = _BY_KEY.get(normalise_model_name(name))
    if profile is None:
        known = ", ".join(MODEL_PROFILES)
        raise AlgorithmInputError("model_name", f"unknown model {name!r}; known models: {known}")
    return profile
