"""Password rules beyond Django's four validators (settings.AUTH_PASSWORD_VALIDATORS).

NIST SP 800-63B (section 5.1.1.2) asks verifiers to refuse "repetitive or sequential
characters (e.g. 'aaaaaa', '1234abcd')". Django's validators let a password of twenty spaces
or ten times the same letter through: its length is fine, it is in no common-password list
and it is not numeric.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

#: The fewest different characters, whitespace not counted, a password must use.
MIN_DISTINCT_CHARACTERS = 4


class VariedCharactersValidator:
    """Refuses a password with fewer than `min_distinct` different non-whitespace characters.

    `"                    "` (spaces only) and `"aaaaaaaaaaaa"` are refused; a passphrase of
    words passes. Raises django's ValidationError (code `password_too_repetitive`).
    """

    def __init__(self, min_distinct: int = MIN_DISTINCT_CHARACTERS) -> None:
        self.min_distinct = min_distinct

    def validate(self, password: str, user: Any = None) -> None:
        """Raise ValidationError when `password` uses too few different characters."""
        if len({char for char in password if not char.isspace()}) < self.min_distinct:
            raise ValidationError(self._text(), code="password_too_repetitive")

    def get_help_text(self) -> str:
        """What the rule asks, for forms and the admin."""
        return self._text()

    def _text(self) -> str:
        return (
            f"This password is too repetitive: use at least {self.min_distinct} different"
            " characters besides spaces."
        )
