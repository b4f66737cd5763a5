"""What the board shows for one URL: the query it carries, one page of offers, links, choices.

The board's URL carries exactly the listing's query parameters (`GET /api/v2/providers`,
validated by the same `OfferFilterIn`), plus the fit form's `fit_*`, so a view of the board is
a bookmark and its table is the listing for that URL. A bad parameter never fails the page:
it is left out and named in the page's notices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import Resolver404, resolve
from django.utils import timezone
from pydantic import ValidationError

from apps.board.columns import (
    Row,
    ShownColumn,
    cost_assumption,
    next_sort,
    offer_row,
    sort_direction,
    visible_columns,
)
from apps.board.fit import FIT_PARAMS, FitError, FitEstimate, fit_from_params
from apps.gpus.catalogue import all_gpus
from apps.providers.schemas import LISTING_PARAMS, PER_PAGE_CHOICES, OfferFilterIn
from apps.providers.selectors.offers import OfferQuery, offer_list
from gpubroker.core.errors import NUL_REASON

DEFAULTS = {"sort": "price", "page": "1", "per_page": "20"}
# Feature detection: these routes exist once the AI assistant (issue 14) is mounted.
PARSE_WORKLOAD_PATH = "/api/v2/ai/parse-workload"
CHAT_STREAM_PATH = "/api/v2/ai/chat/stream"


@dataclass(frozen=True)
class SortHeader:
    """A column header: the column, its sort link (None: not sortable), aria-sort state."""

    column: ShownColumn
    href: str | None
    aria_sort: str


@dataclass(frozen=True)
class Pagination:
    """Where this page sits: number, count of pages, links to neighbours (None at the ends)."""

    page: int
    pages: int
    total: int
    first_item: int
    last_item: int
    previous_href: str | None
    next_href: str | None
    total_is_estimate: bool = False  # PostgreSQL's estimate (more than 10,000 match): "about"
    last_href: str | None = None  # set when the page is past the last one: a link back to it

    @property
    def is_past_end(self) -> bool:
        """The URL asks for a page after the last one (`?page=999`): it holds no offer."""
        return self.page > self.pages


@dataclass(frozen=True)
class BoardTable:
    """The results part of the board: what `/board/table` returns for the same URL.

    Attributes:
        params: The valid parameters the URL set (listing and fit), as strings.
        query: The listing query run (with the fit's VRAM bound applied).
        headers: One per visible column.
        rows: The page of offers.
        pagination: Page numbers and links.
        notices: Parameters left out and why, as readable lines.
        warnings: The listing's provider freshness warnings.
        fit: The fit estimate when the URL asks for one.
        fit_error: Why the fit could not be sized, when it could not.
        cost_assumption: What $/M tokens assumes.
        now: The time relative times are written against.
    """

    params: dict[str, str]
    query: OfferQuery
    headers: list[SortHeader]
    rows: list[Row]
    pagination: Pagination
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fit: FitEstimate | None = None
    fit_error: str = ""
    cost_assumption: str = ""
    now: datetime = field(default_factory=timezone.now)

    @property
    def active_filters(self) -> int:
        """How many listing filters the URL sets (sort and paging are not filters)."""
        return sum(1 for name in self.params if name not in (*DEFAULTS, *FIT_PARAMS))

    @property
    def query_string(self) -> str:
        """The URL's query for this table (valid parameters only)."""
        return urlencode(self.params)


# Values the board's own controls once wrote and no longer mean what the control shows: left
# out of the query, with a notice. Before the "On-demand" choice became no filter it sent
# `spot=false`, which the listing reads as "has no spot option" (every Vast.ai offer hidden);
# a bookmark of that time would filter so while the select showed "On-demand".
RETIRED_VALUES: dict[tuple[str, str], str] = {
    ("spot", "false"): (
        "Ignored spot='false' (an older board link): On-demand now lists every offer at its"
        " on-demand price, spot-capable ones included."
    ),
}


def _clean(raw: Mapping[str, str]) -> tuple[OfferFilterIn, dict[str, str], list[str]]:
    """The listing filters the URL sets validly, the valid parameters, notices for the rest."""
    values = {
        name: raw[name].strip()
        for name in LISTING_PARAMS
        if name in raw and raw[name].strip() != ""
    }
    notices = []
    for (name, value), notice in RETIRED_VALUES.items():
        if values.get(name, "").lower() == value:
            del values[name]
            notices.append(notice)
    # Each round drops the parameters pydantic named; a handful of rounds at most.
    for _ in range(len(LISTING_PARAMS) + 1):
        try:
            filters = OfferFilterIn.model_validate(values)
            break
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                if name in values:
                    notices.append(f"Ignored {name}={values.pop(name)!r}: {error['msg']}.")
    else:  # pragma: no cover - every round removes at least one parameter
        filters = OfferFilterIn.model_validate({})
    params = {name: value for name, value in values.items() if DEFAULTS.get(name) != value}
    return filters, params, notices


def _href(params: Mapping[str, str], **changes: str | None) -> str:
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v is not None and DEFAULTS.get(k) != v}
    return "?" + urlencode(kept) if kept else "?"


