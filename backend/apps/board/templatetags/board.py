"""Template filters of the board: the same number formats as the table cells."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django import template
from django.utils import timezone

from apps.board import formatting

register = template.Library()


@register.filter
def usd(value: float | None) -> str:
    """A dollar amount (`apps.board.formatting.usd`)."""
    return formatting.usd(None if value is None else float(value))


@register.filter
def gigabytes(value: float | None) -> str:
    """GB without a needless decimal (`apps.board.formatting.gigabytes`)."""
    return formatting.gigabytes(value)


@register.filter
def data_number(value: float | None) -> str:
    """A figure for a `data-value` attribute: repr of the float, empty for None."""
    return "" if value is None else repr(float(value))


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago `moment` was, from now (`apps.board.formatting.ago`)."""
    return formatting.ago(moment, timezone.now())


@register.filter
def get_param(params: Mapping[str, str], name: str) -> str:
    """The URL's value of parameter `name`, or ""."""
    return params.get(name, "")
