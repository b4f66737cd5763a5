"""Cost of one model on one offer: a GPU kind's layouts and the best use of an offer's GPUs.

An offer of ``n`` GPUs at ``price`` USD/h runs ``n // g`` replicas of the tensor-parallel layout
of ``g`` GPUs that gives it the most output tokens/s (``ReplicaLayouts.best_for``):
    USD per million output tokens = price x 1e6 / (replicas x tokens/s per replica x 3600)
at full load and the serving batch of ``sizing.serving_plan``. An offer too small for one
replica gets ``None`` and a reason, never a number. The layouts depend only on the model, the
GPU kind and the traffic shape, so a listing computes them once per GPU kind
(``replica_layouts``) and prices any number of offers from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from algorithms._validation import int_in_range, positive_float
from algorithms.hardware import GpuSpec
from algorithms.model_registry import LlmArchitecture, model_resolve
from algorithms.precision import DEFAULT_KV_PRECISION
from algorithms.serving import CALIBRATED_EFFICIENCY, Efficiency, tensor_parallel_degrees
from algorithms.sizing import SECONDS_PER_HOUR, ModelDoesNotFit, ServingPlan, serving_plan

MAX_OFFER_GPUS = 1_024


@dataclass(frozen=True, slots=True)
class ReplicaLayout:
    """One single-node layout of a model on one GPU kind, at its serving batch.

    Attributes:
        gpus_per_replica: Tensor-parallel degree (one node, no pipeline stages).
        output_tokens_per_second: One replica at its serving batch.
        serving_batch: Sequences the replica decodes together.
        plan: The serving plan behind the figures.
    """

    gpus_per_replica: int
    output_tokens_per_second: float
    serving_batch: int
    plan: ServingPlan


@dataclass(frozen=True, slots=True)
class ReplicaLayouts:
    """Every tensor-parallel layout of one model that one node of a GPU kind holds.

    Attributes:
        layouts: Fitting layouts, fewest GPUs first (empty when none fits).
        reason: Why none fits (empty otherwise).
        gpus_needed: GPUs of the smallest replica that holds the model, pipeline stages
            included (``None`` when no layout of up to 16 GPUs holds it).
    """

    layouts: tuple[ReplicaLayout, ...]
    reason: str
    gpus_needed: int | None

    def best_for(self, gpu_count: int) -> tuple[ReplicaLayout, int] | None:
        """The layout giving ``gpu_count`` GPUs the most output tokens/s, with its replicas.

        ``gpu_count // gpus_per_replica`` replicas of each layout; ``None`` when no layout fits
        in ``gpu_count`` GPUs. Ties keep the fewer GPUs per replica.
        """
        best: tuple[ReplicaLayout, int] | None = None
        for layout in self.layouts:
            replicas = gpu_count // layout.gpus_per_replica
            if replicas == 0:
                continue
            tokens = replicas * layout.output_tokens_per_second
            if best is None or tokens > best[1] * best[0].output_tokens_per_second:
                best = (layout, replicas)
        return best

    def efficient_layouts(self) -> tuple[ReplicaLayout, ...]:
        """The layouts ``best_for`` can pick: more tokens/s per GPU than every smaller one.

        A layout of g GPUs with no more tokens/s per GPU than a smaller one of h GPUs (h divides
        g: the degrees are powers of two) never wins: for any count c, (c // h) x tokens_h >=
        (c // g) x (g / h) x tokens_h >= (c // g) x tokens_g. Dropping it leaves ``best_for``'s
        answer unchanged and gives SQL fewer terms per GPU kind.
        """
        kept: list[ReplicaLayout] = []
        for layout in self.layouts:
            rate = layout.output_tokens_per_second / layout.gpus_per_replica
            if all(rate > k.output_tokens_per_second / k.gpus_per_replica for k in kept):
                kept.append(layout)
        return tuple(kept)

    def unavailable_reason(self, gpu_model: str, gpu_count: int) -> str:
        """Why ``gpu_count`` GPUs of ``gpu_model`` cannot hold one replica."""
        if self.gpus_needed is None:
            return self.reason
        return f"needs {self.gpus_needed} x {gpu_model} per replica; the offer has {gpu_count}"


def replica_layouts(
    *,
    model: str | LlmArchitecture,
    gpu: GpuSpec,
    prompt_tokens: int,
    output_tokens: int,
    context_tokens: int | None = None,
    precision: str | None = None,
    kv_cache_precision: str = DEFAULT_KV_PRECISION,
    price_per_gpu_hour: float | None = None,
    efficiency: Efficiency = CALIBRATED_EFFICIENCY,
) -> ReplicaLayouts:
    """``serving_plan`` for every tensor-parallel degree of ``model`` on one node of ``gpu``.

    What an offer's cost depends on besides its price and GPU count: the listing keeps one of
    these per GPU kind and model, and any offer's figure follows from ``best_for``.

    Raises:
        AlgorithmInputError: For bad inputs (unknown model or precision, counts out of range).
    """
    architecture = model if isinstance(model, LlmArchitecture) else model_resolve(model)
    plan_for = partial(
        serving_plan,
        model=architecture,
        gpu=gpu,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        context_tokens=context_tokens,
        precision=precision,
        kv_cache_precision=kv_cache_precision,
        efficiency=efficiency,
    )
    layouts = []
    for degree in tensor_parallel_degrees(architecture):
        try:
            plan = plan_for(price_per_gpu_hour=price_per_gpu_hour, tensor_parallel=degree)
        except ModelDoesNotFit:
            continue
        layouts.append(
            ReplicaLayout(degree, plan.replica_output_tokens_per_second, plan.serving_batch, plan)
        )
    if layouts:
        return ReplicaLayouts(tuple(layouts), "", layouts[0].gpus_per_replica)
    try:
        smallest = plan_for()
    except ModelDoesNotFit as error:
        return ReplicaLayouts((), error.message, None)
    return ReplicaLayouts((), "", smallest.memory.gpus_per_replica)


@dataclass(frozen=True, slots=True)
class OfferServingCost:
    """Cost per million output tokens of one model on one offer (a listing row).

    Attributes:
        usd_per_million_output_tokens: ``None`` when the offer cannot hold the model.
        reason: Why it is ``None`` (empty otherwise).
        replicas: Replicas the offer's GPUs hold.
        output_tokens_per_second: All replicas together, at the serving batch.
        plan: The single-replica plan behind the figure (``None`` when it does not fit).
        gpus_needed: GPUs of the smallest replica of this GPU kind (``None``: none holds it).
    """

    usd_per_million_output_tokens: float | None
    reason: str
    replicas: int
    output_tokens_per_second: float | None
    plan: ServingPlan | None
    gpus_needed: int | None


def usd_per_million_output_tokens(
    *, price_per_hour: float, output_tokens_per_second: float
) -> float:
    """USD per million output tokens: ``price_per_hour`` (USD/h) x 1e6 / (tokens/s x 3600)."""
    return price_per_hour * 1e6 / (output_tokens_per_second * SECONDS_PER_HOUR)


def offer_serving_cost(
    *,
    model: str | LlmArchitecture,
    gpu: GpuSpec,
    gpu_count: int,
    price_per_hour: float,
    prompt_tokens: int,
    output_tokens: int,
    context_tokens: int | None = None,
    precision: str | None = None,
    kv_cache_precision: str = DEFAULT_KV_PRECISION,
    efficiency: Efficiency = CALIBRATED_EFFICIENCY,
) -> OfferServingCost:
    """USD per million output tokens of ``model`` on one offer, at full load.

    The offer has ``gpu_count`` GPUs at ``price_per_hour`` for the whole instance and runs as
    many replicas of the best layout (``ReplicaLayouts.best_for``) as fit.

    Raises:
        AlgorithmInputError: For bad inputs (unknown model or precision, counts out of range); a
            model that does not fit is not an error but a ``None`` with a reason.
    """
    gpus = int_in_range(gpu_count, "gpu_count", minimum=1, maximum=MAX_OFFER_GPUS)
    price = positive_float(price_per_hour, "price_per_hour", maximum=1e6)
    layouts = replica_layouts(
        model=model,
        gpu=gpu,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        context_tokens=context_tokens,
        precision=precision,
        kv_cache_precision=kv_cache_precision,
        price_per_gpu_hour=price / gpus,
        efficiency=efficiency,
    )
    best = layouts.best_for(gpus)
    if best is None:
        reason = layouts.unavailable_reason(gpu.gpu_model, gpus)
        return OfferServingCost(None, reason, 0, None, None, layouts.gpus_needed)
    layout, replicas = best
    tokens = replicas * layout.output_tokens_per_second
    per_million = usd_per_million_output_tokens(
        price_per_hour=price, output_tokens_per_second=tokens
    )
    return OfferServingCost(per_million, "", replicas, tokens, layout.plan, layouts.gpus_needed)
