"""Ninja router of the math_core app (mounted under /api/v2/)."""

from ninja import Router

router = Router(tags=["math"])
