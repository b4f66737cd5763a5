"""LLM architectures by name: the registry in ``data/llm_models.json`` and an honest fallback.

``model_resolve(name)`` answers with an ``LlmArchitecture``:

* a registry entry when ``name`` is its id, its display name, its Hugging Face repository or an
  alias, compared without case, spaces, separators, organisation prefixes and the variant words
  ``instruct``, ``chat``, ``it``, ``hf``, ``base`` and ``meta``
  ("meta-llama/Llama-3.3-70B-Instruct", "Llama 3.3 70B" and "llama-3.3-70b" are one model);
* otherwise, when the name carries a parameter count ("my-finetune-13b", "acme 7.5B chat",
  "custom-8x7b"), an architecture estimated from that size, flagged ``is_estimated`` with the
  rule it used in ``estimation_note``;
* otherwise a ``AlgorithmInputError`` naming the field.

Size-based estimate (dense): a Llama-style decoder with 128-dimensional heads, 8 KV heads
(grouped-query attention, as in every Llama 3, Qwen 2.5/3 and Mistral model of 7B and above)
and ``hidden_size = 128 x layers``; parameters ~ 12 x layers x hidden_size^2 (attention 4 h^2
shrunk by GQA plus a SwiGLU MLP of ~8 h^2), which gives 32 layers / 4096 at 6.4B and 80 / 10240
at ~100B; the registry's Llama 3 8B and 70B sit within 20 % of it. ``NxMb`` names (mixtures of
experts) take N x M as the total (an upper bound: attention is shared) and 2 x M active (top-2
routing, as in Mixtral).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from algorithms.errors import AlgorithmInputError

DATA_PATH = Path(__file__).resolve().parent / "data" / "llm_models.json"

MAX_PARAMS_BILLION = 2_000.0  # above every published dense or MoE model (~1-2 trillion)
ESTIMATED_KV_HEADS = 8
ESTIMATED_HEAD_DIM = 128
ESTIMATED_HIDDEN_PER_LAYER = 128
ESTIMATED_PARAMS_PER_LAYER_HIDDEN_SQUARED = 12.0
ESTIMATED_MOE_EXPERTS_PER_TOKEN = 2

_VARIANT_WORDS = frozenset({"instruct", "chat", "it", "hf", "base", "meta"})
_MOE_SIZE = re.compile(r"(?<![a-z0-9.])(\d+)x(\d+(?:\.\d+)?)b(?![a-z0-9])")
_DENSE_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s?([bm])(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class LlmArchitecture:
    """The figures the serving and training models need from a decoder-only LLM.

    Attributes:
        id: Registry id (``"llama-3.3-70b"``), or ``"estimated:<name>"`` for a size-based guess.
        name: Display name.
        params_billion: Total parameters (all experts), billions: what must sit in memory.
        active_params_billion: Parameters used per token (equals the total for dense models).
        layers: Transformer blocks.
        hidden_size: Model width.
        attention_heads: Query heads.
        kv_heads: Key/value heads (grouped-query attention when below ``attention_heads``).
        head_dim: Dimension of one head.
        max_context: Longest context the model supports, tokens (``None`` when unknown).
        experts_total: Routed experts per MoE layer (``None`` for dense models).
        experts_per_token: Routed experts each token uses.
        kv_elements_per_token_per_layer: Elements cached per token per layer:
            ``2 x kv_heads x head_dim``, or the latent size for multi-head latent attention.
        kv_replicated_across_tensor_parallel: True when every tensor-parallel rank holds the
            whole cache (MLA latents); otherwise the cache is split over the KV heads.
        sources: URLs of the config.json and model card the figures come from.
        is_estimated: True for a size-based estimate; ``estimation_note`` says how.
        estimation_note: The rule used (empty for registry entries).
        notes: Caveats from the registry (sliding windows, context extension...).
    """

    id: str
    name: str
    params_billion: float
    active_params_billion: float
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int | None
    experts_total: int | None
    experts_per_token: int | None
    kv_elements_per_token_per_layer: int
    kv_replicated_across_tensor_parallel: bool
    sources: tuple[str, ...]
    is_estimated: bool = False
    estimation_note: str = ""
    notes: str = ""

    @property
    def is_moe(self) -> bool:
        """Whether this is a mixture-of-experts model."""
        return self.experts_total is not None

    def kv_bytes_per_token(self, bytes_per_element: float) -> float:
        """KV-cache bytes one token occupies across all layers (whole model, unsharded)."""
        return self.layers * self.kv_elements_per_token_per_layer * bytes_per_element


@dataclass(frozen=True, slots=True)
class ModelRegistry:
    """Parsed registry with its lookup index."""

    models: tuple[LlmArchitecture, ...]
    index: Mapping[str, LlmArchitecture]

    def get(self, name: str) -> LlmArchitecture | None:
        """The registry entry for ``name`` (any spelling), or ``None``."""
        return self.index.get(name_key(name))


def name_key(name: str) -> str:
    """Lookup key: organisation prefix, variant words, case and separators dropped.

    "meta-llama/Meta-Llama-3-70B-Instruct", "Llama 3 70B" and "llama3:70b" give "llama370b".
    """
    base = name.strip().lower().rsplit("/", 1)[-1]
    words = [word for word in re.split(r"[\s_\-:]+", base) if word not in _VARIANT_WORDS]
    return re.sub(r"[^a-z0-9]", "", "".join(words))


def model_resolve(name: str, field: str = "model") -> LlmArchitecture:
    """The architecture for ``name``: a registry entry, else a size-based estimate.

    Raises:
        AlgorithmInputError: When ``name`` is empty, not a string, or neither known nor carrying a
            parameter count (the message lists a few known ids).
    """
    if not isinstance(name, str) or not name.strip():
        raise AlgorithmInputError(field, "must be a non-empty model name")
    known = default_registry().get(name)
    if known is not None:
        return known
    estimated = estimate_from_name(name, field)
    if estimated is None:
        examples = ", ".join(model.id for model in default_registry().models[3:9])
        raise AlgorithmInputError(
            field,
            f"unknown model {name!r}: not in the registry and no parameter count in the name "
            f"(e.g. 'my-finetune-13b'); known ids include {examples}",
        )
    return estimated


def registry_entry_for(name: str) -> LlmArchitecture | None:
    """The registry entry that ``name`` names or starts with, or ``None``.

    The longest registry spelling that prefixes the name wins ("DeepSeek-V3-0324" is
    DeepSeek-V3, "Llama-3.3-70B-AWQ" is Llama 3.3 70B) unless a digit follows it ("llama 3.1
    80b" is not Llama 3.1 8B).
    """
    registry = default_registry()
    known = registry.get(name)
    if known is not None:
        return known
    key = name_key(name)
    prefixes = [
        spelling
        for spelling in registry.index
        if key.startswith(spelling) and not key[len(spelling) : len(spelling) + 1].isdigit()
    ]
    return registry.index[max(prefixes, key=len)] if prefixes else None


def estimate_from_name(name: str, field: str = "model") -> LlmArchitecture | None:
    """A size-based architecture for a name carrying a parameter count, or ``None``.

    Raises:
        AlgorithmInputError: When the count is zero, negative ("-7b") or above
            ``MAX_PARAMS_BILLION`` (naming ``field``).
    """
    text = name.strip().lower().rsplit("/", 1)[-1].replace("_", "-")
    if re.match(r"-\s*\d", text):  # "-7b": a negative count, not a name ending in a size
        raise _size_out_of_range(field)
    moe = _MOE_SIZE.search(text)
    if moe is not None:
        experts, expert_billion = int(moe[1]), float(moe[2])
        total = experts * expert_billion
        active = min(total, ESTIMATED_MOE_EXPERTS_PER_TOKEN * expert_billion)
        note = (
            f"'{moe[0]}' read as {experts} experts of {expert_billion:g}B: total taken as "
            f"{total:g}B (an upper bound, attention is shared), {active:g}B active (top-"
            f"{ESTIMATED_MOE_EXPERTS_PER_TOKEN} routing assumed); shape estimated from the size"
        )
        return _estimated(name, total, active, note, experts=experts, field=field)
    dense = _DENSE_SIZE.search(text)
    if dense is None:
        return None
    number = float(dense[1])
    billions = number if dense[2] == "b" else number / 1000.0
    note = f"'{dense[0]}' read as {billions:g}B parameters, dense; shape estimated from the size"
    return _estimated(name, billions, billions, note, experts=None, field=field)


def _size_out_of_range(field: str) -> AlgorithmInputError:
    return AlgorithmInputError(
        field, f"a parameter count must be above 0 and at most {MAX_PARAMS_BILLION:g}B"
    )


def _estimated(
    name: str, total: float, active: float, note: str, *, experts: int | None, field: str
) -> LlmArchitecture:
    if not 0 < total <= MAX_PARAMS_BILLION:
        raise _size_out_of_range(field)
    # params = 12 * layers * (128 * layers)^2  =>  layers = (params / (12 * 128^2))^(1/3); the
    # width is then rounded to whole groups of 8 heads and the depth refitted to the size.
    per_layer = ESTIMATED_PARAMS_PER_LAYER_HIDDEN_SQUARED * ESTIMATED_HIDDEN_PER_LAYER**2
    first_layers = (total * 1e9 / per_layer) ** (1 / 3)
    head_groups = max(1, round(first_layers * ESTIMATED_HIDDEN_PER_LAYER / ESTIMATED_HEAD_DIM / 8))
    heads = 8 * head_groups
    hidden = heads * ESTIMATED_HEAD_DIM
    layers = max(2, round(total * 1e9 / (ESTIMATED_PARAMS_PER_LAYER_HIDDEN_SQUARED * hidden**2)))
    kv_heads = ESTIMATED_KV_HEADS
    rule = (
        f"{note}: {layers} layers, hidden {hidden}, {heads} heads of "
        f"{ESTIMATED_HEAD_DIM}, {kv_heads} KV heads (Llama-style GQA, params ~ 12 x layers x "
        "hidden^2 with hidden = 128 x layers); context limit unknown"
    )
    return LlmArchitecture(
        id=f"estimated:{name.strip()}",
        name=name.strip(),
        params_billion=total,
        active_params_billion=active,
        layers=layers,
        hidden_size=hidden,
        attention_heads=heads,
        kv_heads=kv_heads,
        head_dim=ESTIMATED_HEAD_DIM,
        max_context=None,
        experts_total=experts,
        experts_per_token=ESTIMATED_MOE_EXPERTS_PER_TOKEN if experts else None,
        kv_elements_per_token_per_layer=2 * kv_heads * ESTIMATED_HEAD_DIM,
        kv_replicated_across_tensor_parallel=False,
        sources=(),
        is_estimated=True,
        estimation_note=rule,
    )


def registry_from_document(document: Mapping[str, Any]) -> ModelRegistry:
    """Parse and validate a registry document (the JSON's shape).

    Raises:
        ValueError: On an unknown schema version, a missing or non-positive figure, heads that
            do not divide, or one alias claimed by two models.
    """
    if document.get("schema_version") != 1:
        raise ValueError("llm_models.json: unsupported schema_version")
    models = tuple(_parse_model(entry) for entry in document["models"])
    index: dict[str, LlmArchitecture] = {}
    for model, spellings in zip(models, (_spellings(e) for e in document["models"]), strict=True):
        for spelling in spellings:
            key = name_key(spelling)
            if index.setdefault(key, model) is not model:
                raise ValueError(f"llm_models.json: {spelling!r} names two models")
    return ModelRegistry(models=models, index=index)


@cache
def default_registry() -> ModelRegistry:
    """The registry shipped in ``data/llm_models.json``, parsed once per process."""
    with DATA_PATH.open(encoding="utf-8") as handle:
        return registry_from_document(json.load(handle))


def _spellings(entry: Mapping[str, Any]) -> Iterable[str]:
    yield entry["id"]
    yield entry["name"]
    yield entry["hf_repo"]
    yield from entry.get("aliases", ())


def _parse_model(entry: Mapping[str, Any]) -> LlmArchitecture:
    model_id = str(entry["id"])
    numbers = {
        key: entry[key]
        for key in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim")
    }
    if any(not isinstance(value, int) or value <= 0 for value in numbers.values()):
        raise ValueError(f"llm_models.json: {model_id} has a non-positive shape figure")
    total = float(entry["params_billion"])
    active = float(entry.get("active_params_billion", total))
    if not (0 < active <= total) or not math.isfinite(total):
        raise ValueError(f"llm_models.json: {model_id} has bad parameter counts")
    if numbers["attention_heads"] % numbers["kv_heads"]:
        raise ValueError(f"llm_models.json: {model_id} kv_heads do not divide attention_heads")
    experts = entry.get("experts")
    kv_cache = entry.get("kv_cache")
    kv_elements = 2 * numbers["kv_heads"] * numbers["head_dim"]
    if kv_cache is not None:
        kv_elements = int(kv_cache["elements_per_token_per_layer"])
    sources = tuple(entry["sources"])
    if not sources or not all(str(url).startswith("https://") for url in sources):
        raise ValueError(f"llm_models.json: {model_id} needs https sources")
    return LlmArchitecture(
        id=model_id,
        name=str(entry["name"]),
        params_billion=total,
        active_params_billion=active,
        layers=numbers["layers"],
        hidden_size=numbers["hidden_size"],
        attention_heads=numbers["attention_heads"],
        kv_heads=numbers["kv_heads"],
        head_dim=numbers["head_dim"],
        max_context=int(entry["max_context"]),
        experts_total=int(experts["total"]) if experts else None,
        experts_per_token=int(experts["per_token"]) if experts else None,
        kv_elements_per_token_per_layer=kv_elements,
        kv_replicated_across_tensor_parallel=bool(
            kv_cache and kv_cache.get("replicated_across_tensor_parallel")
        ),
        sources=sources,
        notes=str(entry.get("notes", "")),
    )
