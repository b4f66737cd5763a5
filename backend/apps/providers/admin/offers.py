"""Admin for offers (search, filters, recent price history), price history and bookings.

All read-only: offers and history are written by ingestion, bookings by the booking service.
The offer list stays fast at 100,000 offers and more: `LargeTableAdmin`'s bounded count, the
provider joined in the page query, ordering on the primary key's index, and
a search answered from a trigram index (`GPUOfferAdmin.get_search_results`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from apps.providers.adapters.geography import MACRO_REGIONS
from apps.providers.models import (
    Availability,
    Booking,
    GPUOffer,
    PriceHistory,
    Provider,
    offer_search_document,
)
from gpubroker.core.admin import (
    LargeTableAdmin,
    RecentRowsInline,
    ViewOnlyAdmin,
    choices_list_filter,
)


class QuarantinedFilter(admin.SimpleListFilter):
    """Offers whose GPU string the catalogue does not know (never listed) or knows."""

    title = "quarantined"
    parameter_name = "quarantined"

    def lookups(self, request: HttpRequest, model_admin: Any) -> tuple[tuple[str, str], ...]:
        """Yes (unknown GPU, not listed) / no (canonical GPU)."""
        return (("yes", "Yes: unknown GPU, not listed"), ("no", "No: canonical GPU"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[GPUOffer]) -> QuerySet[GPUOffer]:
        """gpu_model IS NULL for yes (the partial index offers_quarantine_idx), NOT NULL for no."""
        if self.value() == "yes":
            return queryset.filter(gpu_model__isnull=True)
        if self.value() == "no":
            return queryset.filter(gpu_model__isnull=False)
        return queryset


class PriceHistoryInline(RecentRowsInline):
    """An offer's latest price observations (the full list is one link away)."""

    model = PriceHistory
    recent_limit = 20
    recent_ordering = ("-recorded_at",)
    verbose_name_plural = "latest 20 price observations"
    fields = ("recorded_at", "price_per_hour", "spot_price_per_hour", "availability_status")


