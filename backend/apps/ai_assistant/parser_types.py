"""The parser's result: each field a `Found(value, span)`, JSON-ready through `fields()`.

Framework-free, like `parser.py`. Units: parameters in billions, context in tokens, rates per
second, durations in hours, money in the budget's own currency.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, Generic, TypeVar

from apps.ai_assistant import parser_terms as terms

T = TypeVar("T")

# Every field of ParsedWorkload that the parser extracts, in the order answers list them.
FIELD_NAMES = (
    "workload_type",
    "model",
    "precision",
    "context_length",
    "throughput",
    "concurrency",
    "quantity",
    "duration_hours",
    "region",
    "budget",
    "vram_gb",
    "gpu_preferences",
    "gpu_exclusions",
    "spot",
)


@dataclass(frozen=True)
class Span:
    """Where a field came from: `text[start:end]` of the message (`text`)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Found(Generic[T]):
    """A field the parser found: its `value` and the `span` it came from."""

    value: T
    span: Span

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready `{value, start, end, text}`."""
        value = asdict(self.value) if is_dataclass(self.value) else self.value  # type: ignore[arg-type]
        return {"value": value, **asdict(self.span)}


@dataclass(frozen=True)
class ModelMention:
    """A model by name (``name`` as written, minus quantisation suffixes) and/or by size."""

    name: str | None
    family: str | None
    params_billion: float | None
    active_params_billion: float | None = None


@dataclass(frozen=True)
class PrecisionMention:
    """A weight format (fp32, fp16, bf16, fp8, int8, int4) and its method (AWQ, GPTQ)."""

    format: str  # fp32 | fp16 | bf16 | fp8 | int8 | int4
    method: str | None = None  # awq | gptq when named


@dataclass(frozen=True)
class Rate:
    """A throughput target: `value` requests or tokens per second."""

    value: float
    unit: str  # requests_per_second | tokens_per_second


@dataclass(frozen=True)
class Amount:
    """A quantity of work: `value` `unit`s (images, tokens, documents, ...)."""

    value: float
    unit: str  # images | tokens | documents | videos | requests | samples | records | ...


@dataclass(frozen=True)
class RegionMention:
    """A region as named, its kind and the ISO 3166-1 alpha-2 codes it covers."""

    name: str
    kind: str  # group | country | cloud_region
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class Budget:
    """A budget: amount in `currency`, per hour/day/week/month or in total, per GPU or not."""

    amount: float
    currency: str  # USD | EUR | GBP
    period: str  # hour | day | week | month | total
    per_gpu: bool = False


@dataclass(frozen=True)
class GpuMention:
    """A GPU (model, family, memory in GB) or category ("consumer", "AMD") named."""

    name: str  # "H100", "A100 80GB", "RTX 4090", or a category: "consumer", "AMD", "NVIDIA"
    family: str
    memory_gb: int | None = None


@dataclass(frozen=True)
class ParsedWorkload:
    """Everything the parser found in `text`; absent fields are None (or empty)."""

    text: str
    workload_type: Found[str] | None = None
    model: Found[ModelMention] | None = None
    precision: Found[PrecisionMention] | None = None
    context_length: Found[int] | None = None
    throughput: Found[Rate] | None = None
    concurrency: Found[int] | None = None
    quantity: Found[Amount] | None = None
    duration_hours: Found[float] | None = None
    region: Found[RegionMention] | None = None
    budget: Found[Budget] | None = None
    vram_gb: Found[float] | None = None
    gpu_preferences: tuple[Found[GpuMention], ...] = ()
    gpu_exclusions: tuple[Found[GpuMention], ...] = ()
    spot: Found[bool] | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """Fields an estimate cannot do without, in the order a question should ask for them."""
        kind = self.workload_type.value if self.workload_type else None
        if kind is None and self.model is None:
            return ("workload_type", "model")
        needs: list[str] = []
        if kind in (None, "inference", "batch", "training", "fine_tuning") and self.model is None:
            needs.append("model")
        if kind in ("training", "fine_tuning"):
            if self.quantity is None:
                needs.append("quantity")
            if self.duration_hours is None:
                needs.append("duration_hours")
        return tuple(needs)

    def fields(self) -> dict[str, Any]:
        """Every field as JSON-ready `{value, start, end, text}` (None when absent)."""
        out: dict[str, Any] = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            if isinstance(value, tuple):
                out[name] = [item.to_dict() for item in value]
            else:
                out[name] = None if value is None else value.to_dict()
        return out

    def v1_summary(self) -> dict[str, Any]:
        """v1's `/ai/parse-workload` keys with plain values (v1 always sent null but the type)."""
        precision = self.precision.value.format if self.precision else None
        return {
            "workload_type": self.workload_type.value if self.workload_type else None,
            "quantity": self.quantity.value.value if self.quantity else None,
            "duration": self.duration_hours.value if self.duration_hours else None,
            "region": self.region.value.name if self.region else None,
            "quality": terms.QUALITY_BY_PRECISION.get(precision) if precision else None,
        }
