"""Trivial endpoints: the performance baseline."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["system"])


class PingOut(Schema):
    """GET /api/v2/ping."""

    status: str


@router.get("/ping", response=PingOut, auth=None)
async def ping(request: HttpRequest) -> dict[str, str]:
    """Liveness of the API stack (no database, no Redis)."""
    return {"status": "ok"}
