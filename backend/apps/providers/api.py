"""Ninja router of the providers app (mounted under /api/v2/)."""

from ninja import Router

router = Router(tags=["providers"])
