"""Pure-numpy algorithms: TOPSIS, ALS, content similarity, serving/training/image models, prices.

No Django, Ninja or Channels and nothing of the project (import-linter contracts enforce it):
data the caller owns, such as the GPU catalogue, is passed in. Inputs are validated here and
rejected with `errors.AlgorithmInputError` naming the argument.
"""
