"""Reads of the GPU catalogue: name resolution for user input and the loaded spec rows.

`gpu_resolve` is the one way app code turns a GPU name typed by a person (an API parameter, a
KPI path, a math request) into a catalogue GPU; provider strings go through the catalogue's
`resolve_gpu_detailed` during ingestion (`providers.services.normalise.gpu_identity`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.gpus.catalogue import GpuModel, gpu_by_model, resolve_gpu_detailed
from apps.gpus.errors import GpuNotFound
from apps.gpus.models import GPUBenchmark
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
    """The catalogue GPU that `name` means, or None when unknown or ambiguous.

    The canonical name first (case and spacing ignored), then the catalogue's alias rules
    (`catalogue.resolve_gpu_detailed`, the same rules ingestion applies to provider strings).
    """
    exact = gpu_by_model(name)
    if exact is not None:
        return ResolvedGpu(exact, "canonical_name", used_default_form_factor=False)
    result = resolve_gpu_detailed(name)
    if result.gpu is None:
        return None
    return ResolvedGpu(result.gpu, "alias", result.used_default_form_factor)


def gpu_resolve_or_bad_request(*, name: str, field_name: str = "gpu_type") -> ResolvedGpu:
    """`gpu_resolve` for a request field that must name a GPU.

    Raises:
        BadRequest: (400, details `{"field": field_name}`) when `name` is unknown or ambiguous;
            the message points at GET /api/v2/math/benchmarks, which lists every name.
    """
    resolved = gpu_resolve(name=name)
    if resolved is None:
        raise field_error(
            field_name,
            f"unknown or ambiguous GPU {name!r}; use a canonical name or alias from "
            "GET /api/v2/math/benchmarks (e.g. 'H100 SXM', 'A100 SXM 80GB', 'RTX 4090')",
        )
    return resolved


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
        raise GpuNotFound(f"gpu_type: unknown GPU {gpu_type!r}", details={"field": "gpu_type"})
    return row
