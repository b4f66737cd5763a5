"""What GPU text typed by a person means: the one rule for every filter and lookup.

Framework-free. The REST listing and the WebSocket snapshot (``providers.selectors.offers``),
live WebSocket updates (``websocket_gateway.filters``), ``/kpi/gpu/{gpu_type}``, the assistant's
offer search (through the listing) and the single-spec lookups (``/math/benchmarks/{gpu}``, the
calculators; :func:`gpu_spec_lookup`) all read a person's GPU text with :func:`gpu_query`:

* The text goes through the same catalogue grammar as provider names (case, spaces, dashes,
  underscores, "GB" suffixes, vendor words, glued SkyPilot/gpuhunt spellings: ``A100-80GB``,
  ``RTX4090``, ``RTX6000-Ada``, ``H100-SXM``, ``h100 sxm``). A SkyPilot count suffix
  (``H100:8``) is split off as :attr:`GpuQuery.count` (the listing's ``gpu_count_min``);
  filters refuse any other text after a ``:`` (:func:`gpu_count_suffix`). A count written in
  the name (``8x H100``, ``H100 x8``) counts the same when there is no suffix.
* A family name means all its variants (``H100``: SXM, PCIe, NVL and the variant-free
  "H100 80GB"); a variant means that variant (``H100 SXM``); stated memory or form factor
  narrows (``A100 80GB``: every 80 GB A100). Names are matched as whole names, so ``A10`` is
  never an A100 and ``L40`` never an L40S.
* A vendor's name alone (``nvidia``, ``AMD``, ``intel``) means every catalogue GPU of it.
* Text the grammar cannot read (``4090``, ``geforce``, a product we do not hold) falls back to
  a case-insensitive substring of the canonical or the provider's name
  (``apps.gpus.matching``), so a new raw name stays searchable. Lookups that need catalogue
  models (``/kpi/gpu/{gpu}``, the spec lookups) take the canonical names containing it
  (:meth:`GpuQuery.catalogue_models`), so ``4090`` means the RTX 4090 on every endpoint.
* Unicode compatibility forms are folded first (NFKC): ``H100`` typed in full-width forms
  (U+FF28 U+FF11 U+FF10 U+FF10, as CJK input methods give it) is ``H100``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from apps.gpus.catalogue import GpuModel, Reading, default_catalogue
from apps.gpus.identity import ResolutionResult, pick_one
from apps.gpus.matching import gpu_text_fold, gpu_text_matches

__all__ = [
    "MAX_GPU_COUNT",
    "GpuCountError",
    "GpuQuery",
    "gpu_count_suffix",
    "gpu_query",
    "gpu_spec_lookup",
    "gpu_text_normalise",
]

#: The largest GPU count a query may ask for: the `:N` suffix and the listing's gpu_count_min.
MAX_GPU_COUNT = 1_000_000
_WHOLE_NUMBER = re.compile(r"[0-9]+")


class GpuCountError(ValueError):
    """What follows the ``:`` of a GPU query is not a GPU count from 1 to `MAX_GPU_COUNT`."""


def gpu_count_suffix(text: str) -> tuple[str, int | None]:
    """Split a SkyPilot count suffix off a person's GPU text: ``"H100:8"`` -> ``("H100", 8)``.

    Args:
        text: GPU text as typed; whitespace around the text, the ``:`` and the count is ignored.

    Returns:
        The text before the last ``:`` (trimmed) and the count; ``(text trimmed, None)`` when
        the text has no ``:``.

    Raises:
        GpuCountError: The text after the last ``:`` is not a whole number from 1 to
            `MAX_GPU_COUNT` (``H100:abc``, ``H100:0``, ``H100:-1``, ``H100:``, 20 digits).
    """
    head, colon, tail = text.strip().rpartition(":")
    if not colon:
        return text.strip(), None
    count = tail.strip()
    if not _WHOLE_NUMBER.fullmatch(count) or not 1 <= int(count) <= MAX_GPU_COUNT:
        raise GpuCountError(
            f"the GPU count after ':' must be a whole number from 1 to {MAX_GPU_COUNT:,}"
        )
    return head.strip(), int(count)


@dataclass(frozen=True, slots=True)
class GpuQuery:
    """A person's GPU text, read.

    Attributes:
        text: The text without its count suffix, whitespace-trimmed.
        models: Canonical models the text means (possibly empty: "A100 48GB" names no GPU);
            ``None`` when the grammar cannot read it and the substring fallback applies.
        count: The ``:N`` suffix (GPUs per instance, at least), or ``None``.
        label: How to name the answer: the one model, else the family when the text named a
            whole family, else the text.
    """

    text: str
    models: frozenset[str] | None
    count: int | None
    label: str

    @property
    def is_resolved(self) -> bool:
        """Whether the text named catalogue GPUs (else: raw substring fallback)."""
        return self.models is not None

    def matches(self, gpu_model: str | None, raw_name: str | None = None) -> bool:
        """Whether an offer with this GPU (and provider name) is meant.

        ``gpu_model`` is normally canonical; a name some other producer wrote ("H100-80G") is
        read too and matches when every model it may mean is one this query means.
        """
        if self.models is not None:
            if gpu_model is None:
                return False
            if gpu_model in self.models:
                return True
            meant = gpu_query(gpu_model).models
            return bool(meant) and meant is not None and meant <= self.models
        return gpu_text_matches(gpu_text_fold(self.text), (gpu_model, raw_name))

    def substring_models(self, names: Iterable[GpuModel]) -> list[str]:
        """Fallback only: canonical names containing the text (case-insensitive)."""
        folded = gpu_text_fold(self.text)
        return [gpu.gpu_model for gpu in names if gpu_text_matches(folded, [gpu.gpu_model])]

    def catalogue_models(self) -> frozenset[str]:
        """The catalogue models meant: `models`, else the canonical names containing the text.

        The second is the canonical half of the listing's substring fallback (``4090`` ->
        RTX 4090; ``3090`` -> RTX 3090 and RTX 3090 Ti). Empty when nothing matches and for
        blank text.
        """
        if self.models is not None:
            return self.models
        if not self.text:  # blank text names nothing (it is in every name)
            return frozenset()
        return frozenset(self.substring_models(default_catalogue().gpus))


# A vendor's name alone means every catalogue GPU of that vendor (`GpuModel.vendor`).
_VENDOR_LABELS = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel"}


def gpu_text_normalise(text: str) -> str:
    """``text`` in Unicode NFKC: full-width letters, digits and spaces become ASCII."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=4096)
