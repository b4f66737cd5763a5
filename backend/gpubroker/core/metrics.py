"""`GET /metrics`: Prometheus text from django-prometheus' registry plus our own collectors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics: every collector of the default registry, in Prometheus text format."""
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
