"""Canonical GPU catalogue: one data file for provider name resolution and math_core specs.

Framework-free (no Django). The data lives in ``data/gpus.json``; its ``notes`` explain the
figures (dense tensor FLOPS, per-GPU values), each entry names its ``source``. This module
loads it once and reads GPU names by one grammar; the decisions built on that reading live
beside it:

* :func:`all_gpus` / :func:`gpu_by_model`: the specs, by canonical ``gpu_model``.
* :meth:`GpuCatalogue.read`: what one text says - the models its name may mean plus the form
  factors, memory sizes and GPU count it states. :meth:`GpuCatalogue.narrow` keeps the models
  that agree with stated form factors and memory.
* ``apps.gpus.identity``: which one model a provider's facts (names, memory, interconnect)
  mean, or quarantine with a reason (ingestion).
* ``apps.gpus.query``: which models a person's text means (every filter and lookup).
* :func:`snap_vram`: a provider-reported memory size snapped to a known size.

The grammar of a GPU name:

1. Tokenise case-insensitively; ``-``, ``_``, ``:``, spaces, dots and brackets separate tokens
   and letters/digits split (``A100-SXM4-80GB`` -> ``a 100 sxm 4 80 gb``). Glued words are split
   on known vocabulary (``geforcertx4090`` -> ``geforce rtx 4090``). Vendor words (nvidia,
   geforce, tesla, amd, instinct, ...) are dropped. DataCrunch/Verda instance names such as
   ``1H100.80S.30V`` (count, GPU, memory, S = SXM, vCPUs) are rewritten first.
2. The longest token run equal to an alias (one model), a family name (every model of the
   family, variant-free ones included) or a shared name (``RTX 6000``: the Quadro, the Ada and
   the PRO card) selects the candidates: ``l 40 s`` beats ``l 40``, ``mi 250 x`` beats ``mi 250``.
3. Every token outside that run must be understood: GPU counts (``8x``, ``gpu_1x``), memory
   sizes (``80GB``), memory technology (``HBM3``), form factors (``SXM4``, ``PCIe``, ``NVL``,
   ``OAM``; ``NVLink``/``HGX`` mean SXM). Anything else (``Ti``, ``D``, ``FHHL``, ``Laptop``)
   is a product we do not know, so the text is not read.
4. Candidates must agree with the stated form factor and with every memory size within
   +/-7 %. A contradiction leaves none.

Variant-free models (``form_factor`` "unspecified", e.g. "A100 80GB", "V100 16GB") stand for a
family member whose form factor the provider does not state; they carry the figures of the
lower-rated part, and are never chosen when a form factor is stated. The ``family_defaults``
of the JSON are only for single-spec calculators that must pick one part for a bare family
name and say so (:meth:`GpuCatalogue.default_for`); provider data and filters never use them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from apps.gpus.tokens import (
    FORM_FACTOR_WORDS,
    MEMORY_TECH,
    MEMORY_UNITS,
    NOISE_WORDS,
    STRUCTURAL_WORDS,
    TOKEN_RE,
    TRADEMARK_RE,
    VERDA_RE,
    VRAM_TOLERANCE,
    is_number,
    parse_leftovers,
    within_tolerance,
)

__all__ = [
    "VRAM_TOLERANCE",
    "CatalogueError",
    "GpuCatalogue",
    "GpuModel",
    "Precision",
    "Reading",
    "all_gpus",
    "default_catalogue",
    "gpu_by_model",
    "snap_vram",
]

DATA_PATH = Path(__file__).resolve().parent / "data" / "gpus.json"

Precision = Literal["fp32", "fp16", "bf16", "fp8", "int8"]

#: The form factor of a variant-free model: the provider did not say which part it is.
UNSPECIFIED_FORM_FACTOR = "unspecified"


class CatalogueError(ValueError):
    """The catalogue data is inconsistent (duplicate names, colliding aliases, bad values)."""


@dataclass(frozen=True, slots=True)
class GpuModel:
    """One accelerator. Figures are per GPU and dense (see ``notes`` in gpus.json)."""

    gpu_model: str
    family: str
    variant: str | None
    form_factor: str
    vendor: str
    architecture: str
    vram_gb: int
    memory_type: str
    memory_bandwidth_gbps: float
    tflops_fp32: float
    tflops_fp16: float
    tflops_bf16: float | None
    tflops_fp8: float | None
    tops_int8: float | None
    tdp_watts: float
    aliases: tuple[str, ...]
    source: str
    verified_at: date

    @property
    def is_variant_free(self) -> bool:
        """Whether this stands for a family member of unstated form factor ("A100 80GB")."""
        return self.form_factor == UNSPECIFIED_FORM_FACTOR

    @property
    def form_factor_class(self) -> str:
        """``sxm`` for any SXM generation, else the lower-cased form factor."""
        return form_factor_class(self.form_factor)

    def peak_tflops(self, precision: Precision) -> float | None:
        """Dense peak rate for ``precision`` (TOPS for int8); ``None`` when not supported."""
        return {
            "fp32": self.tflops_fp32,
            "fp16": self.tflops_fp16,
            "bf16": self.tflops_bf16,
            "fp8": self.tflops_fp8,
            "int8": self.tops_int8,
        }[precision]


@dataclass(frozen=True, slots=True)
class Reading:
    """What one text says about a GPU (grammar rules 1-3 of the module docstring).

    ``candidates`` are the models the name run may mean, before form factor and memory are
    applied; ``matched`` is that run, normalised (``rtx 4090``). ``form_factors`` are the
    form-factor classes the text states (``sxm``, ``pcie``, ``nvl``, ``oam``), ``memory_gb`` the
    memory sizes (GB per GPU), ``stated_count`` the GPU count it states (``8x H100``), ``None``
    when it states none or two different ones.
    """

    candidates: tuple[GpuModel, ...]
    matched: str
    form_factors: frozenset[str]
    memory_gb: tuple[float, ...]
    stated_count: int | None


def snap_vram(vram_gb: float | None) -> int | None:
    """Snap a reported memory size to the nearest catalogue size within +/-7 %, else ``None``.

    ``snap_vram(79.6) == 80``, ``snap_vram(81.92) == 80`` (81920 MiB / 1000), ``snap_vram(56)``
    is ``None`` (neither 48 nor 64). Non-positive, non-finite and missing values give ``None``.
    """
    return default_catalogue().snap_vram(vram_gb)


def all_gpus() -> tuple[GpuModel, ...]:
    """Every catalogue entry, in file order."""
    return default_catalogue().gpus


def gpu_by_model(name: str) -> GpuModel | None:
    """The entry whose canonical ``gpu_model`` equals ``name`` (case and spacing ignored).

    Aliases are not consulted here; ``apps.gpus.identity`` and ``apps.gpus.query`` read names.
    """
    return default_catalogue().by_model(name)


@cache
def default_catalogue() -> GpuCatalogue:
    """The catalogue shipped in ``data/gpus.json``, parsed and validated once per process."""
    with DATA_PATH.open(encoding="utf-8") as handle:
        return GpuCatalogue.from_document(json.load(handle))


def positive_finite(value: float | None) -> float | None:
    """``value`` as a float when it is a positive finite number, else ``None`` (not reported)."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def form_factor_class(form_factor: str) -> str:
    """``sxm`` for ``SXM2``/``SXM4``/``SXM5``/``SXM6``, else the form factor lower-cased."""
    lowered = form_factor.lower()
    return "sxm" if lowered.startswith("sxm") else lowered


