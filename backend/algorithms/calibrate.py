"""Fit the serving model's two efficiency constants to published measurements and print residuals.

Run from ``backend/``: ``python -m algorithms.calibrate --catalogue apps/gpus/data/gpus.json``
(add ``--check`` to print the residuals of the constants in ``serving.CALIBRATED_EFFICIENCY``
without fitting). The fit is a grid search minimising the sum of squared log errors (each
reference counts equally whether it is a throughput or a latency), first on a 0.05 grid over
eta_memory in [0.30, 1.00] and eta_compute in [0.20, 1.00], then on a 0.01 grid around the best
point.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from algorithms.hardware import GpuSpec, gpu_figures_load
from algorithms.model_registry import model_resolve
from algorithms.precision import kv_precision, weight_precision
from algorithms.serving import (
    CALIBRATED_EFFICIENCY,
    Efficiency,
    memory_plan,
    prefill_seconds,
    step_time,
)

REFERENCES_PATH = Path(__file__).resolve().parent / "data" / "serving_references.json"
TOLERANCE = 0.35  # every reference within +/-35 % (issue 13)
METRICS = frozenset(
    {
        "output_tokens_per_second",
        "inter_token_latency_ms",
        "time_to_first_token_ms",
        "request_latency_ms",
    }
)


@dataclass(frozen=True, slots=True)
class Reference:
    """One published measurement and its setup (see data/serving_references.json)."""

    id: str
    url: str
    model: str
    gpu: str
    tensor_parallel: int
    precision: str
    kv_precision: str
    prompt_tokens: int
    output_tokens: int
    concurrency: int | None  # None = maximum load (memory-limited batch)
    metric: str
    measured: float


@dataclass(frozen=True, slots=True)
class Residual:
    """The model's figure for one reference and its relative error (model / measured - 1)."""

    reference: Reference
    modelled: float
    batch: int

    @property
    def error(self) -> float:
        """Relative error, e.g. 0.12 for 12 % above the measurement."""
        return self.modelled / self.reference.measured - 1.0


def references_load(path: Path = REFERENCES_PATH) -> tuple[Reference, ...]:
    """Parse the reference table.

    Raises:
        ValueError: On an unknown metric, a non-positive measurement or a missing source URL.
    """
    with path.open(encoding="utf-8") as handle:
        document: Mapping[str, Any] = json.load(handle)
    references = []
    for entry in document["references"]:
        concurrency = entry["concurrency"]
        reference = Reference(
            id=entry["id"],
            url=entry["source"]["url"],
            model=entry["model"],
            gpu=entry["gpu"],
            tensor_parallel=int(entry["tensor_parallel"]),
            precision=entry["precision"],
            kv_precision=entry["kv_precision"],
            prompt_tokens=int(entry["prompt_tokens"]),
            output_tokens=int(entry["output_tokens"]),
            concurrency=None if concurrency == "max" else int(concurrency),
            metric=entry["metric"],
            measured=float(entry["measured"]),
        )
        if reference.metric not in METRICS or reference.measured <= 0:
            raise ValueError(f"{reference.id}: bad metric or measurement")
        if not reference.url.startswith("https://"):
            raise ValueError(f"{reference.id}: needs an https source")
        references.append(reference)
    return tuple(references)


