"""Admin building blocks shared by the apps: read-only pages and lists that stay fast when large.

`LargeTableAdmin` is for tables that grow without bound (offers, price history, sync runs, the
audit chain, interactions): no unfiltered second COUNT (`show_full_result_count = False`), no
facet counts, and `EstimatedCountPaginator`, which counts exactly only up to
`EXACT_COUNT_LIMIT` rows and otherwise takes PostgreSQL's planner estimate, so a changelist
costs the page query plus a bounded count whatever the table's size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

# Counting stops here: above it the paginator shows PostgreSQL's estimate ("about N"). Low on
# purpose: a filter or search matching most rows costs a scan of this many rows to count them.
EXACT_COUNT_LIMIT = 1_000


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff; rows are written only by the application (ingestion, services)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: rows come from the application."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Never: an edit would be overwritten by the code that owns the rows."""
        return False


class ViewOnlyAdmin(ReadOnlyAdmin):
    """Viewable by staff; nobody adds, changes or deletes rows here, superusers included."""

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Never."""
        return False


def planner_row_estimate(queryset: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows `queryset` returns (EXPLAIN, nothing executed).

    One query; the figure comes from the table statistics (`ANALYZE`), so it can be off by
    a few percent on a plain table and by more under selective filters.
    """
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator whose count never scans more than `exact_count_limit` + 1 matching rows.

    `count` is exact up to `exact_count_limit`; above it, PostgreSQL's planner estimate (never
    less than the limit + 1), and `is_estimated` is True so the page can say "about". Two
    queries at most: a capped COUNT (`SELECT COUNT(*) FROM (… LIMIT n + 1)`) and, past the cap,
    an EXPLAIN.
    """

    exact_count_limit = EXACT_COUNT_LIMIT
    is_estimated = False

    @cached_property
    def count(self) -> int:
        """The number of rows: exact up to the limit, PostgreSQL's estimate above it."""
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        # Only the primary keys: annotations the page shows are not computed for the count.
        capped = object_list.order_by().values("pk")[: self.exact_count_limit + 1].count()
        if capped <= self.exact_count_limit:
            return capped
        self.is_estimated = True
        return max(planner_row_estimate(object_list), self.exact_count_limit + 1)


def choices_list_filter(
    field_name: str, choices: Sequence[tuple[str, str]], *, title: str
) -> type[admin.SimpleListFilter]:
    """A list filter over fixed `choices` of a text column: no DISTINCT over the whole table.

    Django's default filter for a column without `choices` lists the values it finds with
    `SELECT DISTINCT`, a full scan of a large table on every page.
    """

    class ChoicesListFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request: HttpRequest, model_admin: Any) -> Sequence[tuple[str, str]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            if self.value() in dict(choices):
                return queryset.filter(**{field_name: self.value()})
            return queryset

    ChoicesListFilter.title = title
    return ChoicesListFilter


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that costs the page plus a bounded count, however many rows the table has.

    Subclasses must still order by an indexed column and name their foreign keys in
    `list_select_related` (the walk test in gpubroker/tests/test_admin_console.py holds every
    page to a query budget).
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    change_list_template = "admin/large_table_change_list.html"


class RecentRowsFormSet(BaseInlineFormSet):
    """An inline formset over the parent's latest `recent_limit` rows by `recent_ordering`.

    Still a queryset (a primary-key IN over a LIMITed subquery), so Django's view-only inline
    handling works unchanged; the rows come in one query whatever the parent has.
    """

    recent_limit = 20
    recent_ordering: tuple[str, ...] = ("-pk",)

    def get_queryset(self) -> QuerySet[Any]:
        """The parent's newest rows, newest first."""
        if not hasattr(self, "_queryset"):
            assert self.queryset is not None  # BaseInlineFormSet always sets it
            ordered = self.queryset.order_by(*self.recent_ordering)
            recent = ordered.values("pk")[: self.recent_limit]
            self._queryset = ordered.filter(pk__in=recent)
        return self._queryset


class RecentRowsInline(admin.TabularInline):
    """A read-only inline of a parent's newest related rows, bounded to `recent_limit`.

    For children that grow without bound (an offer's price history, a provider's sync runs).
    List only the child's own columns in `fields`: a foreign key shown per row would cost a
    query per row.
    """

    formset = RecentRowsFormSet
    recent_limit = 20
    recent_ordering: tuple[str, ...] = ("-pk",)
    extra = 0
    max_num = 0
    can_delete = False

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        """Django's formset class, bounded to this inline's limit and ordering."""
        formset: Any = super().get_formset(request, obj, **kwargs)
        formset.recent_limit = self.recent_limit
        formset.recent_ordering = self.recent_ordering
        return formset

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Every shown field: the rows are written by the application."""
        return self.fields or ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never."""
        return False