class GpuCatalogue:
    """An immutable, validated set of GPUs plus the name index the grammar reads with."""

    def __init__(
        self,
        gpus: Iterable[GpuModel],
        family_defaults: Mapping[str, str],
        shared_names: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.gpus: tuple[GpuModel, ...] = tuple(gpus)
        self._family_defaults = {family: ff.lower() for family, ff in family_defaults.items()}
        unknown_families = set(self._family_defaults) - {gpu.family for gpu in self.gpus}
        if unknown_families:
            raise CatalogueError(f"family_defaults name unknown families {unknown_families}")
        self._by_model: dict[str, GpuModel] = {}
        for gpu in self.gpus:
            key = _model_key(gpu.gpu_model)
            if key in self._by_model:
                raise CatalogueError(f"duplicate gpu_model {gpu.gpu_model!r}")
            self._by_model[key] = gpu
        self._sizes = tuple(sorted({gpu.vram_gb for gpu in self.gpus}))
        self._vocabulary = self._build_vocabulary(shared_names or {})
        self._index = self._build_index(shared_names or {})
        self._max_span = max(len(tokens) for tokens in self._index)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> GpuCatalogue:
        """Build from the parsed JSON document; raises :class:`CatalogueError` on bad data."""
        if document.get("schema_version") != 1:
            raise CatalogueError("unsupported schema_version")
        gpus = [_parse_gpu(entry) for entry in document["gpus"]]
        defaults = {
            family: form_factor
            for family, form_factor in document.get("family_defaults", {}).items()
            if not family.startswith("_")
        }
        shared = {
            name: tuple(models)
            for name, models in document.get("shared_names", {}).items()
            if not name.startswith("_")
        }
        return cls(gpus, defaults, shared)

    # -- lookups ----------------------------------------------------------------------

    def by_model(self, name: str) -> GpuModel | None:
        """See :func:`gpu_by_model`."""
        return self._by_model.get(_model_key(name))

    def snap_vram(self, vram_gb: float | None) -> int | None:
        """See :func:`snap_vram`."""
        value = positive_finite(vram_gb)
        if value is None:
            return None
        nearest = min(self._sizes, key=lambda size: abs(size - value))
        return nearest if within_tolerance(value, nearest) else None

    def default_for(self, candidates: Iterable[GpuModel]) -> GpuModel | None:
        """The family's documented default part among ``candidates`` (calculators only).

        ``None`` unless every candidate is of one family with a ``family_defaults`` entry and
        exactly one candidate has that form factor.
        """
        pool = list(candidates)
        if not pool or any(gpu.family != pool[0].family for gpu in pool):
            return None
        default = self._family_defaults.get(pool[0].family)
        chosen = [gpu for gpu in pool if gpu.form_factor_class == default]
        return chosen[0] if len(chosen) == 1 else None

    # -- reading ----------------------------------------------------------------------

    def read(self, text: str) -> Reading | str:
        """What ``text`` says (grammar rules 1-3), or why it cannot be read.

        The reason is ``no_match`` (no known name), ``ambiguous_match`` (two different names
        equally long: "A100 or H100") or ``unknown_token:<token>`` (a word we do not model).
        """
        tokens = self.tokenize(text)
        span = self._longest_match(tokens)
        if span is None:
            return "no_match"
        if isinstance(span, str):
            return span
        start, end, candidates = span
        form_factors: set[str] = set()
        memory: list[float] = []
        counts: set[int] = set()
        for words in (tokens[:start], tokens[end:]):
            parsed = parse_leftovers(words)
            if isinstance(parsed, str):
                return f"unknown_token:{parsed}"
            form_factors |= parsed[0]
            memory.extend(parsed[1])
            counts |= parsed[2]
        return Reading(
            candidates=tuple(candidates),
            matched=" ".join(tokens[start:end]),
            form_factors=frozenset(form_factors),
            memory_gb=tuple(memory),
            stated_count=next(iter(counts)) if len(counts) == 1 else None,
        )

    @staticmethod
    def narrow(
        candidates: Iterable[GpuModel], form_factors: frozenset[str], memory_gb: Iterable[float]
    ) -> tuple[GpuModel, ...] | str:
        """The candidates that agree with a stated form factor and every memory size (rule 4).

        Returns ``form_factor_conflict`` (two form factors stated), ``form_factor_mismatch``
        or ``vram_mismatch`` when none agrees. A stated form factor excludes variant-free
        models, which stand for an unstated one.
        """
        pool = tuple(candidates)
        if len(form_factors) > 1:
            return "form_factor_conflict"
        if form_factors:
            (wanted,) = form_factors
            pool = tuple(gpu for gpu in pool if gpu.form_factor_class == wanted)
            if not pool:
                return "form_factor_mismatch"
        claims = [size for size in memory_gb if positive_finite(size) is not None]
        pool = tuple(gpu for gpu in pool if all(within_tolerance(m, gpu.vram_gb) for m in claims))
        return pool or "vram_mismatch"

    # -- tokenising and indexing ----------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Normalised tokens of ``text`` with vendor words removed (rule 1)."""
        verda = VERDA_RE.match(text.strip())
        if verda is not None:
            parts = [f"{verda['count']}x", verda["gpu"]]
            if verda["mem"]:
                parts.append(f"{verda['mem']}GB")
            if verda["sxm"]:
                parts.append("SXM")
            text = " ".join(parts)
        tokens: list[str] = []
        for token in TOKEN_RE.findall(TRADEMARK_RE.sub(" ", text).lower()):
            if is_number(token) or token in self._vocabulary:
                tokens.append(token)
            else:
                tokens.extend(self._segment(token) or [token])
        return [token for token in tokens if token not in NOISE_WORDS]

    def _segment(self, word: str) -> list[str] | None:
        """Split a glued word into the fewest vocabulary words, or ``None`` if impossible."""
        best: list[list[str] | None] = [None] * (len(word) + 1)
        best[0] = []
        for end in range(1, len(word) + 1):
            for start in range(end):
                prefix = best[start]
                piece = word[start:end]
                if prefix is not None and piece in self._vocabulary:
                    option = [*prefix, piece]
                    current = best[end]
                    if current is None or len(option) < len(current):
                        best[end] = option
        return best[len(word)]

    def _build_vocabulary(self, shared_names: Mapping[str, Iterable[str]]) -> frozenset[str]:
        words: set[str] = set(NOISE_WORDS | MEMORY_UNITS | MEMORY_TECH | STRUCTURAL_WORDS)
        words |= set(FORM_FACTOR_WORDS)
        texts = [name for name in shared_names]
        for gpu in self.gpus:
            texts.extend((gpu.family, gpu.gpu_model, *gpu.aliases))
        for text in texts:
            words |= {t for t in TOKEN_RE.findall(text.lower()) if not is_number(t)}
        return frozenset(words)

    def _build_index(
        self, shared_names: Mapping[str, Iterable[str]]
    ) -> dict[tuple[str, ...], tuple[GpuModel, ...]]:
        families: dict[tuple[str, ...], list[GpuModel]] = {}
        for gpu in self.gpus:
            families.setdefault(tuple(self.tokenize(gpu.family)), []).append(gpu)
        index: dict[tuple[str, ...], tuple[GpuModel, ...]] = {
            tokens: tuple(members) for tokens, members in families.items()
        }
        owner: dict[tuple[str, ...], str] = {}
        for gpu in self.gpus:
            for alias in gpu.aliases:
                tokens = tuple(self.tokenize(alias))
                if not tokens:
                    raise CatalogueError(f"alias {alias!r} of {gpu.gpu_model!r} is empty")
                if tokens in families:
                    # An alias equal to a family name is only harmless for a one-model family.
                    if families[tokens] != [gpu]:
                        raise CatalogueError(
                            f"alias {alias!r} of {gpu.gpu_model!r} equals a family name"
                        )
                    continue
                previous = owner.setdefault(tokens, gpu.gpu_model)
                if previous != gpu.gpu_model:
                    raise CatalogueError(
                        f"alias {alias!r} is shared by {previous!r} and {gpu.gpu_model!r}"
                    )
                index[tokens] = (gpu,)
        for name, models in shared_names.items():
            tokens = tuple(self.tokenize(name))
            if tokens in index:
                raise CatalogueError(f"shared name {name!r} is already an alias or a family")
            members = tuple(self.by_model(model) for model in models)
            if len(members) < 2 or any(gpu is None for gpu in members):
                raise CatalogueError(f"shared name {name!r} must list two or more known models")
            index[tokens] = tuple(gpu for gpu in members if gpu is not None)
        return index

    def _longest_match(self, tokens: list[str]) -> tuple[int, int, list[GpuModel]] | str | None:
        """Longest indexed run (rule 2); a string reason when two different runs tie."""
        for length in range(min(self._max_span, len(tokens)), 0, -1):
            hits = [
                (start, self._index[run])
                for start in range(len(tokens) - length + 1)
                if (run := tuple(tokens[start : start + length])) in self._index
            ]
            if not hits:
                continue
            if len(hits) > 1:
                return "ambiguous_match"  # e.g. "A100 or H100": two equally specific names
            start, candidates = hits[0]
            return start, start + length, list(candidates)
        return None


def _model_key(name: str) -> str:
    return " ".join(name.lower().split())


def _parse_gpu(entry: Mapping[str, Any]) -> GpuModel:
    try:
        gpu = GpuModel(
            gpu_model=str(entry["gpu_model"]),
            family=str(entry["family"]),
            variant=entry["variant"],
            form_factor=str(entry["form_factor"]),
            vendor=str(entry["vendor"]),
            architecture=str(entry["architecture"]),
            vram_gb=int(entry["vram_gb"]),
            memory_type=str(entry["memory_type"]),
            memory_bandwidth_gbps=float(entry["memory_bandwidth_gbps"]),
            tflops_fp32=float(entry["tflops_fp32"]),
            tflops_fp16=float(entry["tflops_fp16"]),
            tflops_bf16=_optional_float(entry["tflops_bf16"]),
            tflops_fp8=_optional_float(entry["tflops_fp8"]),
            tops_int8=_optional_float(entry["tops_int8"]),
            tdp_watts=float(entry["tdp_watts"]),
            aliases=tuple(entry["aliases"]),
            source=str(entry["source"]),
            verified_at=date.fromisoformat(entry["verified_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"bad catalogue entry {entry.get('gpu_model')!r}: {exc}") from exc
    figures = (
        gpu.vram_gb,
        gpu.memory_bandwidth_gbps,
        gpu.tflops_fp32,
        gpu.tflops_fp16,
        gpu.tdp_watts,
    )
    if any(value <= 0 for value in figures) or not gpu.source.strip():
        raise CatalogueError(f"{gpu.gpu_model!r}: figures must be positive and sourced")
    if gpu.vendor not in {"nvidia", "amd", "intel"}:
        raise CatalogueError(f"{gpu.gpu_model!r}: unknown vendor {gpu.vendor!r}")
    return gpu


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
