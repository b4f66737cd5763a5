"""Ninja router of the auth_app app (mounted under /api/v2/)."""

from ninja import Router

router = Router(tags=["auth"])
