"""Providers (v1 `providers`), their offers (v1 `gpu_offers`) and price history (v1).

v2 columns are nullable or defaulted so a v1 database is adopted without a backfill.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Upper
from django.utils import timezone


class Availability(models.TextChoices):
    """Whether an offer can be rented now."""

    AVAILABLE = "available", "Available"
    LIMITED = "limited", "Limited"
    UNAVAILABLE = "unavailable", "Unavailable"


# `providers.status`: ingestion writes the provider's health ("active", "error",
# "circuit_open"); an operator writes PROVIDER_DISABLED from the admin, and then ingestion skips
# the provider, never overwrites the status, and its offers are not listed (offers_listed).
PROVIDER_ACTIVE = "active"
PROVIDER_DISABLED = "disabled"


class Provider(models.Model):
    """A GPU cloud. `name` is the adapter's registry key (e.g. `vastai`).

    `status` is PROVIDER_DISABLED while an operator has switched the provider off.
    """

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    display_name = models.CharField(max_length=255)
    website_url = models.CharField("Website URL", max_length=500, null=True, blank=True)
    api_base_url = models.CharField("API base URL", max_length=500, null=True, blank=True)
    documentation_url = models.CharField("Documentation URL", max_length=500, null=True, blank=True)
    status = models.CharField(max_length=20, default="active")
    supported_regions = ArrayField(models.TextField(), default=list, blank=True)
    compliance_tags = ArrayField(models.TextField(), default=list, blank=True)
    reliability_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # v2 additions
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(null=True, blank=True)
    # An operator's interval for this provider; empty: the settings' (selectors.status.
    # sync_interval_for).
    sync_interval_seconds = models.PositiveIntegerField(
        verbose_name="Sync interval (s)",
        null=True,
        blank=True,
        help_text="Seconds between syncs; leave empty for the configured cadence"
        " (PROVIDER_SYNC_INTERVALS: marketplaces 2 min, neoclouds 15 min, price lists daily).",
    )
    price_source = models.CharField(max_length=20, default="api")
    # The ingestion process's circuit breaker, mirrored here so every web process can show it.
    breaker_state = models.CharField(max_length=16, default="closed")
    breaker_open_until = models.DateTimeField(null=True, blank=True)
    quarantined_names = ArrayField(models.TextField(), default=list, blank=True)

    class Meta:
        db_table = "providers"

    def __str__(self) -> str:
        return self.name

    @property
    def is_disabled(self) -> bool:
        """True while an operator has disabled the provider (no sync, offers not listed)."""
        return self.status == PROVIDER_DISABLED


def offer_search_document() -> Upper:
    """An offer's text for substring search, upper case: GPU name, raw name, region, external id.

    The expression of the trigram index `offers_search_trgm`: a filter `LIKE '%WORD%'` on
    exactly this expression (the operators' console's offer search) is answered from the index,
    one condition per word instead of one per column.
    """
    return Upper(
        Concat(
            "gpu_type",
            Value(" "),
            "gpu_name_raw",
            Value(" "),
            "region",
            Value(" "),
            "external_id",
            output_field=models.TextField(),
        )
    )


def per_gpu(price_column: str, count_column: str = "gpu_count") -> models.ExpressionWrapper:
    """SQL for a price column divided by the offer's GPU count (NULL or 0 counts as 1).

    The expression of the generated columns `price_per_gpu_hour` and `spot_price_per_gpu_hour`
    (and of `selectors.offers.price_per_gpu_expression` for another row's price).
    """
    return models.ExpressionWrapper(
        F(price_column) / Coalesce(NullIf(F(count_column), Value(0)), Value(1)),
        output_field=models.DecimalField(max_digits=12, decimal_places=6),
    )


# An offer is listed once its GPU resolved to a canonical model; a NULL gpu_model means the
# provider's GPU string is quarantined. The one definition: selectors.offers.offers_listed and
# every count of listed offers use it.
LISTED = Q(gpu_model__isnull=False)


class GPUOffer(models.Model):
    """One rentable configuration at one provider (and region), upserted by ingestion.

    `price_per_hour` is the price of the whole instance (all its GPUs), `price_per_gpu_hour` the
    same divided by `gpu_count` (generated by PostgreSQL); `spot_price_per_hour` and
    `spot_price_per_gpu_hour` are the interruptible prices of the same instance, NULL when the
    provider has none. `price_as_of` is when the price was true (provider timestamp, manual
    list date, else the fetch time). `gpu_type` keeps v1's display name; `gpu_model` is the
    canonical catalogue key (null while quarantined) and `gpu_name_raw` the provider's own
    string. Where: `region` is v1's display string, `provider_region` the provider's own id (for
    booking), `country` ISO alpha-2, `state`, `city` and `macro_region` normalised
    (`adapters.geography`), each NULL when unknown.
    """

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offers")
    external_id = models.CharField("External ID", max_length=255)
    gpu_type = models.CharField("GPU type", max_length=100)
    gpu_memory_gb = models.IntegerField("GPU memory (GB)")
    cpu_cores = models.IntegerField("CPU cores", null=True, blank=True)
    ram_gb = models.IntegerField("RAM (GB)", null=True, blank=True)
    storage_gb = models.IntegerField("Storage (GB)", null=True, blank=True)
    storage_type = models.CharField(max_length=50, null=True, blank=True)
    price_per_hour = models.DecimalField(max_digits=8, decimal_places=4)
    currency = models.CharField(max_length=3, default="USD")
    region = models.CharField(max_length=100)
    availability_zone = models.CharField(max_length=100, null=True, blank=True)
    availability_status = models.CharField(
        max_length=20, choices=Availability.choices, default=Availability.AVAILABLE
    )
    min_rental_time = models.IntegerField(null=True, blank=True)
    max_rental_time = models.IntegerField(null=True, blank=True)
    spot_pricing = models.BooleanField(default=False)
    preemptible = models.BooleanField(default=False)
    sla_uptime = models.DecimalField(
        "SLA uptime (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    network_speed_gbps = models.DecimalField(
        "Network speed (Gbit/s)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    compliance_tags = ArrayField(models.TextField(), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # v2 additions
    gpu_count = models.PositiveIntegerField("GPU count", null=True, blank=True)
    gpu_model = models.CharField("GPU model", max_length=64, null=True, blank=True)
    gpu_name_raw = models.CharField("raw GPU name", max_length=255, null=True, blank=True)
    spot_price_per_hour = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    country = models.CharField(max_length=64, null=True, blank=True)
    interconnect = models.CharField(max_length=32, null=True, blank=True)
    reliability = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    is_stale = models.BooleanField("Stale", default=False)
    # issue 12: when the price was true, where the offer is, prices per GPU
    price_as_of = models.DateTimeField(null=True, blank=True)
    provider_region = models.CharField(max_length=100, null=True, blank=True)
    state = models.CharField(max_length=100, null=True, blank=True)
    city = models.CharField(max_length=100, null=True, blank=True)
    macro_region = models.CharField(max_length=32, null=True, blank=True)
    price_per_gpu_hour = models.GeneratedField(
        verbose_name="Price per GPU-hour (USD)",
        expression=per_gpu("price_per_hour"),
        output_field=models.DecimalField(max_digits=12, decimal_places=6),
        db_persist=True,
    )
    spot_price_per_gpu_hour = models.GeneratedField(
        verbose_name="Spot price per GPU-hour (USD)",
        expression=per_gpu("spot_price_per_hour"),
        output_field=models.DecimalField(max_digits=12, decimal_places=6, null=True),
        db_persist=True,
    )

    class Meta:
        db_table = "gpu_offers"
        verbose_name = "GPU offer"
        # unique_together (not a named constraint) so an adopted v1 table, whose constraint
        # carries v1's name, is matched by columns when Django ever needs to alter it.
        unique_together: ClassVar = [("provider", "external_id")]
        # v1's CHECK, under the name PostgreSQL gave it in v1's database; v2 writes the same values.
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(availability_status__in=Availability.values),
                name="gpu_offers_availability_status_check",
            ),
        ]
        indexes: ClassVar = [
            # Listing: listed offers ordered by price with a deterministic id tie-break.
            models.Index(
                fields=["price_per_hour", "id"],
                name="offers_listed_price_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            # A page by GPU kind and count (selectors/offer_groups.py): the cheapest of each
            # (gpu_model, gpu_count) group, for sort=price with a GPU filter and the cost sorts;
            # also the GPU filter's `gpu_model = ANY(...)` (it replaced (gpu_model, price)).
            models.Index(
                F("gpu_model"),
                Coalesce(F("gpu_count"), Value(0)),
                F("price_per_hour"),
                F("id"),
                name="offers_group_price_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            # sort=price with a memory bound and no GPU filter: the cheapest of each memory size
            # (selectors/offer_groups.py, MemoryRange).
            models.Index(
                fields=["gpu_memory_gb", "price_per_hour", "id"],
                name="offers_memory_price_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            # sort=price_per_gpu: listed offers by price per GPU-hour, id tie-break.
            models.Index(
                fields=["price_per_gpu_hour", "id"],
                name="offers_listed_per_gpu_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            # sort=updated: newest first with the id tie-break, listed offers only.
            models.Index(
                F("updated_at").desc(),
                F("id").asc(),
                name="offers_listed_updated_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            models.Index(
                fields=["provider", "availability_status"], name="offers_provider_avail_idx"
            ),
            models.Index(fields=["region"], name="offers_region_idx"),
            # GPU search resolves substrings to exact raw names, and drops those whose offers all
            # have a model the text matches (gpu_names_matching): the distinct (raw name, model)
            # pairs by a loose index scan, and the filter's `gpu_name_raw = ANY(...)`. It
            # replaced (gpu_name_raw) on every offer; listed offers only, like the listing.
            models.Index(
                fields=["gpu_name_raw", "gpu_model"],
                name="offers_raw_model_idx",
                condition=Q(gpu_model__isnull=False),
            ),
            GinIndex(fields=["compliance_tags"], name="offers_compliance_gin"),
            # Case-insensitive substring search over GPU names, region and external id (the
            # console's offer search, offer_search_document). It replaced one trigram index on
            # gpu_type and one on gpu_name_raw that no query used any more (the listing matches
            # GPUs through gpu_names_matching); a rewrite of every offer costs the same as
            # with those two (docs/benchmarks.md, "Operators' console").
            GinIndex(
                OpClass(offer_search_document(), name="gin_trgm_ops"), name="offers_search_trgm"
            ),
            # The console's quarantine view and filter: quarantined rows only, so small.
            models.Index(
                fields=["provider", "gpu_name_raw"],
                name="offers_quarantine_idx",
                condition=Q(gpu_model__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.external_id}"


class QuarantinedGpuName(GPUOffer):
    """Offers whose GPU string the catalogue does not know, seen by provider and raw name.

    A proxy (no table of its own): the admin shows it as one row per (provider, raw name) with
    its offer count, so an operator can see what to add to `apps/gpus/data/gpus.json`.
    """

    class Meta:
        proxy = True
        verbose_name = "quarantined GPU name"


class PriceHistory(models.Model):
    """A price/availability/spot-price observation: on first sighting and on any change."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    offer = models.ForeignKey(GPUOffer, on_delete=models.CASCADE, related_name="price_history")
    price_per_hour = models.DecimalField(max_digits=8, decimal_places=4)
    availability_status = models.CharField(max_length=20, null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    # issue 12: the spot price of the same instance at that time (NULL: none offered)
    spot_price_per_hour = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)

    class Meta:
        db_table = "price_history"
        verbose_name = "price history entry"
        verbose_name_plural = "price history"
        indexes: ClassVar = [
            models.Index(fields=["offer", "-recorded_at"], name="price_history_offer_time_idx"),
            models.Index(fields=["recorded_at"], name="price_history_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.price_per_hour} @ {self.recorded_at:%Y-%m-%d %H:%M}"


class ProviderSyncRun(models.Model):
    """One ingestion attempt: the source of uptime and latency KPIs."""

    id = models.BigAutoField("ID", primary_key=True)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sync_runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    is_success = models.BooleanField("Succeeded", default=False)
    fetch_latency_ms = models.FloatField("Fetch latency (ms)", null=True, blank=True)
    offers_seen = models.PositiveIntegerField(default=0)
    offers_changed = models.PositiveIntegerField(default=0)
    offers_skipped = models.PositiveIntegerField(default=0)
    offers_quarantined = models.PositiveIntegerField(default=0)
    # Elements of lists inside records that were not offers (an empty location, say), and the
    # count of every skip (records and elements) by reason.
    elements_skipped = models.PositiveIntegerField(default=0)
    skip_reasons = models.JSONField(default=dict, blank=True)
    error_kind = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    class Meta:
        db_table = "provider_sync_runs"
        indexes: ClassVar = [
            models.Index(fields=["provider", "-started_at"], name="sync_runs_provider_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} sync at {self.started_at:%Y-%m-%d %H:%M}"


class ProviderIntegration(models.Model):
    """A tenant's credentials for one provider, encrypted at rest (Fernet)."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "auth_app.Tenant", on_delete=models.CASCADE, related_name="integrations"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="integrations")
    api_key_encrypted = models.BinaryField("API key (encrypted)", null=True, blank=True)
    api_url = models.CharField("API URL", max_length=500, null=True, blank=True)
    status = models.CharField(max_length=20, default="active")
    message = models.TextField(blank=True, default="")
    last_checked = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "provider_integrations"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tenant", "provider"], name="integration_tenant_provider_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.provider_id}"


class Booking(models.Model):
    """A booking placed through a provider adapter, with the price snapshotted at that moment."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("auth_app.Tenant", on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey("auth_app.User", on_delete=models.PROTECT, related_name="bookings")
    offer = models.ForeignKey(GPUOffer, on_delete=models.PROTECT, related_name="bookings")
    duration_hours = models.DecimalField("Duration (hours)", max_digits=8, decimal_places=2)
    price_per_hour = models.DecimalField(max_digits=8, decimal_places=4)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=32)
    external_booking_id = models.CharField(
        "External booking ID", max_length=255, blank=True, default=""
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "bookings"

    def __str__(self) -> str:
        return f"booking {self.id} ({self.status})"
