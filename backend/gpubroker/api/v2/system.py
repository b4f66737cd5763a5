"""Trivial endpoints: the performance baseline."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["system"])


class PingOut(Schema):
    status: str


@router.get("/ping", response=PingOut, auth=None)
async def ping(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}