def reference_predict(
    reference: Reference, gpus: Mapping[str, GpuSpec], efficiency: Efficiency
) -> Residual:
    """The model's figure for ``reference``'s setup and metric.

    Raises:
        KeyError: When the reference names a GPU the catalogue lacks.
        ValueError: When the model says the setup does not fit in memory.
    """
    model = model_resolve(reference.model)
    gpu = gpus[reference.gpu]
    precision = weight_precision(reference.precision)
    kv = kv_precision(reference.kv_precision)
    sequence = reference.prompt_tokens + reference.output_tokens
    plan = memory_plan(
        model=model,
        gpu=gpu,
        precision=precision,
        kv_precision=kv,
        context_tokens=sequence,
        tokens_per_sequence=sequence,
        tensor_parallel=reference.tensor_parallel,
    )
    if not plan.fits:
        raise ValueError(f"{reference.id}: {plan.reason}")
    batch = plan.max_sequences if reference.concurrency is None else reference.concurrency

    def step(include_prefill: bool) -> float:
        return step_time(
            model=model,
            gpu=gpu,
            plan=plan,
            precision=precision,
            kv_precision=kv,
            prompt_tokens=reference.prompt_tokens,
            output_tokens=reference.output_tokens,
            batch=batch,
            efficiency=efficiency,
            include_prefill=include_prefill,
        ).seconds

    def prefill(tokens: int) -> float:
        return prefill_seconds(
            model=model,
            gpu=gpu,
            plan=plan,
            precision=precision,
            prompt_tokens=tokens,
            efficiency=efficiency,
        )

    if reference.metric == "output_tokens_per_second":
        modelled = batch / step(include_prefill=True)
    elif reference.metric == "inter_token_latency_ms":
        modelled = 1000.0 * step(include_prefill=batch > 1)
    elif reference.metric == "time_to_first_token_ms":
        modelled = 1000.0 * prefill(reference.prompt_tokens)
    else:  # request_latency_ms: the batch's prompts prefilled together, then every decode step
        modelled = 1000.0 * (
            prefill(batch * reference.prompt_tokens)
            + reference.output_tokens * step(include_prefill=False)
        )
    return Residual(reference=reference, modelled=modelled, batch=batch)


def residuals(
    references: Iterable[Reference], gpus: Mapping[str, GpuSpec], efficiency: Efficiency
) -> tuple[Residual, ...]:
    """``reference_predict`` for every reference."""
    return tuple(reference_predict(reference, gpus, efficiency) for reference in references)


def fit(references: Sequence[Reference], gpus: Mapping[str, GpuSpec]) -> Efficiency:
    """The (eta_memory, eta_compute) pair minimising the sum of squared log errors (two grids)."""

    def loss(memory: float, compute: float) -> float:
        found = residuals(references, gpus, Efficiency(memory, compute))
        return sum(math.log(r.modelled / r.reference.measured) ** 2 for r in found)

    best = _grid(loss, np.arange(0.30, 1.0001, 0.05), np.arange(0.20, 1.0001, 0.05))
    fine_memory = np.arange(max(0.30, best[0] - 0.05), min(1.0, best[0] + 0.05) + 1e-4, 0.01)
    fine_compute = np.arange(max(0.20, best[1] - 0.05), min(1.0, best[1] + 0.05) + 1e-4, 0.01)
    memory, compute = _grid(loss, fine_memory, fine_compute)
    return Efficiency(memory_bandwidth=memory, compute=compute)


def _grid(
    loss: Any, memories: np.ndarray[Any, Any], computes: np.ndarray[Any, Any]
) -> tuple[float, float]:
    scores = [
        (loss(round(float(m), 2), round(float(c), 2)), round(float(m), 2), round(float(c), 2))
        for m in memories
        for c in computes
    ]
    _, memory, compute = min(scores)
    return memory, compute


def table(found: Sequence[Residual]) -> str:
    """Markdown table: reference, measured, model, error %."""
    lines = [
        "| reference | batch | metric | measured | model | error |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for residual in found:
        ref = residual.reference
        lines.append(
            f"| {ref.id} | {residual.batch} | {ref.metric} | {ref.measured:,.2f} | "
            f"{residual.modelled:,.2f} | {residual.error:+.1%} |"
        )
    worst = max(abs(residual.error) for residual in found)
    lines.append("")
    lines.append(f"largest |error|: {worst:.1%} (tolerance {TOLERANCE:.0%})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: fit (default) or ``--check`` the constants in the code; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="do not fit; use the code's values")
    parser.add_argument(
        "--catalogue", type=Path, required=True, help="the GPU catalogue (apps/gpus/data/gpus.json)"
    )
    arguments = parser.parse_args(argv)
    gpus = gpu_figures_load(arguments.catalogue)
    references = references_load()
    efficiency = CALIBRATED_EFFICIENCY if arguments.check else fit(references, gpus)
    print(
        f"eta_memory = {efficiency.memory_bandwidth:.2f}, eta_compute = {efficiency.compute:.2f} "
        f"({'from serving.py' if arguments.check else 'fitted'}, {len(references)} references)"
    )
    print(table(residuals(references, gpus, efficiency)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
