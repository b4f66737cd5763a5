"""Which one catalogue GPU a provider's facts about a card mean, or why none can be said.

Framework-free (the provider adapters import it). Ingestion hands over everything the provider
says about the card as :class:`GpuFacts` - its names (the most specific first: RunPod's id
"NVIDIA A100 80GB PCIe" before its display name "A100 80GB"), the memory of one GPU and any
form-factor or interconnect field - and :func:`resolve_facts` decides:

1. Each name is read by the catalogue grammar (``catalogue.GpuCatalogue.read``). A name with a
   word we do not model ("RTX 4090 D", "Laptop") quarantines the offer: some name says it is a
   product we do not know. Names that match nothing at all are ignored when another matches.
2. The models every readable name allows are intersected ("A100 80GB" and "A100 PCIe" agree
   on "A100 PCIe 80GB"); an empty intersection is ``names_disagree``.
3. Form factors stated by any name or by the form-factor field, and memory sizes stated by any
   name or by ``memory_gb``, narrow the candidates (``catalogue.GpuCatalogue.narrow``). The
   field only counts when it names a form factor (SXM*, PCIe, NVL, OAM, HGX); "NVLink" on an
   offer says how cards are bridged, not which part they are.
4. One candidate left: that model. Several that all have the same memory and include exactly
   one variant-free model ("A100 80GB" among A100 SXM/PCIe 80GB): the variant-free model, since
   the provider did not say which part it is. Otherwise ``ambiguous_variant``. A default form
   factor is never filled in.

Quarantine reasons (``ResolutionResult.reason``): ``no_match``, ``unknown_token:<word>``,
``ambiguous_match``, ``names_disagree``, ``form_factor_conflict``, ``form_factor_mismatch``,
``vram_mismatch``, ``ambiguous_variant``. :func:`quarantine_explanation` turns one into a
sentence an operator can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from apps.gpus.catalogue import (
    GpuCatalogue,
    GpuModel,
    Reading,
    default_catalogue,
    positive_finite,
)
from apps.gpus.tokens import FORM_FACTOR_WORDS, TOKEN_RE, within_tolerance

__all__ = [
    "GpuFacts",
    "ResolutionResult",
    "quarantine_explanation",
    "resolve_facts",
    "resolve_gpu",
    "resolve_gpu_detailed",
]

#: Words of a provider's form-factor/interconnect field that name a form factor. "nvlink" is
#: left out on purpose: PCIe cards are NVLink-bridged too (RTX 3090 pairs, H100 NVL).
_FIELD_FORM_FACTORS = {word: cls for word, cls in FORM_FACTOR_WORDS.items() if word != "nvlink"}

_EXPLANATIONS = {
    "no_match": "no catalogue GPU has this name; add it to apps/gpus/data/gpus.json",
    "unknown_token": "the name carries the word {detail!r}, which marks a product the "
    "catalogue does not hold (e.g. Ti, SUPER, Laptop, SFF); add the product or an alias",
    "ambiguous_match": "the name contains two different GPU names",
    "names_disagree": "the provider's names for the card mean different GPUs",
    "form_factor_conflict": "the provider states two different form factors",
    "form_factor_mismatch": "no GPU of that name exists in the stated form factor",
    "vram_mismatch": "the reported memory matches no variant of that GPU",
    "ambiguous_variant": "several variants fit and the provider's data does not say which "
    "(e.g. no memory size); add the missing field to the adapter or an alias",
}


@dataclass(frozen=True, slots=True)
class GpuFacts:
    """Everything a provider says about one card, as it says it.

    Attributes:
        names: The provider's names or ids for the card, most specific first (RunPod:
            ``("NVIDIA A100 80GB PCIe", "A100 80GB")``); empty strings are ignored.
        memory_gb: Memory of one GPU in GB as reported (MiB/1000 or MiB/1024 both fit the
            7 % tolerance); ``None``, 0, negative or non-finite mean "not reported".
        form_factor: A form-factor or interconnect field ("SXM4", "pcie", "NVLink"), if any.
    """

    names: tuple[str, ...]
    memory_gb: float | None = None
    form_factor: str | None = None

    @property
    def raw_name(self) -> str:
        """The most specific non-empty name (stored as the offer's ``gpu_name_raw``)."""
        return next((name for name in self.names if name.strip()), "")


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    """Outcome of resolving one card, kept for quarantine reports.

    ``gpu`` is ``None`` when quarantined and ``reason`` then says why (module docstring).
    ``matched`` is the normalised name run that selected the candidates. ``stated_count`` is the
    GPU count a name states (``8x H100``, ``1H100.80S.30V``), ``None`` when none or several.
    ``used_default_form_factor`` is only ever true for calculator lookups
    (``apps.gpus.query.gpu_spec_lookup``), never for provider data.
    """

    raw_name: str
    gpu: GpuModel | None
    matched: str | None
    reason: str | None
    used_default_form_factor: bool = False
    stated_count: int | None = None


def field_form_factors(field: str | None) -> frozenset[str]:
    """Form-factor classes a provider's form-factor/interconnect field names ("sxm5" -> sxm)."""
    if not field:
        return frozenset()
    words = TOKEN_RE.findall(field.lower())
    found = {_FIELD_FORM_FACTORS[word] for word in words if word in _FIELD_FORM_FACTORS}
    if "pci" in words:
        found.add("pcie")
    return frozenset(found)


def pick_one(pool: tuple[GpuModel, ...]) -> GpuModel | None:
    """Rule 4: the only candidate, or the one variant-free model all candidates agree with."""
    if len(pool) == 1:
        return pool[0]
    variant_free = [gpu for gpu in pool if gpu.is_variant_free]
    if len(variant_free) != 1:
        return None
    chosen = variant_free[0]
    same_memory = all(within_tolerance(gpu.vram_gb, chosen.vram_gb) for gpu in pool)
    return chosen if same_memory else None


def resolve_facts(facts: GpuFacts, catalogue: GpuCatalogue | None = None) -> ResolutionResult:
    """The one catalogue GPU ``facts`` mean, or a quarantine reason (rules in the docstring)."""
    catalogue = catalogue or default_catalogue()
    raw_name = facts.raw_name
    readings: list[Reading] = []
    for name in facts.names:
        if not name.strip():
            continue
        reading = catalogue.read(name)
        if isinstance(reading, Reading):
            readings.append(reading)
        elif reading != "no_match":
            return ResolutionResult(raw_name, None, None, reading)
    if not readings:
        return ResolutionResult(raw_name, None, None, "no_match")
    matched = readings[0].matched
    counts = {r.stated_count for r in readings if r.stated_count is not None}
    stated_count = next(iter(counts)) if len(counts) == 1 else None

    def outcome(gpu: GpuModel | None, reason: str | None) -> ResolutionResult:
        return ResolutionResult(raw_name, gpu, matched, reason, stated_count=stated_count)

    allowed = {gpu.gpu_model for gpu in readings[0].candidates}
    for reading in readings[1:]:
        allowed &= {gpu.gpu_model for gpu in reading.candidates}
    candidates = tuple(gpu for gpu in readings[0].candidates if gpu.gpu_model in allowed)
    if not candidates:
        return outcome(None, "names_disagree")
    form_factors = frozenset().union(*(r.form_factors for r in readings))
    form_factors |= field_form_factors(facts.form_factor)
    memory = [size for r in readings for size in r.memory_gb]
    reported = positive_finite(facts.memory_gb)
    if reported is not None:
        memory.append(reported)
    pool = catalogue.narrow(candidates, form_factors, memory)
    if isinstance(pool, str):
        return outcome(None, pool)
    chosen = pick_one(pool)
    return outcome(chosen, None if chosen else "ambiguous_variant")


def resolve_gpu(raw_name: str, vram_gb: float | None = None) -> GpuModel | None:
    """The catalogue GPU of one provider string and reported memory, or ``None`` (quarantine)."""
    return resolve_gpu_detailed(raw_name, vram_gb).gpu


@lru_cache(maxsize=8192)
def resolve_gpu_detailed(
    raw_name: str, vram_gb: float | None = None, form_factor: str | None = None
) -> ResolutionResult:
    """:func:`resolve_facts` for one name, cached (ingestion sees a few hundred distinct cards)."""
    return resolve_facts(GpuFacts((raw_name,), vram_gb, form_factor))


@lru_cache(maxsize=8192)
def resolve_facts_cached(facts: GpuFacts) -> ResolutionResult:
    """:func:`resolve_facts` over the shipped catalogue, cached per distinct facts."""
    return resolve_facts(facts)


def quarantine_explanation(reason: str | None) -> str | None:
    """A sentence for an operator saying why an offer's GPU was not resolved, or ``None``."""
    if reason is None:
        return None
    code, _, detail = reason.partition(":")
    template = _EXPLANATIONS.get(code)
    if template is None:
        return reason
    return f"{reason}: {template.format(detail=detail)}"
