"""The one rule for matching a GPU name typed by a person against offers' GPU names.

A query matches a GPU when it is a case-insensitive substring of the canonical model name or
of the provider's own name for it. The REST listing and the WebSocket snapshot apply it in SQL
through `providers.selectors.offer_terms.gpu_text_match` (which calls this over the catalogue and
the distinct provider names); live WebSocket updates apply it in memory, per update.
Framework-free.
"""

from __future__ import annotations

from collections.abc import Iterable


def gpu_text_fold(text: str) -> str:
    """The form both sides are compared in: lower case.

    `str.lower` rather than `casefold`: GPU names are ASCII, and the relay folds every update's
    name once per socket, where `lower`'s ASCII fast path keeps fan-out cheap.
    """
    return text.lower()


def gpu_text_matches(folded_needle: str, names: Iterable[str | None]) -> bool:
    """Whether `folded_needle` (already `gpu_text_fold`ed) occurs in any of `names`."""
    return any(name is not None and folded_needle in gpu_text_fold(name) for name in names)
