"""Canonical GPU catalogue: one data file for provider name resolution and math_core specs.

Framework-free (no Django). The data lives in ``data/gpus.json``; its ``notes`` explain the
figures (dense tensor FLOPS, per-GPU values). This module loads it once and answers three
questions:

* :func:`all_gpus` / :func:`gpu_by_model`: the specs, by canonical ``gpu_model``.
* :func:`resolve_gpu`: which canonical GPU a provider's free-text name means, or ``None``
  when that is not certain. A wrong guess poisons prices, rankings and cost-per-token, while
  ``None`` only quarantines one offer for review, so every rule below prefers ``None``.
* :func:`snap_vram`: a provider-reported memory size snapped to a known size.

Resolution rules (:func:`resolve_gpu_detailed` returns the reasoning):

1. Tokenise case-insensitively; ``-``, ``_``, spaces, dots and brackets separate tokens and
   letters/digits split (``A100-SXM4-80GB`` -> ``a 100 sxm 4 80 gb``). Glued words are split
   on known vocabulary (``geforcertx4090`` -> ``geforce rtx 4090``). Vendor words (nvidia,
   geforce, tesla, amd, instinct, ...) are dropped. DataCrunch/Verda instance names such as
   ``1H100.80S.30V`` (count, GPU, memory, S = SXM, vCPUs) are rewritten first.
2. The longest token run equal to an alias (one model) or a family name (every model of the
   family) selects the candidates: ``l 40 s`` beats ``l 40``, ``mi 250 x`` beats ``mi 250``.
3. Every token outside that run must be understood: GPU counts (``8x``, ``gpu_1x``), memory
   sizes (``80GB``), memory technology (``HBM3``), form factors (``SXM4``, ``PCIe``, ``NVL``,
   ``OAM``; ``NVLink``/``HGX`` mean SXM). Anything else (``Ti``, ``SUPER``, ``D``, ``FHHL``,
   ``Laptop``) is a different product we do not know, so the result is ``None``.
4. Candidates must agree with the stated form factor and with every memory size, from the
   string or from ``vram_gb``, within +/-7 %. A contradiction gives ``None``.
5. Several candidates left: if no form factor was stated and the family has a documented
   default (``family_defaults`` in the JSON: H100, H200, A100 and V100 default to SXM, because
   the unqualified name conventionally means the SXM part and PCIe/NVL parts always carry
   their suffix), the default is applied and ``used_default_form_factor`` is set. Memory size
   is never defaulted: ``NVIDIA A100`` without a size is ``None``, ``NVIDIA A100`` with
   ``vram_gb=80`` is ``A100 SXM 80GB``.

``vram_gb`` is the memory of one GPU, as the provider reports it (MiB/1000 and MiB/1024 both
fall inside the tolerance); pass ``None`` when unknown. Non-positive or non-finite values are
treated as unknown because providers use 0 for "not reported".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from apps.gpus.tokens import (
    FORM_FACTOR_WORDS,
    MEMORY_TECH,
    MEMORY_UNITS,
    NOISE_WORDS,
    STRUCTURAL_WORDS,
    TOKEN_RE,
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
    "ResolutionResult",
    "all_gpus",
    "default_catalogue",
    "gpu_by_model",
    "resolve_gpu",
    "resolve_gpu_detailed",
    "snap_vram",
]

DATA_PATH = Path(__file__).resolve().parent / "data" / "gpus.json"

Precision = Literal["fp32", "fp16", "bf16", "fp8", "int8"]


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
class ResolutionResult:
    """Outcome of resolving one provider string, kept for quarantine reports.

    ``gpu`` is ``None`` when quarantined and ``reason`` then says why: ``no_match``,
    ``unknown_token:<token>``, ``ambiguous_match``, ``form_factor_conflict``,
    ``form_factor_mismatch``, ``vram_mismatch`` or ``ambiguous_variant``.
    ``matched`` is the normalised token run that selected the candidates. ``stated_count`` is
    the GPU count the string itself states (``8x H100``, ``1H100.80S.30V``), ``None`` when it
    states none or two different ones.
    """

    raw_name: str
    gpu: GpuModel | None
    matched: str | None
    reason: str | None
    used_default_form_factor: bool = False
    stated_count: int | None = None


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

    Aliases are not consulted here; use :func:`resolve_gpu` for provider strings.
    """
    return default_catalogue().by_model(name)


def resolve_gpu(raw_name: str, vram_gb: float | None = None) -> GpuModel | None:
    """Canonical GPU for a provider string, or ``None`` to quarantine it (module docstring)."""
    return resolve_gpu_detailed(raw_name, vram_gb).gpu


