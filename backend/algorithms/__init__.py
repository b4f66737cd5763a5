"""Pure-numpy algorithms: TOPSIS, ALS, content similarity, throughput/cost, workload, prices.

No Django, Ninja or Channels (an import-linter contract enforces it). Inputs are validated
here and rejected with `errors.AlgorithmInputError` naming the argument.
"""
