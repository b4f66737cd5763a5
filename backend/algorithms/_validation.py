"""Shared input checks for the algorithm modules; each raises AlgorithmInputError(field, ...)."""

from __future__ import annotations

import math
from collections.abc import Collection
from decimal import Decimal
from numbers import Real
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from algorithms.errors import AlgorithmInputError

FloatArray = NDArray[np.float64]
ArrayT = TypeVar("ArrayT", bound=NDArray[Any])


def finite_float(value: object, field: str) -> float:
    """Return ``value`` as a finite float; booleans and strings are rejected, not coerced."""
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        raise AlgorithmInputError(field, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise AlgorithmInputError(field, "must be a finite number, not NaN or infinity")
    return number


def positive_float(value: object, field: str, *, maximum: float | None = None) -> float:
    """Return ``value`` as a finite float above zero (and at most ``maximum`` when given)."""
    number = finite_float(value, field)
    if number <= 0:
        raise AlgorithmInputError(field, f"must be greater than 0, got {number:g}")
    if maximum is not None and number > maximum:
        raise AlgorithmInputError(field, f"must be at most {maximum:g}, got {number:g}")
    return number


def fraction(value: object, field: str) -> float:
    """Return ``value`` as a float in (0, 1] (an efficiency or a utilisation)."""
    return positive_float(value, field, maximum=1.0)


def non_negative_float(value: object, field: str) -> float:
    """Return ``value`` as a finite float greater than or equal to zero."""
    number = finite_float(value, field)
    if number < 0:
        raise AlgorithmInputError(field, f"must not be negative, got {number:g}")
    return number


def int_in_range(value: object, field: str, *, minimum: int, maximum: int) -> int:
    """Return ``value`` as an int within [minimum, maximum]; floats and booleans are rejected."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AlgorithmInputError(field, f"must be an integer, got {type(value).__name__}")
    number = int(value)
    if not minimum <= number <= maximum:
        raise AlgorithmInputError(field, f"must be between {minimum} and {maximum}, got {number}")
    return number


def choice(value: object, field: str, allowed: Collection[str]) -> str:
    """Return ``value`` lower-cased and stripped if it is one of ``allowed``."""
    if not isinstance(value, str):
        raise AlgorithmInputError(field, f"must be a string, got {type(value).__name__}")
    normalised = value.strip().lower()
    if normalised not in allowed:
        options = ", ".join(sorted(allowed))
        raise AlgorithmInputError(field, f"unknown value {value!r}; expected one of: {options}")
    return normalised


def float_array(
    value: object, field: str, *, ndim: int, order: Literal["C", "F"] = "C"
) -> FloatArray:
    """Return a non-empty, finite float64 array with exactly ``ndim`` dimensions.

    The result is always a new array the caller may modify, laid out in ``order`` (``"F"``
    makes its transpose C-contiguous, for code that works column by column).

    Ragged nested lists, strings, None and booleans are rejected rather than coerced, because
    numpy would otherwise silently turn ``"1.5"`` or ``True`` into numbers.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise AlgorithmInputError(field, "must be a rectangular array of numbers") from exc
    if array.size == 0:
        raise AlgorithmInputError(field, "must not be empty")
    if array.dtype.kind not in "iuf":
        raise AlgorithmInputError(field, "must contain only numbers")
    if array.ndim != ndim:
        shape = "a list" if ndim == 1 else f"a {ndim}-dimensional array"
        raise AlgorithmInputError(field, f"must be {shape}, got {array.ndim} dimension(s)")
    result = array.astype(np.float64, order=order)
    if not np.all(np.isfinite(result)):
        raise AlgorithmInputError(field, "must not contain NaN or infinity")
    return result


# Weights are user-typed decimals (0.33 + 0.33 + 0.34); 1e-3 absorbs rounding, not real mistakes.
WEIGHT_SUM_TOLERANCE = 1e-3


def weights_summing_to_one(value: object, field: str, *, count: int) -> FloatArray:
    """``count`` finite, non-negative weights whose sum is 1 within WEIGHT_SUM_TOLERANCE."""
    vector = float_array(value, field, ndim=1)
    if vector.size != count:
        raise AlgorithmInputError(field, f"has {vector.size} values but {count} are expected")
    if np.any(vector < 0):
        raise AlgorithmInputError(field, "must not contain negative values")
    total = float(vector.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise AlgorithmInputError(
            field, f"must sum to 1 (±{WEIGHT_SUM_TOLERANCE:g}), got {total:.6g}"
        )
    return vector


def read_only(array: ArrayT) -> ArrayT:
    """Mark ``array`` immutable so frozen result dataclasses really are frozen."""
    array.setflags(write=False)
    return array