def gpu_query(text: str) -> GpuQuery:
    """Read ``text`` as a person's GPU query (module docstring). Cached per distinct text."""
    text = gpu_text_normalise(text)
    try:
        stripped, count = gpu_count_suffix(text)
    except GpuCountError:
        # Filters refuse such text (`gpu_count_suffix`); a name lookup reads it whole.
        stripped, count = text.strip(), None
    catalogue = default_catalogue()
    vendor = gpu_text_fold(stripped)
    if vendor in _VENDOR_LABELS:
        of_vendor = frozenset(gpu.gpu_model for gpu in catalogue.gpus if gpu.vendor == vendor)
        return GpuQuery(stripped, of_vendor, count, _VENDOR_LABELS[vendor])
    reading = catalogue.read(stripped)
    if not isinstance(reading, Reading):
        return GpuQuery(stripped, None, count, stripped)
    pool = catalogue.narrow(reading.candidates, reading.form_factors, reading.memory_gb)
    models = () if isinstance(pool, str) else pool
    if count is None and reading.stated_count is not None:
        # "8x H100", "H100 x8": the same as "H100:8"; a count out of range is not one.
        count = reading.stated_count if 1 <= reading.stated_count <= MAX_GPU_COUNT else None
    return GpuQuery(
        stripped, frozenset(g.gpu_model for g in models), count, _label(models, reading, stripped)
    )


def _label(models: tuple[GpuModel, ...], reading: Reading, text: str) -> str:
    if len(models) == 1:
        return models[0].gpu_model
    families = {gpu.family for gpu in reading.candidates}
    whole_family = len(models) == len(reading.candidates) and len(families) == 1
    return next(iter(families)) if whole_family else text


def gpu_spec_lookup(text: str) -> ResolutionResult:
    """The one spec a calculator or ``/math/benchmarks/{gpu}`` should use for ``text``.

    The canonical name itself first; else, for a bare family name, the family's documented
    default part (``family_defaults``: H100 -> H100 SXM, H200 -> H200 SXM), reported as
    ``used_default_form_factor``; else the models :func:`gpu_query` finds: one model, or the
    variant-free model they all agree on, or the default part. A family whose default form
    factor comes in several memory sizes (A100, V100: 40/80 GB, 16/32 GB) stays ambiguous.
    Text the grammar cannot read takes the canonical names containing it (as the listing does),
    narrowed to the one name that ends with the text as a word when there are several
    (``3090`` -> RTX 3090, not RTX 3090 Ti). Otherwise ``gpu`` is ``None`` with ``reason``
    ``no_match`` or ``ambiguous_variant``.
    """
    catalogue = default_catalogue()
    exact = catalogue.by_model(gpu_text_normalise(text).strip())
    if exact is not None:
        return ResolutionResult(text, exact, exact.gpu_model, None)
    query = gpu_query(text)
    if query.models is None:
        return _substring_lookup(text, query)
    if not query.models:
        return ResolutionResult(text, None, None, "no_match")
    pool = tuple(gpu for gpu in catalogue.gpus if gpu.gpu_model in query.models)
    default = catalogue.default_for(gpu for gpu in pool if not gpu.is_variant_free)
    bare_family = len(pool) > 1 and query.label in {gpu.family for gpu in pool}
    if default is not None and bare_family:
        return ResolutionResult(text, default, query.label, None, used_default_form_factor=True)
    chosen = pick_one(pool)
    if chosen is not None:
        return ResolutionResult(text, chosen, query.label, None)
    if default is not None:
        return ResolutionResult(text, default, query.label, None, used_default_form_factor=True)
    return ResolutionResult(text, None, query.label, "ambiguous_variant")


def _substring_lookup(text: str, query: GpuQuery) -> ResolutionResult:
    names = sorted(query.catalogue_models())
    if not names:
        return ResolutionResult(text, None, None, "no_match")
    if len(names) > 1:
        ending = " " + gpu_text_fold(query.text)
        names = [name for name in names if gpu_text_fold(name).endswith(ending)] or names
    if len(names) > 1:
        return ResolutionResult(text, None, query.label, "ambiguous_variant")
    gpu = default_catalogue().by_model(names[0])
    return ResolutionResult(text, gpu, names[0], None)
