"""Admin for providers (health, counts, "sync now", disable/enable), sync runs and tenants' keys."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.auth_app.admin_audit import AuditedAdmin
from apps.providers.adapters.registry import UnknownProviderError
from apps.providers.models import (
    Availability,
    GPUOffer,
    Provider,
    ProviderIntegration,
    ProviderSyncRun,
)
from apps.providers.services.integrations import integration_key_hint
from apps.providers.services.providers import providers_disable, providers_enable
from apps.providers.services.sync import provider_sync
from apps.providers.services.sync_write import SyncResult
from gpubroker.core.admin import LargeTableAdmin, RecentRowsInline, ViewOnlyAdmin

# "Sync now" runs in the request: it starts no new sync once this many seconds have passed, so
# the page answers within the proxy's read timeout (nginx: 30 s) plus one fetch at most.
SYNC_NOW_BUDGET_SECONDS = 10.0
# What the history entry and audit row of a disable/enable say.
SWITCH_MESSAGES = {
    "provider_disable": "Disabled: ingestion skips it and its offers are not listed",
    "provider_enable": "Enabled: ingestion syncs it again and its offers are listed",
}


def _offer_count(condition: Q | None = None) -> Coalesce:
    """A provider's offers matching `condition`: a per-row subquery on an index of gpu_offers."""
    offers = GPUOffer.objects.filter(provider=OuterRef("pk"))
    if condition is not None:
        offers = offers.filter(condition)
    counted = offers.order_by().values("provider").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def sync_result_text(result: SyncResult) -> str:
    """One line for an operator: the outcome and counts of one sync attempt."""
    if result.status == "ok":
        return (
            f"{result.provider}: synced, {result.offers_seen} offers seen"
            f" ({result.offers_inserted} new, {result.offers_changed} changed,"
            f" {result.offers_gone} gone, {result.offers_quarantined} quarantined,"
            f" {result.offers_skipped} skipped) in {result.fetch_latency_ms or 0:.0f} ms"
        )
    if result.status == "locked":
        return f"{result.provider}: not synced, another process is syncing it right now"
    return f"{result.provider}: {result.status}: {result.error}"


