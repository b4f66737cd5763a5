"""TOPSIS speed: algorithms.topsis vs pymcdm on the same 10,000 x 6 matrix.

    .venv/bin/python bench/math.py [--rows 10000] [--columns 6] [--runs 51]

Prints the median and the fastest wall time of ``--runs`` calls for each implementation (after
one warm-up call each), pymcdm again with the stable argsort ranking that ours also returns, the
ratios, and the largest score difference between them (pymcdm is the independent reference; both
use vector normalisation). The implementations take turns call by call, so load from other work
on the machine falls on all of them alike.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/math.py`, this file's directory comes first on sys.path and the file
# would shadow the standard library's `math` for numpy and statistics. Drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "backend"))

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from algorithms.topsis import topsis  # noqa: E402


def timed(calls: list[Callable[[], object]], runs: int) -> list[tuple[float, float]]:
    """(median, min) seconds per callable over ``runs`` rounds, the callables taking turns."""
    for call in calls:
        call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for call, series in zip(calls, samples, strict=True):
            start = time.perf_counter()
            call()
            series.append(time.perf_counter() - start)
    return [(statistics.median(series), min(series)) for series in samples]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--runs", type=int, default=51)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    from importlib.metadata import version

    from pymcdm.methods import TOPSIS
    from pymcdm.normalizations import vector_normalization

    pymcdm_version = version("pymcdm")
    rng = np.random.default_rng(args.seed)
    matrix = rng.uniform(0.1, 1000.0, size=(args.rows, args.columns))
    weights = rng.dirichlet(np.ones(args.columns))
    is_cost = np.arange(args.columns) % 2 == 0
    criteria_types = ["cost" if cost else "benefit" for cost in is_cost]
    pymcdm_types = np.where(is_cost, -1, 1)
    reference = TOPSIS(normalization_function=vector_normalization)

    def ours() -> object:
        return topsis(matrix, weights, criteria_types)

    def theirs() -> object:
        # validation=False skips pymcdm's input checks while ours always run: the comparison
        # favours pymcdm.
        return reference(matrix, weights, pymcdm_types, validation=False)

    def theirs_ranked() -> object:
        # Ours also returns the ranking (stable argsort); pymcdm returns only the scores.
        return np.argsort(
            -reference(matrix, weights, pymcdm_types, validation=False), kind="stable"
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (our_median, our_min), (their_median, their_min), (ranked_median, ranked_min) = timed(
            [ours, theirs, theirs_ranked], args.runs
        )
        result = topsis(matrix, weights, criteria_types)
        our_scores = result.scores
        their_scores = np.asarray(reference(matrix, weights, pymcdm_types, validation=False))
        difference = float(np.max(np.abs(our_scores - their_scores)))

    print(
        f"TOPSIS {args.rows} x {args.columns}, {args.runs} runs (median / min), "
        f"numpy {np.__version__}"
    )
    print(f"  gpubroker topsis : {our_median * 1e3:8.3f} ms / {our_min * 1e3:8.3f} ms")
    print(
        f"  pymcdm {pymcdm_version:<9} : {their_median * 1e3:8.3f} ms / {their_min * 1e3:8.3f} ms"
    )
    print(f"  pymcdm + ranking : {ranked_median * 1e3:8.3f} ms / {ranked_min * 1e3:8.3f} ms")
    print(
        f"  ours / pymcdm: median {our_median / their_median:.2f}, min {our_min / their_min:.2f}"
        f" (target <= 1.00); ours / (pymcdm + ranking): median "
        f"{our_median / ranked_median:.2f}, min {our_min / ranked_min:.2f}"
    )
    print(f"  max |score difference|: {difference:.3e} (target <= 1e-9)")
    stable = np.argsort(-our_scores, kind="stable")
    same_order = bool(np.array_equal(result.rankings, stable))
    print(f"  rankings equal the stable argsort of our scores: {same_order}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