@dataclass(frozen=True)
class BoardQuery:
    """A URL's query, validated: the listing query to run and what the page says about it.

    Attributes:
        params: The valid parameters the URL set (listing and fit), as strings.
        query: The listing query (with the fit's VRAM bound applied).
        notices: Parameters left out and why.
        fit: The fit estimate when the URL asks for one.
        fit_error: Why the fit could not be sized, when it could not.
    """

    params: dict[str, str]
    query: OfferQuery
    notices: list[str]
    fit: FitEstimate | None
    fit_error: str


def nul_notices(names: Sequence[str]) -> list[str]:
    """The notices for parameters the request lost for holding a NUL (`nul_parameters`)."""
    return [f"Ignored {name}: {NUL_REASON}." for name in names]


def board_query(*, raw_params: Mapping[str, str], left_out: Sequence[str] = ()) -> BoardQuery:
    """Validate a URL's parameters (no query runs): the listing's, then the fit's.

    `left_out` names parameters already removed for holding a NUL: named in the notices.
    """
    filters, params, notices = _clean(raw_params)
    notices = nul_notices(left_out) + notices
    query = filters.to_query()
    fit = None
    fit_error = ""
    fit_values = {name: raw_params[name] for name in FIT_PARAMS if raw_params.get(name)}
    try:
        fit = fit_from_params(fit_values)
    except FitError as exc:
        fit_error = str(exc)
    if fit is not None:
        params.update({name: value.strip() for name, value in fit_values.items()})
        changes: dict[str, Any] = {
            "gpu_memory_total_min": max(query.gpu_memory_total_min or 0, fit.min_total_vram_gb)
        }
        if query.model is None:
            # $/M tokens prices the fit's model (the listing's spelling rules: lower case),
            # unless the URL names a cost basis of its own with `model=`.
            model = fit_values["fit_model"].strip().lower()
            changes |= {"model": model, "precision": fit.precision}
        query = OfferQuery(**{**query.__dict__, **changes})
    return BoardQuery(params, query, notices, fit, fit_error)


def _basis_source(parsed: BoardQuery) -> str:
    """Where the query's cost basis comes from, for the legend."""
    if parsed.query.model is None:
        return "the listing's default"
    if "model" in parsed.params:
        return ""
    return "the fit's model"


def board_table(*, raw_params: Mapping[str, str], left_out: Sequence[str] = ()) -> BoardTable:
    """The table for a URL's query parameters: validated, the fit applied, one listing page.

    `left_out` as `board_query`. Queries: the listing's (`offer_list`: providers, the page, a
    cached count).
    """
    parsed = board_query(raw_params=raw_params, left_out=left_out)
    params, query = parsed.params, parsed.query
    page = offer_list(query=query)
    now = timezone.now()
    columns = visible_columns(params=params)
    headers = []
    for column in columns:
        target = next_sort(column, query.sort)
        state = sort_direction(query.sort) if query.sort in column.sorts else "none"
        headers.append(
            SortHeader(column, _href(params, sort=target, page=None) if target else None, state)
        )
    pages = max(1, math.ceil(page.total / query.per_page))
    first = (query.page - 1) * query.per_page
    past_end = query.page > pages
    pagination = Pagination(
        page=query.page,
        pages=pages,
        total=page.total,
        first_item=first + 1 if page.items else 0,
        last_item=first + len(page.items) if page.items else 0,
        # Past the end, "Previous" is the last page (not page 998 of 37).
        previous_href=(
            _href(params, page=str(min(query.page - 1, pages))) if query.page > 1 else None
        ),
        next_href=_href(params, page=str(query.page + 1)) if query.page < pages else None,
        total_is_estimate=page.total_is_estimate,
        last_href=_href(params, page=str(pages)) if past_end and page.total else None,
    )
    return BoardTable(
        params=params,
        query=query,
        headers=headers,
        rows=[offer_row(item, columns, now) for item in page.items],
        pagination=pagination,
        notices=parsed.notices,
        warnings=page.warnings,
        fit=parsed.fit,
        fit_error=parsed.fit_error,
        cost_assumption=cost_assumption(query.cost_basis(), source=_basis_source(parsed)),
        now=now,
    )


def route_exists(path: str) -> bool:
    """Whether this deployment serves `path` (feature detection for optional apps)."""
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def gpu_suggestions() -> list[str]:
    """GPU spellings to suggest: each family (all its variants), then each canonical model."""
    gpus = all_gpus()
    families = sorted({gpu.family for gpu in gpus})
    models = sorted(gpu.gpu_model for gpu in gpus if gpu.gpu_model not in families)
    return families + models


def per_page_choices() -> tuple[int, ...]:
    """The page sizes the listing accepts."""
    return PER_PAGE_CHOICES


def filter_value(table: BoardTable, name: str) -> Any:
    """The value a filter control shows: the URL's valid value, or empty."""
    return table.params.get(name, "")