@lru_cache(maxsize=8192)
def resolve_gpu_detailed(raw_name: str, vram_gb: float | None = None) -> ResolutionResult:
    """Like :func:`resolve_gpu` but with the matched tokens and the quarantine reason.

    Cached: ingestion resolves the same few hundred names for tens of thousands of offers.
    """
    return default_catalogue().resolve(raw_name, vram_gb)


@cache
def default_catalogue() -> GpuCatalogue:
    """The catalogue shipped in ``data/gpus.json``, parsed and validated once per process."""
    with DATA_PATH.open(encoding="utf-8") as handle:
        return GpuCatalogue.from_document(json.load(handle))


def _positive_finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _form_factor_class(form_factor: str) -> str:
    lowered = form_factor.lower()
    return "sxm" if lowered.startswith("sxm") else lowered


class GpuCatalogue:
    """An immutable, validated set of GPUs plus the alias index used for resolution."""

    def __init__(self, gpus: Iterable[GpuModel], family_defaults: Mapping[str, str]) -> None:
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
        self._vocabulary = self._build_vocabulary()
        self._index = self._build_index()
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
        return cls(gpus, defaults)

    # -- lookups ----------------------------------------------------------------------

    def by_model(self, name: str) -> GpuModel | None:
        """See :func:`gpu_by_model`."""
        return self._by_model.get(_model_key(name))

    def snap_vram(self, vram_gb: float | None) -> int | None:
        """See :func:`snap_vram`."""
        value = _positive_finite(vram_gb)
        if value is None:
            return None
        nearest = min(self._sizes, key=lambda size: abs(size - value))
        return nearest if within_tolerance(value, nearest) else None

    def resolve(self, raw_name: str, vram_gb: float | None = None) -> ResolutionResult:
        """Apply the resolution rules of the module docstring (uncached)."""
        tokens = self.tokenize(raw_name)
        span = self._longest_match(tokens)
        if span is None:
            return ResolutionResult(raw_name, None, None, "no_match")
        if isinstance(span, str):
            return ResolutionResult(raw_name, None, None, span)
        start, end, candidates = span
        matched = " ".join(tokens[start:end])

        def quarantine(reason: str) -> ResolutionResult:
            return ResolutionResult(raw_name, None, matched, reason)

        leftovers = parse_leftovers(tokens[:start]), parse_leftovers(tokens[end:])
        form_factors: set[str] = set()
        memory_claims: list[float] = []
        counts: set[int] = set()
        for parsed in leftovers:
            if isinstance(parsed, str):
                return quarantine(f"unknown_token:{parsed}")
            form_factors |= parsed[0]
            memory_claims.extend(parsed[1])
            counts |= parsed[2]
        stated_count = next(iter(counts)) if len(counts) == 1 else None
        reported = _positive_finite(vram_gb)
        if reported is not None:
            memory_claims.append(reported)

        if len(form_factors) > 1:
            return quarantine("form_factor_conflict")
        if form_factors:
            (wanted,) = form_factors
            candidates = [c for c in candidates if _form_factor_class(c.form_factor) == wanted]
            if not candidates:
                return quarantine("form_factor_mismatch")
        candidates = [
            c for c in candidates if all(within_tolerance(m, c.vram_gb) for m in memory_claims)
        ]
        if not candidates:
            return quarantine("vram_mismatch")
        if len(candidates) == 1:
            return ResolutionResult(
                raw_name, candidates[0], matched, None, stated_count=stated_count
            )

        default = self._family_defaults.get(candidates[0].family)
        same_family = all(c.family == candidates[0].family for c in candidates)
        if default is not None and same_family and not form_factors:
            defaulted = [c for c in candidates if _form_factor_class(c.form_factor) == default]
            if len(defaulted) == 1:
                return ResolutionResult(
                    raw_name, defaulted[0], matched, None, True, stated_count=stated_count
                )
        return quarantine("ambiguous_variant")

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
        for token in TOKEN_RE.findall(text.lower()):
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

    def _build_vocabulary(self) -> frozenset[str]:
        words: set[str] = set(NOISE_WORDS | MEMORY_UNITS | MEMORY_TECH | STRUCTURAL_WORDS)
        words |= set(FORM_FACTOR_WORDS)
        for gpu in self.gpus:
            for text in (gpu.family, gpu.gpu_model, *gpu.aliases):
                words |= {t for t in TOKEN_RE.findall(text.lower()) if not is_number(t)}
        return frozenset(words)

    def _build_index(self) -> dict[tuple[str, ...], tuple[GpuModel, ...]]:
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
