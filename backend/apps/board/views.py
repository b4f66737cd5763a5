"""The board's pages and the fragments its scripts swap in (no JSON: the API serves that).

`/` is the whole board with the first page of offers in the HTML; `/board/table` is the same
results part for the same query (what the page fetches on a filter, sort or page change);
`/offers/<id>` is one offer as a page and `/board/offers/<id>` as the drawer's content;
`/board/offers/<id>/row` is one table row when the offer matches the query (204 otherwise),
for offers the price stream reports as new. Every view is GET-only and answers bad input with
a page saying what was wrong, never a 500; a parameter holding a NUL is left out (the request
middleware drops it for these views, `drops_nul_parameters`) and named like any bad one.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.board.columns import offer_row as board_row
from apps.board.columns import visible_columns
from apps.board.detail import offer_drawer as drawer_build
from apps.board.filters import filter_controls
from apps.board.fit import fit_models, fit_precisions
from apps.board.page import (
    CHAT_STREAM_PATH,
    PARSE_WORKLOAD_PATH,
    board_query,
    board_table,
    gpu_suggestions,
    nul_notices,
    per_page_choices,
    route_exists,
)
from apps.providers.errors import OfferNotFound
from apps.providers.selectors.locations import offer_locations
from apps.providers.selectors.offers import offer_filter, offer_get
from apps.providers.selectors.status import provider_status_list
from gpubroker.core.middleware import drops_nul_parameters, nul_parameters


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "") for key in request.GET}


def _page_context(request: HttpRequest) -> dict[str, Any]:
    """What the page around the table needs: controls, suggestions, providers, features."""
    statuses = provider_status_list()
    return {
        "controls": filter_controls(
            [(s.freshness.name, s.freshness.display_name or s.freshness.name) for s in statuses]
        ),
        "providers": statuses,
        "gpu_suggestions": gpu_suggestions(),
        "locations": offer_locations(),
        "fit_models": fit_models(),
        "fit_precisions": fit_precisions(),
        "per_page_choices": per_page_choices(),
        "parse_workload_url": PARSE_WORKLOAD_PATH if route_exists(PARSE_WORKLOAD_PATH) else "",
        "chat_stream_url": CHAT_STREAM_PATH if route_exists(CHAT_STREAM_PATH) else "",
    }


@drops_nul_parameters
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """The live market board: filters, the first page of offers, providers, fit form."""
    table = board_table(raw_params=_params(request), left_out=nul_parameters(request))
    return render(request, "board/board.html", {"table": table, **_page_context(request)})


@drops_nul_parameters
@require_GET
def board_table_fragment(request: HttpRequest) -> HttpResponse:
    """The results part of `/` for the same query string."""
    table = board_table(raw_params=_params(request), left_out=nul_parameters(request))
    return render(request, "board/_results.html", {"table": table})


def _drawer_response(request: HttpRequest, offer_id: uuid.UUID, template: str) -> HttpResponse:
    window = request.GET.get("window", "")
    try:
        drawer = drawer_build(offer_id=offer_id, window=window)
    except OfferNotFound:
        return render(request, "board/_not_found.html", {"offer_id": offer_id}, status=404)
    context = {"drawer": drawer, "history": drawer.history}
    return render(request, template, {**context, "notices": nul_notices(nul_parameters(request))})


@drops_nul_parameters
@require_GET
def offer_page(request: HttpRequest, offer_id: uuid.UUID) -> HttpResponse:
    """One offer as a page (what a row links to; the drawer shows the same without a reload)."""
    return _drawer_response(request, offer_id, "board/offer.html")


@drops_nul_parameters
@require_GET
def offer_drawer(request: HttpRequest, offer_id: uuid.UUID) -> HttpResponse:
    """The drawer's content for one offer; `?history=1` returns only the history section."""
    if request.GET.get("history"):
        return _drawer_response(request, offer_id, "board/_history.html")
    return _drawer_response(request, offer_id, "board/_drawer.html")


@drops_nul_parameters
@require_GET
def offer_row(request: HttpRequest, offer_id: uuid.UUID) -> HttpResponse:
    """One table row for the offer when it matches the query string's filters, else 204."""
    parsed = board_query(raw_params=_params(request), left_out=nul_parameters(request))
    if not offer_filter(query=parsed.query).filter(id=offer_id).exists():
        return HttpResponse(status=204)
    try:
        item = offer_get(offer_id=offer_id).item
    except OfferNotFound:
        return HttpResponse(status=204)
    row = board_row(item, visible_columns(params=parsed.params), timezone.now())
    return render(request, "board/_row.html", {"row": row, "is_new": True})
