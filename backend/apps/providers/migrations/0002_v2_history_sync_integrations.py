# v2 additions to the v1 provider tables (nullable or defaulted), price history, sync runs,
# integrations, bookings and recommender interactions, and the listing indexes.

import uuid

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


PRICE_HISTORY_SQL = """
CREATE TABLE IF NOT EXISTS price_history (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    offer_id uuid NOT NULL REFERENCES gpu_offers (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    price_per_hour numeric(8, 4) NOT NULL,
    availability_status varchar(20) NULL,
    recorded_at timestamp with time zone NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS price_history_offer_time_idx ON price_history (offer_id, recorded_at DESC);
CREATE INDEX IF NOT EXISTS price_history_time_idx ON price_history (recorded_at);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0001_initial"),
        ("auth_app", "0002_v2_tenants_roles_audit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="last_sync_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="provider",
            name="last_success_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="provider",
            name="error_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="provider",
            name="last_error",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="provider",
            name="sync_interval_seconds",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="provider",
            name="price_source",
            field=models.CharField(default="api", max_length=20),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="gpu_count",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="gpu_model",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="gpu_name_raw",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="spot_price_per_hour",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=8, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="country",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="interconnect",
            field=models.CharField(blank=True, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="reliability",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=5, null=True),
        ),
        migrations.AddField(
            model_name="gpuoffer",
            name="is_stale",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="Booking",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("duration_hours", models.DecimalField(decimal_places=2, max_digits=8)),
                ("price_per_hour", models.DecimalField(decimal_places=4, max_digits=8)),
                ("currency", models.CharField(default="USD", max_length=3)),
                ("status", models.CharField(max_length=32)),
                (
                    "external_booking_id",
                    models.CharField(blank=True, default="", max_length=255),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bookings",
                        to="auth_app.tenant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bookings",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "offer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bookings",
                        to="providers.gpuoffer",
                    ),
                ),
            ],
            options={
                "db_table": "bookings",
            },
        ),
        migrations.CreateModel(
            name="ProviderIntegration",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("api_key_encrypted", models.BinaryField(blank=True, null=True)),
                ("api_url", models.CharField(blank=True, max_length=500, null=True)),
                ("status", models.CharField(default="active", max_length=20)),
                ("message", models.TextField(blank=True, default="")),
                ("last_checked", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="integrations",
                        to="providers.provider",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="integrations",
                        to="auth_app.tenant",
                    ),
                ),
            ],
            options={
                "db_table": "provider_integrations",
            },
        ),
        migrations.CreateModel(
            name="ProviderSyncRun",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("is_success", models.BooleanField(default=False)),
                ("fetch_latency_ms", models.FloatField(blank=True, null=True)),
                ("offers_seen", models.PositiveIntegerField(default=0)),
                ("offers_changed", models.PositiveIntegerField(default=0)),
                ("offers_skipped", models.PositiveIntegerField(default=0)),
                ("offers_quarantined", models.PositiveIntegerField(default=0)),
                ("error_kind", models.CharField(blank=True, default="", max_length=32)),
                ("error_message", models.TextField(blank=True, default="")),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sync_runs",
                        to="providers.provider",
                    ),
                ),
            ],
            options={
                "db_table": "provider_sync_runs",
            },
        ),
        migrations.CreateModel(
            name="UserOfferInteraction",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("view", "View"),
                            ("select", "Select"),
                            ("book", "Book"),
                        ],
                        max_length=16,
                    ),
                ),
                ("weight", models.FloatField(default=1.0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "offer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="interactions",
                        to="providers.gpuoffer",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="offer_interactions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "user_offer_interactions",
            },
        ),
        # v1's schema script sometimes created price_history before failing and sometimes not:
        # create it only when missing, and tell Django's state about it either way.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=PRICE_HISTORY_SQL,
                    reverse_sql="DROP TABLE IF EXISTS price_history",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="PriceHistory",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        (
                            "price_per_hour",
                            models.DecimalField(decimal_places=4, max_digits=8),
                        ),
                        (
                            "availability_status",
                            models.CharField(blank=True, max_length=20, null=True),
                        ),
                        (
                            "recorded_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        (
                            "offer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="price_history",
                                to="providers.gpuoffer",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "price_history",
                        "indexes": [
                            models.Index(
                                fields=["offer", "-recorded_at"],
                                name="price_history_offer_time_idx",
                            ),
                            models.Index(fields=["recorded_at"], name="price_history_time_idx"),
                        ],
                    },
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="gpuoffer",
            index=models.Index(
                condition=models.Q(("gpu_model__isnull", False)),
                fields=["price_per_hour", "id"],
                name="offers_listed_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="gpuoffer",
            index=models.Index(
                fields=["gpu_model", "price_per_hour"], name="offers_model_price_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="gpuoffer",
            index=models.Index(
                fields=["provider", "availability_status"],
                name="offers_provider_avail_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="gpuoffer",
            index=models.Index(fields=["region"], name="offers_region_idx"),
        ),
        migrations.AddIndex(
            model_name="gpuoffer",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["compliance_tags"], name="offers_compliance_gin"
            ),
        ),
        migrations.AddConstraint(
            model_name="providerintegration",
            constraint=models.UniqueConstraint(
                fields=("tenant", "provider"), name="integration_tenant_provider_uniq"
            ),
        ),
        migrations.AddIndex(
            model_name="providersyncrun",
            index=models.Index(
                fields=["provider", "-started_at"], name="sync_runs_provider_time_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="userofferinteraction",
            index=models.Index(fields=["user", "offer"], name="interactions_user_offer_idx"),
        ),
    ]