@admin.register(GPUOffer)
class GPUOfferAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Offers as ingestion stored them, quarantined ones included; view only.

    Ingestion owns them: a gone offer is marked unavailable, never deleted.
    """

    list_display = (
        "external_id",
        "provider",
        "gpu",
        "gpu_count",
        "price_per_hour",
        "currency",
        "availability_status",
        "region",
        "is_stale",
        "updated_at",
    )
    list_select_related = ("provider",)
    list_filter = (
        "availability_status",
        "is_stale",
        QuarantinedFilter,
        "spot_pricing",
        choices_list_filter(
            "macro_region", [(region, region) for region in MACRO_REGIONS], title="macro-region"
        ),
        "provider",
    )
    # Shown as the search box's fields; the lookups themselves are get_search_results'.
    search_fields = ("gpu_type", "gpu_name_raw", "provider__name", "region", "external_id")
    search_help_text = (
        "Words of a GPU (model or provider's name), provider, region or external id; every word"
        " must match."
    )
    # Newest id first (Django's default), on the primary key's index. Not (provider, external
    # id): a search naming a provider matches rows clustered in that index, and PostgreSQL,
    # assuming them spread out, walked it from the start (90 ms at 100,000 offers).
    ordering = ("-pk",)
    inlines = (PriceHistoryInline,)
    fieldsets = (
        (None, {"fields": ("provider", "external_id", "history_link")}),
        (
            "GPU",
            {"fields": ("gpu_model", "gpu_type", "gpu_name_raw", "gpu_count", "gpu_memory_gb")},
        ),
        (
            "Price and availability",
            {
                "fields": (
                    "price_per_hour",
                    "price_per_gpu_hour",
                    "spot_price_per_hour",
                    "spot_price_per_gpu_hour",
                    "price_as_of",
                    "currency",
                    "availability_status",
                    "spot_pricing",
                    "preemptible",
                    "is_stale",
                    "min_rental_time",
                    "max_rental_time",
                )
            },
        ),
        (
            "Machine",
            {
                "fields": (
                    "cpu_cores",
                    "ram_gb",
                    "storage_gb",
                    "storage_type",
                    "interconnect",
                    "network_speed_gbps",
                )
            },
        ),
        (
            "Location and terms",
            {
                "fields": (
                    "region",
                    "provider_region",
                    "country",
                    "state",
                    "city",
                    "macro_region",
                    "availability_zone",
                    "compliance_tags",
                    "sla_uptime",
                    "reliability",
                )
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at", "last_seen_at")}),
    )

    @admin.display(description="GPU", ordering="gpu_model")
    def gpu(self, offer: GPUOffer) -> str:
        """The canonical GPU, or the provider's string when quarantined."""
        if offer.gpu_model:
            return offer.gpu_model
        return f"quarantined: {offer.gpu_name_raw or offer.gpu_type}"

    @admin.display(description="price history")
    def history_link(self, offer: GPUOffer) -> str:
        """A link to every price observation of the offer."""
        url = reverse("admin:providers_pricehistory_changelist")
        return format_html(
            '<a href="{}?{}">every price observation</a>', url, urlencode({"offer": offer.pk})
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[GPUOffer], search_term: str
    ) -> tuple[QuerySet[GPUOffer], bool]:
        """Offers matching every word, each word through an index.

        A word matches a substring of the offer's search document (GPU display and raw names,
        region, external id; case-insensitive; the trigram index `offers_search_trgm`), or a
        provider whose name or display name contains it (resolved over the providers table
        first, then `provider_id IN (…)`). Never introduces duplicates.
        """
        queryset = queryset.alias(search_document=offer_search_document())
        for word in smart_split(search_term):
            if word.startswith(('"', "'")) and word[0] == word[-1]:
                word = unescape_string_literal(word)
            if not word:
                continue
            match = Q(search_document__contains=word.upper())
            provider_ids = list(
                Provider.objects.filter(
                    Q(name__icontains=word) | Q(display_name__icontains=word)
                ).values_list("pk", flat=True)
            )
            if provider_ids:
                match |= Q(provider_id__in=provider_ids)
            queryset = queryset.filter(match)
        return queryset, False


@admin.register(PriceHistory)
class PriceHistoryAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Every price/availability observation, newest first; `?offer=<id>` keeps one offer's.

    View only: the history feeds the charts, volatility and trends.
    """

    list_display = (
        "recorded_at",
        "offer_link",
        "provider",
        "price_per_hour",
        "availability_status",
    )
    list_select_related = ("offer__provider",)
    list_filter = (
        choices_list_filter("availability_status", Availability.choices, title="availability"),
    )
    ordering = ("-recorded_at",)

    @admin.display(description="offer")
    def offer_link(self, row: PriceHistory) -> str:
        """The offer (provider's external id and GPU), linked to its page."""
        offer = row.offer
        url = reverse("admin:providers_gpuoffer_change", args=[offer.pk])
        return format_html(
            '<a href="{}">{} ({})</a>', url, offer.external_id, offer.gpu_model or offer.gpu_type
        )

    @admin.display(description="provider")
    def provider(self, row: PriceHistory) -> str:
        """The offer's provider."""
        return row.offer.provider.name


@admin.register(Booking)
class BookingAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Bookings placed through the providers, with the price snapshotted at booking.

    View only: a booking is a record of money committed at a provider.
    """

    list_display = (
        "created_at",
        "user",
        "tenant",
        "offer_provider",
        "offer",
        "duration_hours",
        "price_per_hour",
        "currency",
        "status",
        "external_booking_id",
    )
    list_select_related = ("user", "tenant", "offer__provider")
    list_filter = ("status",)
    search_fields = ("=external_booking_id", "=user__email")
    ordering = ("-created_at",)

    @admin.display(description="provider")
    def offer_provider(self, booking: Booking) -> str:
        """The booked offer's provider."""
        return booking.offer.provider.name
