"""The one exception the pure algorithms raise for bad input.

The API layer maps it to a 400 envelope whose message names ``field``.
"""

from __future__ import annotations


class AlgorithmInputError(ValueError):
    """Input an algorithm cannot work with.

    ``field`` names the offending input (e.g. ``"weights"``, ``"model_size"``) so the caller can
    point at it; ``message`` is a plain sentence without the field prefix.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
