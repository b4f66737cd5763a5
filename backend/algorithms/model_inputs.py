"""The error the serving, training and image-generation models raise for bad input, and its checks.

``ModelInputError`` has the same shape as the math core's ``AlgorithmInputError`` (a
``ValueError`` with ``field`` and ``message``), so the API layer can render both as a 400
envelope naming the field. It is kept separate until the restructure (issue 11) moves the
older algorithms beside this package; see docs/serving-model-handoff.md.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real


class ModelInputError(ValueError):
    """Input a model cannot work with.

    Attributes:
        field: The offending input, e.g. ``"model"``, ``"precision"``, ``"prompt_tokens"``.
        message: A plain sentence without the field prefix.
    """

    def __init__(self, field: str, message: str) -> None:
        """Build the error; ``str(error)`` is ``"<field>: <message>"``."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def finite_number(value: object, field: str) -> float:
    """Return ``value`` as a finite float.

    Raises:
        ModelInputError: For booleans, strings, NaN and infinities (never coerced).
    """
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        raise ModelInputError(field, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelInputError(field, "must be a finite number, not NaN or infinity")
    return number


def positive_number(value: object, field: str, *, maximum: float | None = None) -> float:
    """Return ``value`` as a finite float above zero (and at most ``maximum`` when given).

    Raises:
        ModelInputError: When the value is not a number, not positive or above ``maximum``.
    """
    number = finite_number(value, field)
    if number <= 0:
        raise ModelInputError(field, f"must be greater than 0, got {number:g}")
    if maximum is not None and number > maximum:
        raise ModelInputError(field, f"must be at most {maximum:g}, got {number:g}")
    return number


def fraction(value: object, field: str) -> float:
    """Return ``value`` as a float in (0, 1] (an efficiency or a utilisation).

    Raises:
        ModelInputError: When the value is not in (0, 1].
    """
    return positive_number(value, field, maximum=1.0)


def count(value: object, field: str, *, minimum: int = 1, maximum: int) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``.

    Raises:
        ModelInputError: For non-integers (booleans included) and values out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelInputError(field, f"must be a whole number, got {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise ModelInputError(field, f"must be between {minimum} and {maximum}, got {value}")
    return value
