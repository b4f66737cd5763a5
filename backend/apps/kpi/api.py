"""Ninja router of the kpi app (mounted under /api/v2/)."""

from ninja import Router

router = Router(tags=["kpi"])
