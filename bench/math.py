"""TOPSIS speed: algorithms.topsis vs pymcdm on the same 10,000 x 6 matrix.

    .venv/bin/python bench/math.py [--rows 10000] [--columns 6] [--runs 51]

Prints the median and the fastest wall time of ``--runs`` calls for each implementation (after
one warm-up call each), pymcdm again with the stable argsort ranking that ours also returns, and
the largest score difference between them (pymcdm is the independent reference; both use vector
normalisation).
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


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, min) seconds over ``runs`` calls after one warm-up call."""
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


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
        our_median, our_min = timed(ours, args.runs)
        their_median, their_min = timed(theirs, args.runs)
        ranked_median, ranked_min = timed(theirs_ranked, args.runs)
        our_scores = topsis(matrix, weights, criteria_types).scores
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
    print(f"  pymcdm median / ours median: {their_median / our_median:.2f}")
    print(f"  max |score difference|: {difference:.3e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