class SyncRunInline(RecentRowsInline):
    """A provider's latest sync attempts."""

    model = ProviderSyncRun
    recent_limit = 10
    recent_ordering = ("-id",)
    verbose_name_plural = "latest sync attempts"
    fields = (
        "started_at",
        "is_success",
        "fetch_latency_ms",
        "offers_seen",
        "offers_changed",
        "offers_quarantined",
        "error_kind",
        "error_message",
    )


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin):
    """Providers with health, breaker, last sync and offer counts; "sync now", disable, enable.

    Rows come from the adapters (no add, no delete: disable instead); an operator edits the
    descriptive fields and the sync interval, and switches providers off and on.
    """

    list_display = (
        "name",
        "display_name",
        "status",
        "breaker_state",
        "last_sync_at",
        "last_success_at",
        "error_count",
        "offers_last_sync",
        "quarantined_count",
        "price_source",
    )
    list_filter = ("status", "breaker_state", "price_source")
    search_fields = ("name", "display_name")
    ordering = ("name",)
    actions = ("sync_now", "disable", "enable")
    inlines = (SyncRunInline,)
    readonly_fields = (
        "name",
        "status",
        "breaker_state",
        "breaker_open_until",
        "last_sync_at",
        "last_success_at",
        "error_count",
        "last_error",
        "price_source",
        "quarantined_names",
        "offers_last_sync",
        "offer_count",
        "available_count",
        "quarantined_count",
        "links",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "display_name", "status", "price_source", "links")}),
        (
            "Health",
            {
                "fields": (
                    "breaker_state",
                    "breaker_open_until",
                    "last_sync_at",
                    "last_success_at",
                    "error_count",
                    "last_error",
                )
            },
        ),
        (
            "Offers",
            {
                "fields": (
                    "offer_count",
                    "available_count",
                    "quarantined_count",
                    "quarantined_names",
                )
            },
        ),
        (
            "Settings",
            {
                "fields": (
                    "sync_interval_seconds",
                    "website_url",
                    "api_base_url",
                    "documentation_url",
                    "supported_regions",
                    "compliance_tags",
                    "reliability_score",
                )
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        """Providers with two cheap counts per row, whatever the number of offers.

        Offers seen by the last successful sync (the newest run on the runs' provider/time
        index) and quarantined offers (the partial index of quarantined rows). Counting every
        stored offer of every provider would read all offers on each page; the change page
        counts them for its one provider (`get_object`).
        """
        last_run = ProviderSyncRun.objects.filter(provider=OuterRef("pk"), is_success=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                offers_last_sync=Subquery(
                    last_run.order_by("-started_at").values("offers_seen")[:1],
                    output_field=IntegerField(),
                ),
                quarantined_count=_offer_count(Q(gpu_model__isnull=True)),
            )
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Provider | None:
        """The provider with every count of its stored offers (one aggregate over its rows)."""
        provider = super().get_object(request, object_id, from_field)
        if provider is not None:
            counts = GPUOffer.objects.filter(provider=provider).aggregate(
                total=Count("pk"),
                available=Count("pk", filter=~Q(availability_status=Availability.UNAVAILABLE)),
            )
            provider.offer_count = counts["total"]
            provider.available_count = counts["available"]
        return provider

    @admin.display(description="offers in last sync", ordering="offers_last_sync")
    def offers_last_sync(self, provider: Provider) -> int | None:
        """Offers the provider returned in its last successful sync (None before the first)."""
        return getattr(provider, "offers_last_sync", None)

    @admin.display(description="offers stored")
    def offer_count(self, provider: Provider) -> int | None:
        """Every stored offer of the provider: listed, quarantined, gone (change page only)."""
        return getattr(provider, "offer_count", None)

    @admin.display(description="available")
    def available_count(self, provider: Provider) -> int | None:
        """Stored offers not marked unavailable (change page only)."""
        return getattr(provider, "available_count", None)

    @admin.display(description="quarantined", ordering="quarantined_count")
    def quarantined_count(self, provider: Provider) -> int:
        """Offers whose GPU string the catalogue does not know (never listed)."""
        return int(getattr(provider, "quarantined_count", 0))

    @admin.display(description="see")
    def links(self, provider: Provider) -> str:
        """Links to the provider's offers, sync runs and quarantined GPU names."""
        if provider.pk is None:
            return "-"
        offers = reverse("admin:providers_gpuoffer_changelist")
        runs = reverse("admin:providers_providersyncrun_changelist")
        quarantine = reverse("admin:providers_quarantinedgpuname_changelist")
        by_provider = urlencode({"provider__id__exact": provider.pk})
        return format_html(
            '<a href="{}?{}">offers</a> · <a href="{}?{}">sync runs</a> ·'
            ' <a href="{}?{}">quarantined GPU names</a>',
            offers,
            by_provider,
            runs,
            by_provider,
            quarantine,
            urlencode({"provider": provider.pk}),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: a provider row comes from its adapter (`provider_ensure`)."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: deleting would delete every offer and its history; disable it instead."""
        return False

    @admin.action(description="Sync now (fetch and write the selected providers' offers)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        """Run the real sync (`provider_sync`) for each selected provider, one after another.

        Each outcome becomes a message and an audit row (`admin.provider_sync`). Providers not
        started within SYNC_NOW_BUDGET_SECONDS are named in a warning.
        """
        started = time.monotonic()
        pending = list(queryset.order_by("name"))
        while pending:
            if time.monotonic() - started > SYNC_NOW_BUDGET_SECONDS:
                names = ", ".join(provider.name for provider in pending)
                self.message_user(
                    request,
                    f"Not started (the {SYNC_NOW_BUDGET_SECONDS:.0f} s budget of one request was"
                    f" used): {names}. Select them again.",
                    messages.WARNING,
                )
                return
            provider = pending.pop(0)
            self._sync_one(request, provider)

    def _sync_one(self, request: HttpRequest, provider: Provider) -> None:
        try:
            result = provider_sync(provider_name=provider.name)
        except UnknownProviderError:
            text = f"{provider.name}: no adapter is registered under this name; nothing to sync"
            outcome: dict[str, Any] = {"status": "unknown_provider"}
            level = messages.ERROR
        else:
            text = sync_result_text(result)
            outcome = {
                "status": result.status,
                "offers_seen": result.offers_seen,
                "offers_changed": result.offers_changed,
                "offers_quarantined": result.offers_quarantined,
                "error_kind": result.error_kind,
            }
            level = {"ok": messages.SUCCESS, "locked": messages.WARNING}.get(
                result.status, messages.ERROR
            )
        self.log_operator_action(
            request, action="provider_sync", message=text, objects=[provider], details=outcome
        )
        self.message_user(request, text, level)

    @admin.action(description="Disable (skip in ingestion, hide offers from the listing)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        """Disable the selected providers (`providers_disable`); audited per provider."""
        changed = providers_disable(providers=queryset)
        self._switched(request, changed, action="provider_disable", verb="Disabled")

    @admin.action(description="Enable (sync again, list offers again)")
    def enable(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        """Enable the selected disabled providers (`providers_enable`); audited per provider."""
        changed = providers_enable(providers=queryset)
        self._switched(request, changed, action="provider_enable", verb="Enabled")

    def _switched(
        self, request: HttpRequest, changed: list[Provider], *, action: str, verb: str
    ) -> None:
        if changed:
            self.log_operator_action(
                request, action=action, message=SWITCH_MESSAGES[action], objects=changed
            )
        names = ", ".join(provider.name for provider in changed) or "none (nothing to change)"
        self.message_user(request, f"{verb} {names}", messages.SUCCESS)


@admin.register(ProviderSyncRun)
class ProviderSyncRunAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Every ingestion attempt (the source of uptime and latency KPIs); view only."""

    list_display = (
        "started_at",
        "provider",
        "is_success",
        "error_kind",
        "fetch_latency_ms",
        "offers_seen",
        "offers_changed",
        "offers_skipped",
        "offers_quarantined",
    )
    list_select_related = ("provider",)
    list_filter = ("is_success", "provider")
    ordering = ("-id",)


@admin.register(ProviderIntegration)
class ProviderIntegrationAdmin(AuditedAdmin):
    """Tenants' provider keys: status and a masked suffix only, never the key. Deletable."""

    list_display = ("tenant", "provider", "status", "key", "api_url", "last_checked")
    list_select_related = ("tenant", "provider")
    list_filter = ("status", "provider")
    search_fields = ("tenant__name", "provider__name")
    ordering = ("-updated_at",)
    fields = (
        "tenant",
        "provider",
        "status",
        "message",
        "key",
        "api_url",
        "last_checked",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="key")
    def key(self, integration: ProviderIntegration) -> str:
        """Whether a key is saved and its last four characters (`integration_key_hint`)."""
        return integration_key_hint(integration=integration)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: keys are saved by tenants through the API, which validates them first."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: the same reason; an operator may delete a key (audited)."""
        return False
