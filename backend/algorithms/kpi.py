"""Cost of peak compute: cost per GFLOP and per TFLOP-hour of a GPU at a price.

Units: dense (no sparsity) TFLOP/s, prices per hour in the offer's currency. Cost per token is
the serving model's (``sizing``, ``offer_cost``), not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

from algorithms._validation import positive_float

SECONDS_PER_HOUR = 3600.0
MAX_GPU_COUNT = 1_024  # beyond a rack-scale cluster; larger is a typo, not a request


@dataclass(frozen=True)
class CostPerGflop:
    """Price of peak compute, USD.

    ``cost_per_gflop``: cost of 1 GFLOP of work at peak rate; ``cost_per_tflop_hour``: cost of
    one hour of 1 TFLOP/s of peak capacity.
    """

    cost_per_gflop: float
    cost_per_tflop_hour: float


def cost_per_gflop(*, price_per_hour: float, tflops: float) -> CostPerGflop:
    """Price of compute at the GPU's peak dense rate for one precision.

    cost_per_tflop_hour = price_per_hour / tflops
    cost_per_gflop      = price_per_hour / (tflops * 1000 * 3600)
    (tflops * 1000 GFLOP/s * 3600 s = GFLOPs executed per rented hour at peak.)
    """
    price = positive_float(price_per_hour, "price_per_hour")
    rate = positive_float(tflops, "tflops")
    return CostPerGflop(
        cost_per_gflop=price / (rate * 1000.0 * SECONDS_PER_HOUR),
        cost_per_tflop_hour=price / rate,
    )
