"""Reads of the GPU catalogue: name resolution for user input and the loaded spec rows.

`gpu_resolve` is how app code turns a GPU name typed by a person into the ONE catalogue GPU a
calculator or spec page needs (`apps.gpus.query.gpu_spec_lookup`); filters that may mean several
models (the listing, KPIs, the price stream) use `apps.gpus.query.gpu_query` directly. Provider
strings go through `apps.gpus.identity` during ingestion (`providers.services.normalise`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.gpus.catalogue import GpuModel
from apps.gpus.errors import GpuNotFound
from apps.gpus.models import GPUBenchmark
from apps.gpus.query import gpu_query, gpu_spec_lookup
from gpubroker.core.errors import field_error


@dataclass(frozen=True)
class ResolvedGpu:
    """A catalogue GPU for a user-typed name.

    Attributes:
        gpu: The catalogue entry (figures per GPU, dense).
        resolved_from: "canonical_name" or "alias".
        used_default_form_factor: The family default (e.g. H100 -> SXM) decided the variant.
    """

    gpu: GpuModel
    resolved_from: str
    used_default_form_factor: bool


def gpu_resolve(*, name: str) -> ResolvedGpu | None:
    """The one catalogue GPU that `name` means, or None when unknown or ambiguous.

    `apps.gpus.query.gpu_spec_lookup`: the canonical name, else one model, the variant-free model
    all matches agree on, or a bare family's documented default part (flagged).
    """
    result = gpu_spec_lookup(name)
    if result.gpu is None:
        return None
    exact = result.gpu.gpu_model.lower() == " ".join(name.lower().split())
    return ResolvedGpu(
        result.gpu, "canonical_name" if exact else "alias", result.used_default_form_factor
    )


def gpu_resolve_or_bad_request(*, name: str, field_name: str = "gpu_type") -> ResolvedGpu:
    """`gpu_resolve` for a request field that must name a GPU.

    Raises:
        BadRequest: (400, details `{"field": field_name}`) when `name` is unknown or ambiguous;
            the message points at GET /api/v2/math/benchmarks, which lists every name.
    """
    resolved = gpu_resolve(name=name)
    if resolved is None:
        raise field_error(field_name, _unresolved_message(name))
    return resolved


#: How many GPU names an "names several GPUs" message lists ("rtx" matches over 40).
_OPTIONS_SHOWN = 8


def _unresolved_message(name: str) -> str:
    models = sorted(gpu_query(name).catalogue_models())
    if len(models) > 1:
        options = ", ".join(models[:_OPTIONS_SHOWN])
        if len(models) > _OPTIONS_SHOWN:
            options += f" and {len(models) - _OPTIONS_SHOWN} more"
        return f"{name!r} names several GPUs ({options}); name one of them"
    return (
        f"unknown GPU {name!r}; use a canonical name or alias from "
        "GET /api/v2/math/benchmarks (e.g. 'H100 SXM', 'A100 SXM 80GB', 'RTX 4090')"
    )


def gpu_benchmark_list() -> QuerySet[GPUBenchmark]:
    """Every loaded spec row (`gpu_benchmarks`), ordered by gpu_model."""
    return GPUBenchmark.objects.order_by("gpu_model")


def gpu_benchmark_get(*, gpu_type: str) -> GPUBenchmark:
    """The loaded spec row for a canonical name or alias.

    Raises:
        GpuNotFound: (404, details `{"field": "gpu_type"}`) when the name resolves to no GPU or the
            GPU's row has not been loaded (`manage.py load_gpu_specs`).
    """
    resolved = gpu_resolve(name=gpu_type)
    row = (
        None
        if resolved is None
        else GPUBenchmark.objects.filter(gpu_model=resolved.gpu.gpu_model).first()
    )
    if row is None:
        raise GpuNotFound(
            f"gpu_type: {_unresolved_message(gpu_type)}", details={"field": "gpu_type"}
        )
    return row
